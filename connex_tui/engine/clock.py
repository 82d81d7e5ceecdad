"""Time helpers: everything is UTC and timezone-aware."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def relative(then: datetime | None, now: datetime) -> str:
    """'3 min ago', '8 months ago', '-' as the list shows the last call."""
    if then is None:
        return "-"
    secs = int((now - then).total_seconds())
    if secs < 0:
        return "just now"
    if secs < 60:
        return f"{secs} s ago" if secs else "just now"
    mins = secs // 60
    if mins < 60:
        return f"{mins} min ago"
    hours = mins // 60
    if hours < 24:
        return f"{hours} h ago"
    days = hours // 24
    if days < 31:
        return f"{days} day{'s' if days != 1 else ''} ago"
    months = days // 30
    if months < 12:
        return f"{months} month{'s' if months != 1 else ''} ago"
    years = max(1, days // 365)  # days 360-364 are 12 months: '1 year', not '0 years'
    return f"{years} year{'s' if years != 1 else ''} ago"

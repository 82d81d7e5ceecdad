"""A UTC day an operator names (the CDR tab's go-to and recalc, `cdr export|recalc --from
--to`, `stats --date`): YYYY-MM-DD between the dates the console handles at all
(route_fields.EARLIEST..LATEST). Outside them a day's end, a week or a month overflows
datetime (9999-12-31 + 1 day), and no call belongs there anyway."""

from __future__ import annotations

import re
from datetime import date, timedelta

from connex_tui.engine.route_fields import EARLIEST, LATEST, RANGE_MESSAGE

__all__ = ["FIRST_DAY", "LAST_DAY", "RANGE_MESSAGE", "parse_day", "step_day"]

FIRST_DAY = EARLIEST.date()
LAST_DAY = (LATEST - timedelta(days=1)).date()
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(text: str) -> date:
    """The day written as YYYY-MM-DD; ValueError with a message for anything else, a day
    that does not exist (2026-02-30) or one outside FIRST_DAY..LAST_DAY."""
    text = text.strip()
    if not _DAY.fullmatch(text):
        raise ValueError("a UTC day as YYYY-MM-DD")
    day = date.fromisoformat(text)  # ValueError: "day is out of range for month"
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(RANGE_MESSAGE)
    return day


def step_day(day: date, days: int) -> date | None:
    """`day` moved by `days`, or None past FIRST_DAY..LAST_DAY."""
    if not FIRST_DAY <= day <= LAST_DAY or abs(days) > (LAST_DAY - FIRST_DAY).days:
        return None
    out = day + timedelta(days=days)
    return out if FIRST_DAY <= out <= LAST_DAY else None

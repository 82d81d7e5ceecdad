"""What a demo seeding is asked for, and the one error it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

Progress = Callable[[int, int], None]


class DemoError(RuntimeError):
    """The demo cannot be seeded (e.g. the database already holds customers)."""


@dataclass(frozen=True, kw_only=True)
class DemoOptions:
    customers: int = 40
    days: int = 30
    seed: int = 7
    now: datetime  # timezone-aware: the end of the history
    cdr_customers: int | None = None  # CDR history for the first N customers only

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("DemoOptions.now must be timezone-aware")
        if self.customers < 1 or self.days < 0:
            raise ValueError("customers must be >= 1 and days >= 0")
        if self.cdr_customers is not None and self.cdr_customers < 0:
            raise ValueError("cdr_customers must be >= 0")

    @property
    def history_customers(self) -> int:
        """How many customers (the first ones) get a CDR history."""
        limit = self.customers if self.cdr_customers is None else self.cdr_customers
        return max(1, min(self.customers, limit))

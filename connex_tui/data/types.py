"""Column types: exact money as integer micro-units, and UTC-aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

from connex_tui.engine.money import from_micro, to_micro


class Money(TypeDecorator):
    """Decimal in Python, BIGINT of 1/1,000,000 units in the database (never float)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, not float")
        return to_micro(Decimal(value))

    def process_result_value(self, value, dialect):
        return None if value is None else from_micro(int(value))


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC on both backends; always handed back timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use timezone-aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # SQLite aggregates (max) return text
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)

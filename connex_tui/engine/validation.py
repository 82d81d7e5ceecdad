"""The one validator per entity: the form, importers, CLI and tests share these errors.

Each validator takes raw text values (as typed in a form or read from a file) and returns a
typed, frozen input object, or raises ValidationError mapping field -> message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlparse

from connex_tui.engine.currencies import ISO4217
from connex_tui.engine.money import MoneyFormatError, parse_money
from connex_tui.engine.textsafe import refuse_controls

CUSTOMER_STATUSES = ("active", "inactive", "pending_approval", "penalty")
STATUS_LABELS = {
    "active": "Active",
    "inactive": "Inactive",
    "pending_approval": "Pending Approval",
    "penalty": "Penalty",
}
MAX_INT = 2_147_483_647
_INT_RE = re.compile(r"-?[0-9]+")  # ASCII digits only: int() also takes '²'-like digits


class ValidationError(ValueError):
    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True, slots=True)
class CustomerInput:
    name: str
    status: str = "active"
    paypal_email: str = ""
    website: str = ""
    debit_limit: Decimal = Decimal(0)
    tax_percent: Decimal = Decimal(0)
    currency: str = "USD"
    portal_access: bool = False
    channels: int = 0
    flow_speed: int = 0
    address: str = ""
    notes_public: str = ""
    notes_private: str = ""


class _Collector:
    """Runs each field check, keeping the first message per field."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def check(self, field: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, MoneyFormatError) as exc:
            self.errors.setdefault(field, str(exc))
            return None

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def text(value: str, *, required: bool = False, max_len: int = 10_000,
         single_line: bool = False) -> str:
    """Stripped text; no control characters (a multi-line field keeps newlines and tabs;
    CRLF becomes LF). Too long is refused before anything is scanned."""
    value = (value or "").strip()
    if required and not value:
        raise ValueError("required")
    if len(value) > max_len:
        raise ValueError(f"at most {max_len} characters")
    if not single_line and "\r" in value:
        value = value.replace("\r\n", "\n")
    return refuse_controls(value, multiline=not single_line)


def name_text(value: str) -> str:
    """A unique name: its lower-case form (the uniqueness key) must fit too."""
    value = text(value, required=True, max_len=100, single_line=True)
    if len(value.lower()) > 100:
        raise ValueError("at most 100 characters")
    return value


def email(value: str, *, required: bool = False) -> str:
    value = refuse_controls((value or "").strip())
    if not value:
        if required:
            raise ValueError("required")
        return ""
    if len(value) > 254:  # RFC 5321's limit on a path
        raise ValueError("at most 254 characters")
    from email_validator import EmailNotValidError, validate_email  # 20 ms: not at start-up

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email: {exc}") from None


def url(value: str, *, max_len: int = 500) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > max_len:
        raise ValueError(f"at most {max_len} characters")
    refuse_controls(value)
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or " " in value:
        raise ValueError("must be an http:// or https:// address")
    return value


def integer(value: str | int, *, minimum: int = 0, maximum: int = MAX_INT) -> int:
    raw = str(value).strip() if value is not None else ""
    if raw == "":
        return 0
    if isinstance(value, bool) or not _INT_RE.fullmatch(raw):
        raise ValueError("must be a whole number")
    n = int(raw)
    if n < minimum:
        raise ValueError(f"must be {minimum} or more")
    if n > maximum:
        raise ValueError(f"must be {maximum} or less")
    return n


def money(value: str | Decimal, *, minimum: Decimal | None = None) -> Decimal:
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        # same rules as typed text: finite, at most 6 decimals, below 10^12
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValueError("must be a plain number like 12.50")
        d = parse_money(format(Decimal(value), "f"))
    elif value is not None and not isinstance(value, str):  # float above all: never float
        raise ValueError("must be a plain number like 12.50")
    else:
        raw = (value or "").strip()
        d = Decimal(0) if raw == "" else parse_money(raw)
    if minimum is not None and d < minimum:
        raise ValueError(f"must be {minimum} or more")
    return d


def percent(value: str | Decimal) -> Decimal:
    if isinstance(value, str) and not value.strip():  # an emptied field is not "no tax"
        raise ValueError("required: 0 for no tax")
    d = money(value)
    if not Decimal(0) <= d <= Decimal(100):
        raise ValueError("must be between 0 and 100")
    return d


def choice(value: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValueError(f"must be one of: {', '.join(options)}")
    return value


def currency(value: str) -> str:
    code = (value or "").strip().upper()
    if not code:
        raise ValueError("required")
    if code not in ISO4217:
        raise ValueError("not an ISO 4217 currency code (e.g. USD, EUR, GBP)")
    return code


def boolean(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    raw = str(value).strip().lower()
    if raw in ("1", "true", "yes", "y", "on"):
        return True
    if raw in ("", "0", "false", "no", "n", "off"):
        return False
    raise ValueError("must be yes or no")


def validate_customer(raw: dict) -> CustomerInput:
    c = _Collector()
    out = CustomerInput(
        name=c.check("name", name_text, raw.get("name", "")),
        status=c.check("status", choice, raw.get("status", "active"), CUSTOMER_STATUSES),
        paypal_email=c.check("paypal_email", email, raw.get("paypal_email", "")),
        website=c.check("website", url, raw.get("website", "")),
        debit_limit=c.check("debit_limit", money, raw.get("debit_limit", "0")),
        tax_percent=c.check("tax_percent", percent, raw.get("tax_percent", "0")),
        currency=c.check("currency", currency, raw.get("currency", "")),
        portal_access=c.check("portal_access", boolean, raw.get("portal_access", False)),
        channels=c.check("channels", integer, raw.get("channels", "0")),
        flow_speed=c.check("flow_speed", integer, raw.get("flow_speed", "0")),
        address=c.check("address", text, raw.get("address", ""), max_len=1000),
        notes_public=c.check("notes_public", text, raw.get("notes_public", "")),
        notes_private=c.check("notes_private", text, raw.get("notes_private", "")),
    )
    c.raise_if_any()
    return out

"""The payment validator and the description's public/private split (docs/domain.md §8)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connex_tui.engine.payments import (
    check_transition,
    split_description,
    validate_payment,
)
from connex_tui.engine.validation import ValidationError


def test_split_at_the_first_hash():
    assert split_description("Wire WT123 # checked by noc1") == ("Wire WT123", "checked by noc1")
    assert split_description("Card payment") == ("Card payment", "")
    assert split_description("#only a note") == ("", "only a note")
    assert split_description("a # b # c") == ("a", "b # c")
    assert split_description("") == ("", "")


def test_valid_payment_is_exact():
    p = validate_payment({"amount": " 100.123456 ", "fee": "2.5", "status": "pending",
                          "description": "  Wire # late "})
    assert p.amount == Decimal("100.123456") and p.fee == Decimal("2.5")
    assert (p.status, p.description) == ("pending", "Wire # late")


def test_defaults():
    p = validate_payment({"amount": "1"})
    assert (p.fee, p.status, p.description) == (0, "completed", "")


@pytest.mark.parametrize("amount, message", [
    ("0", "must be above 0"), ("-5", "must be above 0"), ("", "required: an amount above 0"),
    ("1e3", "must be a plain number like 12.50"), ("1,000", "must be a plain number like 12.50"),
    ("ten", "must be a plain number like 12.50"), ("1.0000001", "at most 6 decimals"),
    ("1000000000.01", "at most 1,000,000,000"), ("99999999999999", "too large"),
    ("NaN", "must be a plain number like 12.50"), ("١٠", "must be a plain number like 12.50"),
])
def test_bad_amounts(amount, message):
    with pytest.raises(ValidationError) as exc:
        validate_payment({"amount": amount})
    assert exc.value.errors == {"amount": message}


def test_every_bad_field_at_once():
    with pytest.raises(ValidationError) as exc:
        validate_payment({"amount": "x", "fee": "-1", "status": "refunded",
                          "description": "a\x1bb"})
    assert set(exc.value.errors) == {"amount", "fee", "status", "description"}
    with pytest.raises(ValidationError) as exc:
        validate_payment({"amount": "1", "description": "x" * 501})
    assert exc.value.errors == {"description": "at most 500 characters"}
    with pytest.raises(ValidationError) as exc:
        validate_payment({"amount": "1", "description": "two\nlines"})
    assert set(exc.value.errors) == {"description"}


def test_transitions():
    check_transition("pending", "completed")
    check_transition("pending", "cancelled")
    check_transition("completed", "cancelled")
    check_transition("completed", "completed")
    with pytest.raises(ValueError, match="final"):
        check_transition("cancelled", "completed")
    with pytest.raises(ValueError, match="cannot become pending"):
        check_transition("completed", "pending")

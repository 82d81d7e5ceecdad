"""The one customer validator (docs/domain.md §1): every field, its clear error, its normal form."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connex_tui.engine.validation import (
    CUSTOMER_STATUSES,
    CustomerInput,
    ValidationError,
    validate_customer,
)


def valid(**fields) -> dict:
    return {"name": "ACME Telecom", "currency": "USD", **fields}


def errors_of(raw: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        validate_customer(raw)
    return info.value.errors


def test_minimal_customer_gets_defaults():
    c = validate_customer(valid())
    assert c == CustomerInput(name="ACME Telecom", currency="USD")
    assert c.status == "active"
    assert c.debit_limit == 0 and isinstance(c.debit_limit, Decimal)
    assert c.portal_access is False
    assert (c.channels, c.flow_speed) == (0, 0)


def test_all_fields_typed():
    c = validate_customer(valid(
        status="penalty", paypal_email="billing@acme.example", website="https://acme.example/x",
        debit_limit="-5", tax_percent="17.5", currency="eur", portal_access="yes",
        channels="30", flow_speed="5", address="1 Road\nTown", notes_public="pub",
        notes_private="priv"))
    assert c.status == "penalty"
    assert c.debit_limit == Decimal("-5")
    assert c.tax_percent == Decimal("17.5")
    assert c.currency == "EUR"
    assert c.portal_access is True
    assert (c.channels, c.flow_speed) == (30, 5)
    assert c.address == "1 Road\nTown"


def test_every_bad_field_is_reported_at_once():
    errs = errors_of({"name": "", "status": "gone", "paypal_email": "x", "website": "ftp://x",
                      "debit_limit": "1e5", "tax_percent": "101", "currency": "XXX1",
                      "portal_access": "maybe", "channels": "-1", "flow_speed": "1.5",
                      "address": "a" * 1001})
    assert set(errs) == {"name", "status", "paypal_email", "website", "debit_limit",
                         "tax_percent", "currency", "portal_access", "channels", "flow_speed",
                         "address"}
    assert "name" in str(ValidationError(errs))


# -- name -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "   ", None])
def test_name_required(name):
    assert errors_of(valid(name=name))["name"] == "required"


def test_name_missing_entirely():
    assert errors_of({"currency": "USD"})["name"] == "required"


def test_name_length():
    assert validate_customer(valid(name="x" * 100)).name == "x" * 100
    assert "100" in errors_of(valid(name="x" * 101))["name"]


def test_name_is_trimmed():
    assert validate_customer(valid(name="  ACME  ")).name == "ACME"


# -- status -----------------------------------------------------------------------------
@pytest.mark.parametrize("status", CUSTOMER_STATUSES)
def test_status_choices(status):
    assert validate_customer(valid(status=status)).status == status


@pytest.mark.parametrize("status", ["archived", "Active", "", "blocked"])
def test_status_refused(status):
    assert "must be one of" in errors_of(valid(status=status))["status"]


# -- paypal_email -----------------------------------------------------------------------
@pytest.mark.parametrize("email", ["x", "a@", "@b.com", "a b@c.com", "a@b", "a@@b.com"])
def test_paypal_email_bad(email):
    assert "not a valid email" in errors_of(valid(paypal_email=email))["paypal_email"]


@pytest.mark.parametrize(("email", "stored"), [
    ("pay@acme.example", "pay@acme.example"),
    ("  pay@ACME.example ", "pay@acme.example"),
    ("", ""),
])
def test_paypal_email_good(email, stored):
    assert validate_customer(valid(paypal_email=email)).paypal_email == stored


# -- website ----------------------------------------------------------------------------
@pytest.mark.parametrize("site", ["http://acme.example", "https://acme.example/path?q=1", ""])
def test_website_good(site):
    assert validate_customer(valid(website=site)).website == site


@pytest.mark.parametrize("site", [
    "ftp://acme.example", "acme.example", "javascript:alert(1)", "https://", "http://a b.com",
    "mailto:a@b.com",
])
def test_website_must_be_http(site):
    assert errors_of(valid(website=site))["website"] == "must be an http:// or https:// address"


def test_website_fits_its_column():
    assert validate_customer(valid(website="https://a.com/" + "x" * 486)).website
    assert "500" in errors_of(valid(website="https://a.com/" + "x" * 487))["website"]


# -- debit_limit ------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "value"), [
    ("-5", Decimal("-5")), ("100", Decimal("100")), ("0", Decimal(0)), ("", Decimal(0)),
    ("12.123456", Decimal("12.123456")),
])
def test_debit_limit_good(text, value):
    assert validate_customer(valid(debit_limit=text)).debit_limit == value


@pytest.mark.parametrize("text", ["1e5", "1,000", "abc", "0.1234567"])
def test_debit_limit_bad(text):
    assert "debit_limit" in errors_of(valid(debit_limit=text))


def test_debit_limit_from_non_text_values():
    assert validate_customer(valid(debit_limit=Decimal("2.5"))).debit_limit == Decimal("2.5")
    assert validate_customer(valid(debit_limit=7)).debit_limit == Decimal(7)
    assert "debit_limit" in errors_of(valid(debit_limit=2.5))  # never float


# -- tax_percent ------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["0", "100", "17.5"])
def test_tax_good(text):
    assert validate_customer(valid(tax_percent=text)).tax_percent == Decimal(text)


@pytest.mark.parametrize("text", ["", "  "])
def test_an_emptied_tax_field_is_refused_not_taken_as_no_tax(text):
    assert errors_of(valid(tax_percent=text))["tax_percent"] == "required: 0 for no tax"


@pytest.mark.parametrize("text", ["-0.01", "100.01", "1e1", "ten"])
def test_tax_bad(text):
    assert "tax_percent" in errors_of(valid(tax_percent=text))


# -- currency ---------------------------------------------------------------------------
@pytest.mark.parametrize(("code", "stored"), [
    ("USD", "USD"), ("eur", "EUR"), (" gbp ", "GBP"), ("NGN", "NGN"),
])
def test_currency_good(code, stored):
    assert validate_customer(valid(currency=code)).currency == stored


@pytest.mark.parametrize("code", ["XXX", "US", "USDD", "123", "EURO"])
def test_currency_must_be_iso4217(code):
    assert "ISO 4217" in errors_of(valid(currency=code))["currency"]


def test_currency_required():
    assert errors_of(valid(currency=""))["currency"] == "required"
    assert errors_of({"name": "X"})["currency"] == "required"


# -- portal_access ----------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [
    (True, True), (False, False), ("yes", True), ("no", False), ("1", True), ("0", False),
    ("true", True), ("False", False), ("", False), ("on", True),
])
def test_portal_access(value, expected):
    assert validate_customer(valid(portal_access=value)).portal_access is expected


def test_portal_access_bad():
    assert "yes or no" in errors_of(valid(portal_access="maybe"))["portal_access"]


# -- channels / flow_speed --------------------------------------------------------------
@pytest.mark.parametrize("field", ["channels", "flow_speed"])
@pytest.mark.parametrize(("text", "value"), [("0", 0), ("", 0), ("25", 25), (" 7 ", 7), (3, 3)])
def test_counts_good(field, text, value):
    assert getattr(validate_customer(valid(**{field: text})), field) == value


@pytest.mark.parametrize("field", ["channels", "flow_speed"])
@pytest.mark.parametrize("text", ["-1", "1.5", "ten", "1e3", "--5", "+-1", "²", "99999999999"])
def test_counts_bad(field, text):
    message = errors_of(valid(**{field: text}))[field]
    assert message.startswith("must be"), message  # a clear message, not a Python error


# -- address and notes ------------------------------------------------------------------
def test_address_length():
    assert len(validate_customer(valid(address="a" * 1000)).address) == 1000
    assert "1000" in errors_of(valid(address="a" * 1001))["address"]


def test_notes_are_free_text():
    c = validate_customer(valid(notes_public=" hello ", notes_private="secret\nline"))
    assert (c.notes_public, c.notes_private) == ("hello", "secret\nline")


@pytest.mark.parametrize("value", [Decimal("1.0000001"), Decimal("1e12"), Decimal("NaN"),
                                   Decimal("Infinity")])
def test_decimal_values_get_the_same_checks_as_typed_text(value):
    with pytest.raises(ValidationError) as info:
        validate_customer({"name": "A", "currency": "USD", "debit_limit": value})
    assert set(info.value.errors) == {"debit_limit"}


def test_nul_characters_are_refused_in_free_text():
    with pytest.raises(ValidationError) as info:
        validate_customer({"name": "A", "currency": "USD", "address": "Main St\x00"})
    assert set(info.value.errors) == {"address"}

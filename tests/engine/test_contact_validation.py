"""The contact validator (docs/domain.md §2): one set of messages for the form and the CLI."""

from __future__ import annotations

import pytest

from connex_tui.engine.contact_validation import (
    validate_contact,
    validate_portal_password,
)
from connex_tui.engine.validation import ValidationError


def errors(raw: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as err:
        validate_contact(raw)
    return err.value.errors


def test_a_contact_is_normalised():
    c = validate_contact({"name": "  Anna Berg ", "email": " Anna.Berg@Example.COM ",
                          "phone": "+44 (20) 7946-0958", "notes_public": "a\r\nb"})
    assert (c.name, c.email, c.phone, c.notes_public) == (
        "Anna Berg", "anna.berg@example.com", "+442079460958", "a\nb")
    assert validate_contact({"name": "B", "email": "b@example.com"}).phone == ""


@pytest.mark.parametrize(("raw", "field", "message"), [
    ({"email": "a@b.example"}, "name", "required"),
    ({"name": "x" * 101, "email": "a@b.example"}, "name", "at most 100"),
    ({"name": "A\u202eB", "email": "a@b.example"}, "name", "control characters"),
    ({"name": "A"}, "email", "required"),
    ({"name": "A", "email": "a@"}, "email", "not a valid email"),
    ({"name": "A", "email": "a@b.example", "phone": "020 7946 0958"}, "phone",
     "international form"),
    ({"name": "A", "email": "a@b.example", "phone": "+44 12"}, "phone", "not a valid"),
    ({"name": "A", "email": "a@b.example", "phone": "+abc"}, "phone", "not a phone"),
    ({"name": "A", "email": "a@b.example", "phone": "+" + "1" * 40}, "phone", "at most 32"),
    ({"name": "A", "email": "a@b.example", "notes_private": "x" * 2001}, "notes_private",
     "at most 2000"),
    ({"name": "A", "email": "a@b.example", "notes_public": "a\x1bb"}, "notes_public",
     "control characters"),
])
def test_each_field_has_its_message(raw, field, message):
    assert message in errors(raw)[field]


@pytest.mark.parametrize(("typed", "message"), [
    ("", "required"), ("eleven char", "at least 12"), ("x" * 129, "at most 128"),
    ("twelve chars\x00", "control characters"),
])
def test_a_typed_password_is_bounded(typed, message):
    with pytest.raises(ValidationError) as err:
        validate_portal_password(typed)
    assert message in err.value.errors["password"]


def test_a_typed_password_is_kept_as_typed():
    assert validate_portal_password(" spaces count ") == " spaces count "

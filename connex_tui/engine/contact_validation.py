"""The validator of a customer's contacts (docs/domain.md §2): the form, the CLI and the
tests get the same messages from here.

The email is the portal login: stored lower-case (uniqueness across every contact is the
data layer's check). The phone is E.164 (`+` and digits, checked by phonenumbers) or empty.
A typed portal password is 12 to 128 characters without control characters; a generated one
comes from data/passwords.
"""

from __future__ import annotations

from dataclasses import dataclass

from connex_tui.engine.textsafe import refuse_controls
from connex_tui.engine.validation import _Collector, email, text

PORTAL_PASSWORD_MIN = 12
PORTAL_PASSWORD_MAX = 128
GENERATED_PORTAL_LENGTH = 20  # >= 16 (docs/domain.md §2)
NOTES_MAX = 2000
CONTACT_FIELDS = ("name", "email", "phone", "notes_public", "notes_private")


@dataclass(frozen=True, slots=True)
class ContactInput:
    name: str
    email: str  # lower-case: the portal login
    phone: str = ""  # E.164 "+<digits>" or ""
    notes_public: str = ""
    notes_private: str = ""


def phone(value: str) -> str:
    """'' or the number in E.164 ('+' and digits); spaces, dots, dashes and brackets that
    people type between digit groups are dropped."""
    raw = refuse_controls((value or "").strip())
    if not raw:
        return ""
    if len(raw) > 32:
        raise ValueError("at most 32 characters")
    if not raw.startswith("+"):
        raise ValueError("write it in international form: + country code and number, "
                         "like +44 20 7946 0000")
    import phonenumbers  # 30 ms of metadata: not at start-up

    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number (write + country code and number)") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid number for its country code")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def contact_email(value: str) -> str:
    return email(value, required=True).lower()


def portal_password(value: str) -> str:
    """A typed password, as typed (spaces may be part of it)."""
    raw = value if isinstance(value, str) else ""
    if not raw:
        raise ValueError("required (or generate one)")
    if len(raw) > PORTAL_PASSWORD_MAX:
        raise ValueError(f"at most {PORTAL_PASSWORD_MAX} characters")
    refuse_controls(raw)
    if len(raw) < PORTAL_PASSWORD_MIN:
        raise ValueError(f"at least {PORTAL_PASSWORD_MIN} characters")
    return raw


def validate_contact(raw: dict) -> ContactInput:
    c = _Collector()
    out = ContactInput(
        name=c.check("name", text, raw.get("name", ""), required=True, max_len=100,
                     single_line=True),
        email=c.check("email", contact_email, raw.get("email", "")),
        phone=c.check("phone", phone, raw.get("phone", "")),
        notes_public=c.check("notes_public", text, raw.get("notes_public", ""),
                             max_len=NOTES_MAX),
        notes_private=c.check("notes_private", text, raw.get("notes_private", ""),
                              max_len=NOTES_MAX),
    )
    c.raise_if_any()
    return out


def validate_portal_password(value: str) -> str:
    """The one check of a typed portal password: ValidationError on field `password`."""
    c = _Collector()
    out = c.check("password", portal_password, value)
    c.raise_if_any()
    return out

"""A contact's portal password, set and passed on (docs/domain.md §2): the one flow the
Main tab and `connex-tui contacts password` share.

Generated: hash and save (one transaction, data/contacts), then mail it to the contact over
the configured SMTP. Without SMTP, or when the mail fails, the password is still saved and
handed back to be shown ONCE to the operator, with the mail error, so that it can be passed
on (docs/decisions.md "Contacts"). Typed: saved, never mailed nor shown back (the operator
knows it). The clear password is never logged or audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from connex_tui.data.contacts import ContactsService, PasswordSet
from connex_tui.feeds import mail
from connex_tui.feeds.mail import MailError, SmtpSettings

SUBJECT = "Your customer portal password"


@dataclass(frozen=True)
class PasswordOutcome:
    saved: PasswordSet
    mailed: bool = False  # the generated password went to the contact by mail
    mail_error: str = ""  # one line: why it did not

    @property
    def show_once(self) -> str | None:
        """The password the operator must see now (and never again), or None."""
        if self.saved.generated and not self.mailed:
            return self.saved.password
        return None

    def __repr__(self) -> str:
        return (f"PasswordOutcome({self.saved!r}, mailed={self.mailed}, "
                f"mail_error={self.mail_error!r})")


def message_body(saved: PasswordSet) -> str:
    """The mail, written for the customer's contact (the password is its only secret)."""
    return "\n".join([
        f"Hello {saved.name},",
        "",
        f"A new password has been set for your {saved.customer} customer portal login.",
        "",
        f"    Login:    {saved.email}",
        f"    Password: {saved.password}",
        "",
        "Please keep it safe and change it after you first sign in. Any earlier password",
        "no longer works.",
        "",
        "If you did not expect this message, please contact our NOC.",
        "",
    ])


async def set_password(contacts: ContactsService, contact_id: int,
                       smtp: SmtpSettings | None, *, typed: str | None = None,
                       version: int | None = None) -> PasswordOutcome:
    """Set a typed password, or generate one and mail it (see the module's docstring).
    Raises what ContactsService.set_password raises; a mail failure is not raised: it is
    in the outcome, the password saved."""
    saved = await contacts.set_password(contact_id, typed, version=version)
    if not saved.generated or smtp is None:
        return PasswordOutcome(saved)
    try:
        await mail.send(smtp, [saved.email], SUBJECT, message_body(saved))
    except MailError as exc:
        return PasswordOutcome(saved, mail_error=str(exc))
    return PasswordOutcome(saved, mailed=True)

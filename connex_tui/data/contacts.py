"""A customer's contacts and their portal passwords (docs/domain.md §2).

The email is the portal login: unique across every contact of every customer, compared
without regard to case (stored lower-case). Only an argon2 hash of a password is stored;
the clear password is handed back once to the caller (to mail it, or to show it) and never
kept or audited (the audit masks the hash). Every write reindexes the customer: contacts'
emails are part of its search text.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass

from sqlalchemy import select

from connex_tui.data import passwords
from connex_tui.data.access import Actor, NotFound, StaleError
from connex_tui.data.config_write import ConfigWrites, check_unique, get_or_404, snapshot_of
from connex_tui.data.db import Database
from connex_tui.data.models import Contact, Customer
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.contact_validation import (
    CONTACT_FIELDS,
    GENERATED_PORTAL_LENGTH,
    validate_contact,
    validate_portal_password,
)

EMAIL_TAKEN = "another contact already has this email (it is the portal login: unique)"


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: int
    version: int
    customer_id: int
    name: str
    email: str
    phone: str
    notes_public: str
    notes_private: str
    has_password: bool

    def form_values(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in CONTACT_FIELDS}


@dataclass(frozen=True)
class PasswordSet:
    """A password just stored: who it is for, and the clear text (to mail or show once)."""

    contact_id: int
    name: str
    email: str
    customer: str
    portal_access: bool
    generated: bool
    password: str

    def __repr__(self) -> str:  # the clear password never reaches a log or a traceback
        return (f"PasswordSet(contact_id={self.contact_id}, email={self.email!r}, "
                f"generated={self.generated}, password=<hidden>)")


def _row(c: Contact) -> ContactRow:
    return ContactRow(c.id, c.version, c.customer_id, c.name, c.email, c.phone,
                      c.notes_public, c.notes_private, bool(c.password_hash))


async def add_contact(w: ConfigWrites, customer_id: int, values: dict) -> int:
    await check_unique(w.s, Contact.email, values["email"], None, field="email",
                       message=EMAIL_TAKEN)
    contact_id = await w.insert(Contact, {"customer_id": customer_id, **values})
    await w.audit("create", "contacts", contact_id, None, values, customer_id=customer_id,
                  routing=False)
    return contact_id


async def change_contact(w: ConfigWrites, current: Contact, values: dict) -> None:
    """Write `values` (contact fields and/or password_hash) over `current` as read."""
    if "email" in values:
        await check_unique(w.s, Contact.email, values["email"], current.id, field="email",
                           message=EMAIL_TAKEN)
    before = snapshot_of(current, tuple(values))
    await w.update(Contact, current, values, "contact")
    await w.audit("update", "contacts", current.id, before, values,
                  customer_id=current.customer_id, routing=False)


class ContactsService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor
        self.clock = clock

    # -- reading --------------------------------------------------------------------------
    async def contacts(self, customer_id: int) -> list[ContactRow]:
        async with self.db.sessions() as s:
            found = await s.scalars(select(Contact).where(Contact.customer_id == customer_id)
                                    .order_by(Contact.name, Contact.id))
            return [_row(c) for c in found]

    async def get(self, contact_id: int) -> ContactRow:
        async with self.db.sessions() as s:
            return _row(await get_or_404(s, Contact, contact_id, "contact"))

    async def by_email(self, email: str) -> ContactRow:
        """The contact whose login is `email` (any case); NotFound otherwise."""
        async with self.db.sessions() as s:
            found = await s.scalar(select(Contact).where(Contact.email == email.strip().lower()))
        if found is None:
            raise NotFound(f"no contact with email {email.strip()!r}")
        return _row(found)

    async def customer_named(self, name: str) -> tuple[int, str]:
        """(id, name) of the customer named `name` (any case); NotFound otherwise."""
        async with self.db.sessions() as s:
            row = (await s.execute(select(Customer.id, Customer.name)
                                   .where(Customer.name_key == name.lower()))).first()
        if row is None:
            raise NotFound(f"no customer named {name!r}")
        return row[0], row[1]

    # -- writing --------------------------------------------------------------------------
    async def create(self, customer_id: int, raw: dict) -> int:
        self.actor.require("write")
        data = validate_contact(raw)
        async with self.db.sessions() as s, s.begin():
            await get_or_404(s, Customer, customer_id, "customer")
            w = ConfigWrites(s, self.actor, self.clock())
            contact_id = await add_contact(w, customer_id, asdict(data))
            await w.finish()
        return contact_id

    async def update(self, contact_id: int, version: int, raw: dict) -> None:
        """Save an edit read at `version`; StaleError if someone saved in between."""
        self.actor.require("write")
        data = validate_contact(raw)
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, Contact, contact_id, "contact")
            if current.version != version:
                raise StaleError("contact")
            w = ConfigWrites(s, self.actor, self.clock())
            await change_contact(w, current, asdict(data))
            await w.finish()

    async def delete(self, contact_id: int) -> None:
        self.actor.require("delete")
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, Contact, contact_id, "contact")
            w = ConfigWrites(s, self.actor, self.clock())
            before = snapshot_of(current, (*CONTACT_FIELDS, "password_hash"))
            await w.delete(Contact, contact_id)
            await w.audit("delete", "contacts", contact_id, before, None,
                          customer_id=current.customer_id, routing=False)
            await w.finish()

    async def set_password(self, contact_id: int, typed: str | None = None, *,
                           version: int | None = None) -> PasswordSet:
        """Store a new portal password: `typed` (validated: ValidationError on field
        `password`), or a generated one when None. Only the argon2 hash is written (hashed
        off the event loop, before the write transaction); the clear password comes back
        once in the result. `version`: refuse (StaleError) if the contact changed since."""
        self.actor.require("write")
        generated = typed is None
        password = (passwords.generate_password(GENERATED_PORTAL_LENGTH) if generated
                    else validate_portal_password(typed))
        password_hash = await asyncio.to_thread(passwords.hash_password, password)
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, Contact, contact_id, "contact")
            if version is not None and current.version != version:
                raise StaleError("contact")
            customer = await s.get(Customer, current.customer_id)
            w = ConfigWrites(s, self.actor, self.clock())
            await change_contact(w, current, {"password_hash": password_hash})
            await w.finish()
            return PasswordSet(current.id, current.name, current.email, customer.name,
                               bool(customer.portal_access), generated, password)


"""Contacts and their portal passwords (docs/domain.md §2) on SQLite and PostgreSQL, and the
password mail end to end against a real SMTP server on loopback."""

from __future__ import annotations

import socket

import pytest

from connex_tui.data.access import Actor, PermissionDenied, StaleError
from connex_tui.data.contacts import ContactsService
from connex_tui.data.passwords import verify_password
from connex_tui.engine.validation import ValidationError
from connex_tui.feeds.mail import SmtpSettings
from connex_tui.feeds.portal_password import set_password

ANNA = {"name": "Anna Berg", "email": "Anna.Berg@Example.COM", "phone": "+44 20 7946 0958",
        "notes_public": "Escalations", "notes_private": "Prefers email"}


@pytest.fixture
def contacts(db, clock) -> ContactsService:
    return ContactsService(db, Actor("alice", "admin"), clock)


@pytest.fixture
async def two(admin) -> tuple[int, int]:
    return (await admin.create({"name": "ACME", "currency": "USD", "portal_access": True}),
            await admin.create({"name": "Beta", "currency": "EUR"}))


async def stored_hash(db, contact_id: int) -> str:
    return await db_scalar(db, "SELECT password_hash FROM contacts WHERE id = :i",
                           i=contact_id)


async def db_scalar(db, sql: str, **params):
    from sqlalchemy import text

    async with db.sessions() as s:
        return await s.scalar(text(sql), params)


async def audit_texts(db) -> list[str]:
    from sqlalchemy import text

    async with db.sessions() as s:
        return list(await s.scalars(text("SELECT changes FROM audit_log "
                                         "WHERE table_name = 'contacts' ORDER BY id")))


async def test_add_edit_delete_reindex_and_audit(contacts, two, admin, db):
    acme, _ = two
    cid = await contacts.create(acme, ANNA)
    [c] = await contacts.contacts(acme)
    assert (c.name, c.email, c.phone, c.has_password, c.version) == (
        "Anna Berg", "anna.berg@example.com", "+442079460958", False, 1)
    assert [r.id for r in (await admin.page(query="anna.berg@")).rows] == [acme]
    await contacts.update(cid, 1, {**c.form_values(), "email": "anna@acme.example"})
    assert (await contacts.get(cid)).version == 2
    assert [r.id for r in (await admin.page(query="anna.berg@")).rows] == []
    assert [r.id for r in (await admin.page(query="anna@acme")).rows] == [acme]
    await contacts.delete(cid)
    assert await contacts.contacts(acme) == []
    assert [r.id for r in (await admin.page(query="anna@acme")).rows] == []
    history = [h.table for h in await admin.audit(acme)]
    assert history.count("contacts") == 3


async def test_email_is_unique_across_customers_ignoring_case(contacts, two, db):
    acme, beta = two
    await contacts.create(acme, ANNA)
    with pytest.raises(ValidationError) as err:
        await contacts.create(beta, {"name": "Other Anna", "email": "ANNA.BERG@example.com"})
    assert "unique" in err.value.errors["email"]
    bob = await contacts.create(beta, {"name": "Bob", "email": "bob@beta.example"})
    with pytest.raises(ValidationError):  # an edit cannot take it either
        await contacts.update(bob, 1, {"name": "Bob", "email": "anna.berg@EXAMPLE.com"})
    assert await db_scalar(db, "SELECT count(*) FROM contacts") == 2


async def test_field_messages_and_nothing_written(contacts, two, db):
    acme, _ = two
    with pytest.raises(ValidationError) as err:
        await contacts.create(acme, {"name": "", "email": "not-an-email",
                                     "phone": "0044 20", "notes_public": "a\x1bb"})
    assert set(err.value.errors) == {"name", "email", "phone", "notes_public"}
    with pytest.raises(ValidationError) as err:
        await contacts.create(acme, {"name": "X", "email": "x@example.com", "phone": "+1 555"})
    assert "valid" in err.value.errors["phone"]
    assert await db_scalar(db, "SELECT count(*) FROM contacts") == 0


async def test_stale_edit_is_refused(contacts, two, db):
    acme, _ = two
    cid = await contacts.create(acme, ANNA)
    row = await contacts.get(cid)
    await contacts.update(cid, row.version, {**row.form_values(), "name": "Theirs"})
    with pytest.raises(StaleError, match="changed by someone else"):
        await contacts.update(cid, row.version, {**row.form_values(), "name": "Mine"})
    assert (await contacts.get(cid)).name == "Theirs"


async def test_roles(db, clock, contacts, two):
    acme, _ = two
    cid = await contacts.create(acme, ANNA)
    viewer = ContactsService(db, Actor("vic", "viewer"), clock)
    operator = ContactsService(db, Actor("olga", "operator"), clock)
    with pytest.raises(PermissionDenied):
        await viewer.create(acme, {"name": "V", "email": "v@example.com"})
    with pytest.raises(PermissionDenied):
        await viewer.set_password(cid)
    with pytest.raises(PermissionDenied):
        await operator.delete(cid)
    await operator.set_password(cid, "typed password 1")
    assert len(await contacts.contacts(acme)) == 1


async def test_typed_password_is_argon2_verifies_and_never_audited(contacts, two, db):
    acme, _ = two
    cid = await contacts.create(acme, ANNA)
    with pytest.raises(ValidationError) as err:
        await contacts.set_password(cid, "too short")
    assert "at least 12" in err.value.errors["password"]
    with pytest.raises(ValidationError):
        await contacts.set_password(cid, "twelve chars\x07ok")
    assert await stored_hash(db, cid) == ""
    saved = await contacts.set_password(cid, "correct horse battery")
    assert not saved.generated and "correct horse" not in repr(saved)
    stored = await stored_hash(db, cid)
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery")
    assert (await contacts.get(cid)).has_password
    saved = await contacts.set_password(cid)  # reset: generated
    assert saved.generated and len(saved.password) >= 16
    assert verify_password(await stored_hash(db, cid), saved.password)
    logged = "\n".join(await audit_texts(db))
    for secret in ("correct horse battery", saved.password, "$argon2"):
        assert secret not in logged
    assert "••••••" in logged


async def test_generated_password_is_mailed_to_the_contact(contacts, two, db, smtp_server):
    host, port, inbox = smtp_server
    acme, _ = two
    cid = await contacts.create(acme, ANNA)
    smtp = SmtpSettings(host, port, tls="none", sender="noc@carrier.example")
    outcome = await set_password(contacts, cid, smtp)
    assert outcome.mailed and outcome.show_once is None and outcome.mail_error == ""
    [(sender, rcpts, msg)] = inbox.messages
    assert (sender, rcpts) == ("noc@carrier.example", ["anna.berg@example.com"])
    assert msg["To"] == "anna.berg@example.com"
    body = msg.get_content()
    assert "ACME" in body and "Hello Anna Berg" in body
    [password] = [line.split(":", 1)[1].strip() for line in body.splitlines()
                  if line.strip().startswith("Password:")]
    assert len(password) >= 16
    assert verify_password(await stored_hash(db, cid), password)
    assert password not in "\n".join(await audit_texts(db))


async def test_without_smtp_the_password_is_shown_once(contacts, two, db):
    acme, _ = two
    cid = await contacts.create(acme, ANNA)
    outcome = await set_password(contacts, cid, None)
    assert not outcome.mailed and outcome.show_once
    assert verify_password(await stored_hash(db, cid), outcome.show_once)
    typed = await set_password(contacts, cid, None, typed="a typed password")
    assert typed.show_once is None  # the operator typed it


async def test_a_failed_mail_still_saves_and_shows_once(contacts, two, db):
    acme, _ = two
    cid = await contacts.create(acme, ANNA)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    smtp = SmtpSettings("127.0.0.1", port, tls="none", sender="a@b.example", timeout=3)
    outcome = await set_password(contacts, cid, smtp)
    assert not outcome.mailed and "\n" not in outcome.mail_error
    assert f"127.0.0.1:{port}" in outcome.mail_error
    assert verify_password(await stored_hash(db, cid), outcome.show_once)

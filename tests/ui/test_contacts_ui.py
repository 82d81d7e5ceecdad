"""Contacts on the Main tab, keys only: add a contact, then set its portal password,
generated and mailed to a real SMTP server on loopback, shown once without SMTP, or typed.
The database (and the inbox) are checked afterwards."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from connex_tui.app import ConnexApp
from connex_tui.config import Config
from connex_tui.data.passwords import verify_password
from connex_tui.widgets.text_view import TextScreen
from tests.ui.conftest import frozen_clock, make_app, sqlite_url
from tests.ui.helpers import Db, type_text, wait_for
from tests.ui.test_routing_tab import cell_texts, flashed, form_open, open_tab, saved


@pytest.fixture
async def db(db_path):
    d = Db(db_path)
    d.customer_id = await d.customers.create({"name": "Acme Telecom", "currency": "USD",
                                              "portal_access": True})
    yield d
    await d.close()


def mail_app(path, host: str, port: int) -> ConnexApp:
    cfg = Config(database_url=sqlite_url(path), operator="tester", role="admin",
                 smtp_host=host, smtp_port=port, smtp_tls="none",
                 smtp_sender="noc@carrier.example")
    return ConnexApp(cfg, clock=frozen_clock)


async def open_contacts(pilot):
    section = await open_tab(pilot, "1", "contacts-section")
    assert pilot.app.focused is section.query_one("#contacts")
    return section


async def test_add_contact_then_mail_a_generated_password(db_path, db, smtp_server):
    host, port, inbox = smtp_server
    app = mail_app(db_path, host, port)
    async with app.run_test(size=(80, 24)) as pilot:
        section = await open_contacts(pilot)
        before = section.loaded
        await pilot.press("a")
        await form_open(pilot)
        await type_text(pilot, "Anna Berg")
        await pilot.press("tab")
        await type_text(pilot, "Anna@Acme.example")
        await pilot.press("tab")
        await type_text(pilot, "+44 20 7946 0958")
        await pilot.press("ctrl+s")
        await saved(pilot, section, before)
        assert cell_texts(section.query_one("#contacts")) == [
            ["Anna Berg", "anna@acme.example", "+442079460958", "-"]]
        assert "Contact Anna Berg added" in flashed(app)
        before = section.loaded
        await pilot.press("p")
        form = await form_open(pilot)
        assert "mailed to anna@acme.example" in str(form.query_one("#field-generate")
                                                    .query_one(".help").render())
        await pilot.press("ctrl+s")
        await saved(pilot, section, before)
        assert cell_texts(section.query_one("#contacts"))[0][3] == "✓"
        assert "New password mailed to anna@acme.example" in flashed(app)
        assert not isinstance(app.screen, TextScreen)  # mailed: never shown
    assert await db.rows("SELECT name, email, phone FROM contacts") == [
        ("Anna Berg", "anna@acme.example", "+442079460958")]
    [(_, rcpts, msg)] = inbox.messages
    assert rcpts == ["anna@acme.example"]
    [password] = [line.split(":", 1)[1].strip() for line in msg.get_content().splitlines()
                  if "Password:" in line]
    assert verify_password(await db.scalar("SELECT password_hash FROM contacts"), password)


async def test_without_smtp_shown_once_and_a_typed_one_is_checked(db_path, db):
    from connex_tui.data.access import Actor
    from connex_tui.data.contacts import ContactsService

    contacts = ContactsService(db.db, Actor("other", "admin"), frozen_clock)
    await contacts.create(db.customer_id, {"name": "Bob", "email": "bob@acme.example"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        section = await open_contacts(pilot)
        await pilot.press("p")
        await form_open(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="shown once")
        body = str(app.screen.query_one("#text-body", Static).render())
        assert "no SMTP is configured" in body and "will NOT be shown again" in body
        shown = body.strip().splitlines()[2].strip()
        assert verify_password(await db.scalar("SELECT password_hash FROM contacts"), shown)
        await pilot.press("escape")
        # typed: too short is refused next to the field, nothing written
        stored = await db.scalar("SELECT password_hash FROM contacts")
        await pilot.pause(0.3)
        await pilot.press("p")
        form = await form_open(pilot)
        await pilot.press("space", "tab")  # generate off, to the password
        await type_text(pilot, "short")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "at least 12" in str(
            form.query_one("#error-password").render()), what="field error")
        assert await db.scalar("SELECT password_hash FROM contacts") == stored
        before = section.loaded
        await type_text(pilot, " but now long enough")
        await pilot.press("ctrl+s")
        await saved(pilot, section, before)
        assert "Password set for bob@acme.example" in flashed(app)
        assert not isinstance(app.screen, TextScreen)
    assert verify_password(await db.scalar("SELECT password_hash FROM contacts"),
                           "short but now long enough")


async def test_edit_then_delete_a_contact_after_confirming(db_path, db):
    from connex_tui.data.access import Actor
    from connex_tui.data.contacts import ContactsService
    from connex_tui.widgets.confirm import ConfirmScreen

    contacts = ContactsService(db.db, Actor("other", "admin"), frozen_clock)
    await contacts.create(db.customer_id, {"name": "Bob", "email": "bob@acme.example"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        section = await open_contacts(pilot)
        before = section.loaded
        await pilot.press("e")
        form = await form_open(pilot)
        await pilot.press("tab")  # to the email
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "bob@elsewhere")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "valid email" in str(
            form.query_one("#error-email").render()), what="field error")
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "robert@acme.example")
        await pilot.press("ctrl+s")
        await saved(pilot, section, before)
        assert cell_texts(section.query_one("#contacts"))[0][1] == "robert@acme.example"
        before = section.loaded
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: section.loaded > before, what="reloaded")
        assert cell_texts(section.query_one("#contacts")) == []
        assert "Contact Bob deleted" in flashed(app)
    assert await db.scalar("SELECT count(*) FROM contacts") == 0
    assert await db.rows("SELECT action FROM audit_log WHERE table_name = 'contacts' "
                         "ORDER BY id") == [("create",), ("update",), ("delete",)]


async def test_a_failed_mail_still_sets_the_password_and_shows_it_once(db_path, db):
    import socket

    from connex_tui.data.access import Actor
    from connex_tui.data.contacts import ContactsService

    contacts = ContactsService(db.db, Actor("other", "admin"), frozen_clock)
    await contacts.create(db.customer_id, {"name": "Bob", "email": "bob@acme.example"})
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = mail_app(db_path, "127.0.0.1", port)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_contacts(pilot)
        await pilot.press("p")
        await form_open(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="shown once")
        body = str(app.screen.query_one("#text-body", Static).render())
        assert f"Not mailed: mail to bob@acme.example via 127.0.0.1:{port} failed" in body
        shown = body.strip().splitlines()[2].strip()
    assert verify_password(await db.scalar("SELECT password_hash FROM contacts"), shown)

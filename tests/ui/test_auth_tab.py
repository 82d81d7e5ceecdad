"""Auth tab journeys, keys only: IP authentication entries and SIP users (the password is
shown once and only its hashes are stored). The database is checked afterwards."""

from __future__ import annotations

import hashlib

import pytest
from textual.widgets import Input, Static

from connex_tui.data.access import Actor
from connex_tui.data.auth import AuthService
from connex_tui.engine.snapshot import REALM
from connex_tui.widgets.confirm import ConfirmScreen
from connex_tui.widgets.text_view import TextScreen
from tests.ui.conftest import frozen_clock, make_app
from tests.ui.helpers import Db, wait_for
from tests.ui.test_routing_tab import burst, cell_texts, flashed, form_open, open_tab, saved


@pytest.fixture
async def db(db_path):
    d = Db(db_path)
    d.auth = AuthService(d.db, Actor("other", "admin"), frozen_clock)
    d.customer_id = await d.customers.create({"name": "Acme Telecom", "status": "active",
                                              "currency": "USD"})
    yield d
    await d.close()


def shown_password(app) -> str:
    """The password line of the one-time modal."""
    body = str(app.screen.query_one("#text-body", Static).render())
    assert "will NOT be shown again" in body
    return body.strip().splitlines()[0].strip()


async def test_add_ip_entry(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "4", "auth-tab")
        assert app.focused is tab.query_one("#ip-auth")
        assert "No IP authentication" in str(
            tab.query_one("#ip-auth-pane .pane-empty", Static).render())
        before = tab.loaded
        await pilot.press("a")
        form = await form_open(pilot)
        await pilot.press(*"10.1.2.0/24", "tab", "tab")  # host -> direction -> channels
        assert app.focused is form.query_one("#input-channels")
        await pilot.press("ctrl+a", "ctrl+k", *"20")
        await pilot.press("ctrl+s")
        await saved(pilot, tab, before)
        assert cell_texts(tab.query_one("#ip-auth")) == [
            ["10.1.2.0/24", "ingress", "20", "∞", "", "udp/5060"]]
        assert "IP 10.1.2.0/24 added" in flashed(app)
    assert await db.rows("SELECT host, direction, channels, port, protocol, codecs "
                         "FROM ip_auth") == [
        ("10.1.2.0/24", "ingress", 20, 5060, "udp", "PCMU,PCMA,G729")]
    # the customer can now be found by its IP and no longer lacks authentication
    assert await db.scalar("SELECT has_auth FROM customers") in (1, True)


async def test_bad_ip_is_shown_beside_the_field_and_nothing_is_written(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "4", "auth-tab")
        await pilot.press("a")
        form = await form_open(pilot)
        await pilot.press(*"10.1.2.300")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "fix" in str(form.query_one("#form-message").render()),
                       what="errors")
        assert str(form.query_one("#error-host").render()).startswith("✗ ")
        assert form.query_one("#input-host", Input).value == "10.1.2.300"
        assert app.focused is form.query_one("#input-host")
    assert await db.scalar("SELECT count(*) FROM ip_auth") == 0


async def test_a_wide_ingress_network_is_saved_only_once_confirmed(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "4", "auth-tab")
        before = tab.loaded
        await pilot.press("a")
        form = await form_open(pilot)
        await pilot.press(*"0.0.0.0/0", "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert "anyone on the internet" in str(app.screen.query_one("#message").render())
        assert await db.scalar("SELECT count(*) FROM ip_auth") == 0  # asked before writing
        await pilot.press("n")  # back to the form, input kept, nothing written
        await wait_for(pilot, lambda: app.screen is form and "confirm" in str(
            form.query_one("#error-host").render()), what="back in the form")
        assert form.query_one("#input-host", Input).value == "0.0.0.0/0"
        assert await db.scalar("SELECT count(*) FROM ip_auth") == 0
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("y")
        await saved(pilot, tab, before)
    assert await db.rows("SELECT host FROM ip_auth") == [("0.0.0.0/0",)]


async def test_add_sip_user_with_generated_password_shown_once(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "4", "auth-tab")
        await pilot.press("tab")
        assert app.focused is tab.query_one("#sip-users")
        before = tab.loaded
        await pilot.press("a")
        form = await form_open(pilot)
        assert form.query_one("#input-password", Input).password  # masked
        assert form.query_one("#input-generate").value  # generate is on for a new user
        await pilot.press(*"alice.phone")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="password")
        password = shown_password(app)
        assert len(password) == 20
        await pilot.press("escape")
        await wait_for(pilot, lambda: tab.loaded > before, what="reloaded")
        assert cell_texts(tab.query_one("#sip-users")) == [
            ["alice.phone", "∞", "∞", "(any address)"]]
        assert all(password not in str(cell) for row in cell_texts(tab.query_one("#sip-users"))
                   for cell in row)
    ((hash_, ha1),) = await db.rows("SELECT password_hash, ha1 FROM sip_users")
    assert hash_.startswith("$argon2")
    assert ha1 == hashlib.md5(f"alice.phone:{REALM}:{password}".encode()).hexdigest()
    from argon2 import PasswordHasher

    assert PasswordHasher().verify(hash_, password)
    stored = await db.rows("SELECT * FROM sip_users")
    audit = await db.rows("SELECT changes FROM audit_log")
    assert password not in repr(stored) + repr(audit)


async def test_typed_password_too_short_and_bad_username_write_nothing(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "4", "auth-tab")
        await pilot.press("tab", "a")
        form = await form_open(pilot)
        await pilot.press(*"al", "tab", *"short", "tab", "space")  # generate off
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "fix" in str(form.query_one("#form-message").render()),
                       what="errors")
        assert "3 to 64" in str(form.query_one("#error-username").render())
        assert "at least 12" in str(form.query_one("#error-password").render())
        assert app.screen is form  # no password dialog
    assert await db.scalar("SELECT count(*) FROM sip_users") == 0


async def test_reset_password_asks_then_shows_the_new_one_once(db_path, db):
    uid, first = await db.auth.create_sip_user(db.customer_id, {"username": "bob.desk",
                                                                "generate": True})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "4", "auth-tab")
        await pilot.press("p")  # IP pane focused: p does nothing there
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("tab", "p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="password")
        new = shown_password(app)
        await pilot.press("escape")
    assert new != first
    (ha1,) = (await db.rows("SELECT ha1 FROM sip_users WHERE id = :i", i=uid))[0]
    assert ha1 == hashlib.md5(f"bob.desk:{REALM}:{new}".encode()).hexdigest()


async def test_a_typed_password_is_not_shown_back(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "4", "auth-tab")
        await pilot.press("tab")
        before = tab.loaded
        await pilot.press("a")
        await form_open(pilot)
        await pilot.press(*"carol.desk", "tab", *"typed-secret-123", "tab", "space")
        await pilot.press("ctrl+s")
        await saved(pilot, tab, before)  # back on the tab: no password dialog
        assert not isinstance(app.screen, TextScreen)
        assert "SIP user carol.desk added, password set" in flashed(app)
        before = tab.loaded
        await pilot.press("e")  # a new typed password on edit: not shown either
        await form_open(pilot)
        await pilot.press("tab", *"other-secret-456")
        await pilot.press("ctrl+s")
        await saved(pilot, tab, before)
        assert not isinstance(app.screen, TextScreen)
        assert "SIP user carol.desk saved, password set" in flashed(app)
    ((hash_,),) = await db.rows("SELECT password_hash FROM sip_users")
    from argon2 import PasswordHasher

    assert PasswordHasher().verify(hash_, "other-secret-456")


async def test_a_password_generated_on_edit_is_shown_once(db_path, db):
    await db.auth.create_sip_user(db.customer_id, {"username": "dave.desk",
                                                   "password": "typed-secret-123"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "4", "auth-tab")
        await pilot.press("tab", "e")
        await form_open(pilot)
        await pilot.press("tab", "tab", "space")  # generate: on
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="password")
        new = shown_password(app)
        assert len(new) == 20
        before = tab.loaded
        await pilot.press("escape")
        await wait_for(pilot, lambda: tab.loaded > before, what="reloaded")
    (ha1,) = (await db.rows("SELECT ha1 FROM sip_users"))[0]
    assert ha1 == hashlib.md5(f"dave.desk:{REALM}:{new}".encode()).hexdigest()


async def test_keys_right_after_p_do_not_act_on_the_screen_behind(db_path, db):
    await db.auth.create_sip_user(db.customer_id, {"username": "bob.desk", "generate": True})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "4", "auth-tab")
        screen = app.screen
        await pilot.press("tab")
        burst(app, "p", "5", "left_square_bracket")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert screen.active_tab == "auth"
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen, what="closed")
        assert screen.active_tab == "auth"

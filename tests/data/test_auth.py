"""IP authentication and SIP users (docs/domain.md §6) on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from connex_tui.data.access import Actor, NotFound, PermissionDenied, StaleError
from connex_tui.data.auth import AuthService, NeedsConfirmation
from connex_tui.data.models import AuditEntry, SipUser
from connex_tui.data.passwords import ALPHABET, generate_password, verify_password
from connex_tui.data.rate_cards import RatesService
from connex_tui.data.routes import RoutesService
from connex_tui.engine.snapshot import REALM
from connex_tui.engine.validation import ValidationError
from tests.data.routing_helpers import audits, generation, setup_cards

PASSWORD = "correct horse battery"


@pytest.fixture
def auth(db, clock) -> AuthService:
    return AuthService(db, Actor("alice", "admin"), clock)


@pytest.fixture
async def cid(admin) -> int:
    return await admin.create({"name": "ACME", "currency": "USD"})


async def stored_user(db, user_id: int) -> SipUser:
    async with db.sessions() as s:
        return await s.get(SipUser, user_id)


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


# -- IP auth ------------------------------------------------------------------------------
async def test_ip_auth_round_trip_flags_search_audit(auth, cid, db, admin):
    g0 = await generation(db)
    eid = await auth.create_ip_auth(cid, {"host": "192.0.2.0/24", "codecs": "pcma g729",
                                          "protocol": "tls", "tech_prefix": "12#",
                                          "strip_digits": "2"})
    [e] = await auth.ip_auth(cid)
    assert (e.id, e.version, e.host, e.direction, e.codecs, e.protocol, e.port) == (
        eid, 1, "192.0.2.0/24", "ingress", "PCMA,G729", "tls", 5061)
    assert (e.tech_prefix, e.strip_digits) == ("12#", 2)
    c = await admin.get(cid)
    assert c.has_auth is True
    assert [r.id for r in (await admin.page(query="192.0.2.0")).rows] == [cid]
    await auth.update_ip_auth(eid, 1, e.form_values())  # round trip
    [same] = await auth.ip_auth(cid)
    assert same.form_values() == e.form_values() and same.version == 2
    await auth.update_ip_auth(eid, 2, {**e.form_values(), "direction": "egress",
                                       "host": "SBC.example.net"})
    [e2] = await auth.ip_auth(cid)
    assert (e2.host, e2.direction) == ("sbc.example.net", "egress")
    assert (await admin.get(cid)).has_auth is False  # egress does not let calls in
    with pytest.raises(StaleError):
        await auth.update_ip_auth(eid, 2, e.form_values())
    await auth.delete_ip_auth(eid)
    assert await auth.ip_auth(cid) == []
    log = await audits(db, "ip_auth")
    assert [(a, r, c) for a, r, c, _ in log] == [("create", eid, cid), ("update", eid, cid),
                                                ("update", eid, cid), ("delete", eid, cid)]
    assert log[1][3] == {}
    assert log[2][3]["direction"] == ["ingress", "egress"]
    assert await generation(db) == g0 + 4


async def test_ip_auth_field_errors_and_duplicate_host(auth, cid):
    with pytest.raises(ValidationError) as info:
        await auth.create_ip_auth(cid, {"host": "gw.example.net", "port": "0"})
    assert set(info.value.errors) == {"host", "port"}
    await auth.create_ip_auth(cid, {"host": "192.0.2.7"})
    with pytest.raises(ValidationError) as info:
        await auth.create_ip_auth(cid, {"host": "192.0.2.7/32"})
    assert info.value.errors == {"host": "this customer already has ingress 192.0.2.7"}
    await auth.create_ip_auth(cid, {"host": "192.0.2.7", "direction": "egress"})
    with pytest.raises(NotFound):
        await auth.create_ip_auth(999, {"host": "192.0.2.8"})


async def test_shared_ingress_host_needs_distinct_tech_prefixes(auth, cid, db, clock, admin):
    rates = RatesService(db, Actor("alice", "admin"), clock)
    routes = RoutesService(db, Actor("alice", "admin"), clock)
    await setup_cards(rates)
    other = await admin.create({"name": "Beta", "currency": "USD"})
    await auth.create_ip_auth(cid, {"host": "192.0.2.1"})
    await routes.create_route(cid, {"rate_card": "Retail"})
    await routes.create_route(other, {"rate_card": "Retail", "tech_prefix": "77"})
    # ACME has no tech-prefixed route: sharing would make its calls ambiguous
    with pytest.raises(ValidationError) as info:
        await auth.create_ip_auth(other, {"host": "192.0.2.1"})
    assert info.value.errors["host"] == (
        "192.0.2.1 is also used by ACME: a shared IP needs routes with tech prefixes to "
        "tell customers apart, and ACME has none")
    await routes.create_route(cid, {"rate_card": "Retail", "tech_prefix": "771"})
    with pytest.raises(ValidationError) as info:
        await auth.create_ip_auth(other, {"host": "192.0.2.1"})
    assert "tech prefix 77 overlaps 771 of ACME" in info.value.errors["host"]
    rid = await routes.create_route(cid, {"rate_card": "Retail", "tech_prefix": "55"})
    r = await routes.route(rid)
    await routes.delete_route((await routes.routes(cid))[1].id)  # the 771 route
    with pytest.raises(NeedsConfirmation):  # 55 vs 77: allowed, once confirmed
        await auth.create_ip_auth(other, {"host": "192.0.2.1"})
    await auth.create_ip_auth(other, {"host": "192.0.2.1"}, confirmed=True)
    # a route may not take a prefix that overlaps a sharer's afterwards
    with pytest.raises(ValidationError) as info:
        await routes.update_route(rid, r.version, {**r.form_values(), "tech_prefix": "7"})
    assert info.value.errors["tech_prefix"].startswith("tech prefix 7 overlaps 77 of Beta")
    # egress entries and other hosts are not shared ingress
    await auth.create_ip_auth(other, {"host": "198.51.100.1", "direction": "egress"})
    await auth.create_ip_auth(cid, {"host": "198.51.100.1", "direction": "egress"})


async def test_wide_or_shared_ingress_ip_needs_confirmation(auth, cid, db, admin):
    other = await admin.create({"name": "Beta", "currency": "USD"})
    for host, message in [
        ("0.0.0.0/0", "0.0.0.0/0 is every IPv4 address: anyone on the internet could call "
                      "as this customer"),
        ("10.0.0.0/7", "10.0.0.0/7 covers 33,554,432 addresses (shorter than /8): anyone in "
                       "it could call as this customer"),
        ("2001::/16", "2001::/16 covers 2^112 addresses (shorter than /32): anyone in it "
                      "could call as this customer"),
    ]:
        with pytest.raises(NeedsConfirmation) as info:
            await auth.create_ip_auth(cid, {"host": host})
        assert info.value.warnings == [message]
    assert await auth.ip_auth(cid) == []  # nothing written before the confirmation
    await auth.create_ip_auth(cid, {"host": "10.0.0.0/8"})  # /8 is the widest unasked
    eid = await auth.create_ip_auth(cid, {"host": "0.0.0.0/0"}, confirmed=True)
    # an edit that keeps the host was confirmed when the host was set
    [_, wide] = await auth.ip_auth(cid)
    await auth.update_ip_auth(eid, wide.version, {**wide.form_values(), "channels": "5"})
    # an address inside another customer's network, and the other way round
    with pytest.raises(NeedsConfirmation) as info:
        await auth.create_ip_auth(other, {"host": "10.1.2.3"})
    assert info.value.warnings == [
        "10.1.2.3 is also an ingress IP of ACME: a call from it could be taken for either "
        "customer's"]
    with pytest.raises(NeedsConfirmation) as info:
        await auth.create_ip_auth(other, {"host": "192.0.2.0/25"})
    assert "also an ingress IP of ACME" in info.value.warnings[-1]  # ACME's 0.0.0.0/0
    # egress entries are where calls go, not who may call
    await auth.create_ip_auth(other, {"host": "10.1.2.3", "direction": "egress"})


# -- SIP users ----------------------------------------------------------------------------
async def test_sip_user_create_stores_hash_and_ha1_never_the_password(auth, cid, db, admin):
    g0 = await generation(db)
    uid, shown = await auth.create_sip_user(cid, {"username": "alice.01", "password": PASSWORD,
                                                  "channels": "4",
                                                  "ip_whitelist": "192.0.2.0/24"})
    assert shown == PASSWORD
    u = await stored_user(db, uid)
    assert u.ha1 == md5(f"alice.01:{REALM}:{PASSWORD}")
    assert u.password_hash.startswith("$argon2") and verify_password(u.password_hash, PASSWORD)
    assert not verify_password(u.password_hash, PASSWORD + "x")
    [row] = await auth.sip_users(cid)
    assert (row.username, row.channels, row.ip_whitelist) == ("alice.01", 4, "192.0.2.0/24")
    assert row.form_values()["password"] == "" and PASSWORD not in repr(row)
    assert (await admin.get(cid)).has_auth is True
    assert [r.id for r in (await admin.page(query="alice.01")).rows] == [cid]
    assert await generation(db) == g0 + 1
    async with db.sessions() as s:
        changes = (await s.scalars(select(AuditEntry.changes))).all()
    dump = "\n".join(changes)
    assert PASSWORD not in dump and u.ha1 not in dump and u.password_hash not in dump
    [(action, _, cust, change)] = await audits(db, "sip_users")
    assert (action, cust, change["ha1"], change["password_hash"]) == (
        "create", cid, [None, "••••••"], [None, "••••••"])


async def test_sip_user_generated_password(auth, cid, db):
    uid, shown = await auth.create_sip_user(cid, {"username": "gen", "generate": True})
    assert len(shown) == 20 and set(shown) <= set(ALPHABET)
    assert (await stored_user(db, uid)).ha1 == md5(f"gen:{REALM}:{shown}")
    with pytest.raises(ValidationError) as info:
        await auth.create_sip_user(cid, {"username": "nopw"})
    assert info.value.errors == {"password": "required (or choose generate)"}
    assert generate_password() != generate_password()
    assert len(auth.generate_password()) == 20


async def test_sip_username_unique_across_customers(auth, cid, admin):
    other = await admin.create({"name": "Beta", "currency": "USD"})
    await auth.create_sip_user(cid, {"username": "alice", "password": PASSWORD})
    with pytest.raises(ValidationError) as info:
        await auth.create_sip_user(other, {"username": "ALICE", "password": PASSWORD})
    assert "taken" in info.value.errors["username"]


async def test_sip_user_edit_keeps_or_replaces_password(auth, cid, db):
    uid, _ = await auth.create_sip_user(cid, {"username": "alice", "password": PASSWORD})
    before = await stored_user(db, uid)
    [row] = await auth.sip_users(cid)
    assert await auth.update_sip_user(uid, 1, {**row.form_values(), "channels": "9"}) is None
    kept = await stored_user(db, uid)
    assert (kept.channels, kept.ha1, kept.password_hash) == (9, before.ha1,
                                                            before.password_hash)
    # renaming needs a new password: the HA1 includes the username
    with pytest.raises(ValidationError) as info:
        await auth.update_sip_user(uid, 2, {**row.form_values(), "username": "alice2"})
    assert "new password" in info.value.errors["password"]
    new = "another long secret"
    assert await auth.update_sip_user(uid, 2, {**row.form_values(), "username": "alice2",
                                               "password": new}) == new
    u = await stored_user(db, uid)
    assert u.ha1 == md5(f"alice2:{REALM}:{new}") and verify_password(u.password_hash, new)
    generated = await auth.update_sip_user(uid, 3, {**row.form_values(),
                                                    "username": "alice2", "generate": True})
    assert generated and (await stored_user(db, uid)).ha1 == md5(
        f"alice2:{REALM}:{generated}")
    with pytest.raises(StaleError):
        await auth.update_sip_user(uid, 3, row.form_values())
    log = await audits(db, "sip_users")
    assert log[1][3] == {"channels": [0, 9]}
    assert log[2][3]["ha1"] == ["••••••", "••••••"]
    assert new not in json.dumps([c for *_, c in log])


async def test_reset_password_and_delete(auth, cid, db, admin):
    uid, first = await auth.create_sip_user(cid, {"username": "bob", "generate": "yes"})
    g0 = await generation(db)
    second = await auth.reset_sip_password(uid)
    assert second != first
    u = await stored_user(db, uid)
    assert u.ha1 == md5(f"bob:{REALM}:{second}") and u.version == 2
    assert verify_password(u.password_hash, second) and not verify_password(u.password_hash,
                                                                            first)
    await auth.delete_sip_user(uid)
    assert await auth.sip_users(cid) == []
    assert (await admin.get(cid)).has_auth is False
    assert await generation(db) == g0 + 2
    assert [a for a, *_ in await audits(db, "sip_users")] == ["create", "update", "delete"]
    with pytest.raises(NotFound):
        await auth.reset_sip_password(uid)


async def test_viewer_cannot_write_and_operator_cannot_delete(auth, cid, db, clock):
    eid = await auth.create_ip_auth(cid, {"host": "192.0.2.1"})
    uid, _ = await auth.create_sip_user(cid, {"username": "carol", "generate": True})
    viewer = AuthService(db, Actor("v", "viewer"), clock)
    operator = AuthService(db, Actor("o", "operator"), clock)
    for call in (lambda: viewer.create_ip_auth(cid, {"host": "192.0.2.2"}),
                 lambda: viewer.create_sip_user(cid, {"username": "dan", "generate": True}),
                 lambda: viewer.reset_sip_password(uid),
                 lambda: operator.delete_ip_auth(eid),
                 lambda: operator.delete_sip_user(uid)):
        with pytest.raises(PermissionDenied):
            await call()
    assert len(await viewer.sip_users(cid)) == 1
    assert await operator.reset_sip_password(uid)

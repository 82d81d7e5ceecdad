"""Customer service (docs/domain.md §1, §13) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from connex_tui.data import ledger, search
from connex_tui.data.access import NotFound, PermissionDenied, StaleError
from connex_tui.data.models import (
    AuditEntry,
    Cdr,
    CliRule,
    Contact,
    Customer,
    Dialog,
    Did,
    IngressRoute,
    IpAuth,
    Payment,
    RateCard,
    SipUser,
)
from connex_tui.engine.validation import ValidationError

T0 = datetime(2025, 1, 1, tzinfo=UTC)
EDITABLE = {"version": 1, "created_at": T0, "updated_at": T0}


def raw(name: str = "ACME Telecom", **fields) -> dict:
    return {"name": name, "currency": "USD", **fields}


async def count(db, model, *where) -> int:
    async with db.sessions() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


async def audit_rows(db, customer_id: int) -> list[AuditEntry]:
    async with db.sessions() as s:
        return list((await s.scalars(select(AuditEntry).where(
            AuditEntry.customer_id == customer_id).order_by(AuditEntry.id))).all())


# -- create / get / update ----------------------------------------------------------------
async def test_create_then_get(admin, clock):
    cid = await admin.create(raw(
        status="inactive", paypal_email="pay@acme.example", website="https://acme.example",
        debit_limit="-5", tax_percent="20", currency="eur", portal_access=True,
        channels="30", flow_speed="10", address="1 Road", notes_public="pub",
        notes_private="priv"))
    c = await admin.get(cid)
    assert (c.name, c.status, c.currency) == ("ACME Telecom", "inactive", "EUR")
    assert (c.paypal_email, c.website) == ("pay@acme.example", "https://acme.example")
    assert c.debit_limit == Decimal("-5") and c.tax_percent == Decimal("20")
    assert (c.portal_access, c.channels, c.flow_speed) == (True, 30, 10)
    assert (c.address, c.notes_public, c.notes_private) == ("1 Road", "pub", "priv")
    assert c.balance == 0 and isinstance(c.balance, Decimal)
    assert c.available == Decimal("-5")
    assert c.version == 1
    assert c.created_at == c.updated_at == clock.now
    assert c.archived_at is None and c.last_call_at is None
    assert (c.has_auth, c.has_route, c.live_channels) == (False, False, 0)


async def test_get_unknown_customer(admin):
    with pytest.raises(NotFound):
        await admin.get(999)


async def test_create_refuses_invalid_input_and_writes_nothing(admin, db):
    with pytest.raises(ValidationError) as info:
        await admin.create(raw(website="ftp://x", channels="-1"))
    assert set(info.value.errors) == {"website", "channels"}
    assert await count(db, Customer) == 0
    assert await count(db, AuditEntry) == 0


async def test_update_saves_and_bumps_version(admin, clock):
    cid = await admin.create(raw())
    c = await admin.get(cid)
    clock.advance(minutes=5)
    form = c.form_values()
    form.update(name="ACME Telecom Ltd", debit_limit="100", channels="50")
    await admin.update(cid, c.version, form)
    c2 = await admin.get(cid)
    assert (c2.name, c2.debit_limit, c2.channels) == ("ACME Telecom Ltd", Decimal(100), 50)
    assert c2.version == 2
    assert c2.updated_at == clock.now and c2.created_at == c.created_at


async def test_form_values_round_trip_unchanged(admin):
    cid = await admin.create(raw(debit_limit="-5.5", tax_percent="7.25", portal_access="yes"))
    c = await admin.get(cid)
    form = c.form_values()
    assert form["debit_limit"] == "-5.5" and form["tax_percent"] == "7.25"
    assert form["portal_access"] is True
    await admin.update(cid, c.version, form)
    after = await admin.get(cid)
    assert after.version == 2
    assert after.debit_limit == c.debit_limit and after.tax_percent == c.tax_percent
    # nothing changed, so the audit row has no changes in it
    rows = await admin.audit(cid)
    assert rows[0].action == "update" and rows[0].changes == {}


async def test_update_unknown_customer(admin):
    with pytest.raises(NotFound):
        await admin.update(999, 1, raw())


# -- unique names -------------------------------------------------------------------------
@pytest.mark.parametrize("other", ["ACME Telecom", "acme telecom", "  ACME TELECOM  "])
async def test_name_unique_case_insensitively_on_create(admin, db, other):
    await admin.create(raw("ACME Telecom"))
    with pytest.raises(ValidationError) as info:
        await admin.create(raw(other))
    assert set(info.value.errors) == {"name"}
    assert "already exists" in info.value.errors["name"]
    assert await count(db, Customer) == 1


async def test_name_unique_on_update(admin):
    await admin.create(raw("Alpha"))
    bid = await admin.create(raw("Beta"))
    with pytest.raises(ValidationError) as info:
        await admin.update(bid, 1, raw("ALPHA"))
    assert set(info.value.errors) == {"name"}
    assert (await admin.get(bid)).name == "Beta"


async def test_rename_to_own_name_in_other_case_is_allowed(admin):
    cid = await admin.create(raw("acme"))
    await admin.update(cid, 1, raw("ACME"))
    assert (await admin.get(cid)).name == "ACME"
    assert [r[1] for r in await admin.find("acme")] == ["ACME"]


# -- currency -----------------------------------------------------------------------------
async def test_currency_cannot_change_after_creation(admin, db):
    cid = await admin.create(raw(currency="USD"))
    with pytest.raises(ValidationError) as info:
        await admin.update(cid, 1, raw(currency="EUR", channels="9"))
    assert set(info.value.errors) == {"currency"}
    c = await admin.get(cid)
    assert (c.currency, c.channels, c.version) == ("USD", 0, 1)
    assert [r.action for r in await admin.audit(cid)] == ["create"]


async def test_same_currency_in_lower_case_is_not_a_change(admin):
    cid = await admin.create(raw(currency="USD"))
    await admin.update(cid, 1, raw(currency="usd", channels="9"))
    assert (await admin.get(cid)).channels == 9


# -- optimistic locking -------------------------------------------------------------------
async def test_stale_version_is_refused_and_nothing_written(service, db):
    alice, bob = service("admin", "alice"), service("operator", "bob")
    cid = await alice.create(raw())
    seen_by_alice = await alice.get(cid)
    seen_by_bob = await bob.get(cid)
    await bob.update(cid, seen_by_bob.version, raw(channels="10"))
    with pytest.raises(StaleError, match="changed by someone else"):
        await alice.update(cid, seen_by_alice.version, raw(channels="99", notes_public="x"))
    c = await alice.get(cid)
    assert (c.channels, c.notes_public, c.version) == (10, "", 2)
    assert [r.action for r in await alice.audit(cid)] == ["update", "create"]
    assert [r.operator for r in await alice.audit(cid)] == ["bob", "alice"]


async def test_a_retry_with_the_fresh_version_succeeds(admin):
    cid = await admin.create(raw())
    await admin.update(cid, 1, raw(channels="1"))
    with pytest.raises(StaleError):
        await admin.update(cid, 1, raw(channels="2"))
    await admin.update(cid, 2, raw(channels="2"))
    assert (await admin.get(cid)).channels == 2


# -- audit --------------------------------------------------------------------------------
async def test_audit_of_create_and_update_records_only_changed_fields(admin, clock):
    cid = await admin.create(raw(channels="5"))
    clock.advance(minutes=1)
    await admin.update(cid, 1, raw(channels="6", debit_limit="12.5", website="http://a.b"))
    rows = await admin.audit(cid)
    assert [r.action for r in rows] == ["update", "create"]
    upd, created = rows
    assert upd.operator == "alice" and upd.table == "customers" and upd.row_id == cid
    assert upd.at == clock.now
    assert upd.changes == {"channels": [5, 6], "debit_limit": ["0.000000", "12.5"],
                           "website": ["", "http://a.b"]}
    assert created.changes["name"] == [None, "ACME Telecom"]
    assert created.changes["channels"] == [None, 5]
    assert "version" not in created.changes and "name_key" not in created.changes


def test_audit_diff_masks_secrets():
    from connex_tui.data.audit import MASK, diff

    changes = diff({"password": "old-secret", "password_hash": "$argon2$x", "ha1": "abc",
                    "email": "a@b.c", "same": 1},
                   {"password": "new-secret", "password_hash": "$argon2$y", "ha1": "abc",
                    "email": "x@b.c", "same": 1})
    assert changes == {"password": [MASK, MASK], "password_hash": [MASK, MASK],
                       "email": ["a@b.c", "x@b.c"]}
    assert "secret" not in str(changes)
    assert diff(None, {"password": "pw"}) == {"password": [None, MASK]}
    assert diff({"api_token": "t"}, None) == {"api_token": [MASK, None]}


async def test_audit_survives_erase(admin, db):
    cid = await admin.create(raw(notes_private="keep me"))
    assert await admin.delete(cid) == "erase"
    rows = await admin.audit(cid)
    assert [r.action for r in rows] == ["erase", "create"]
    assert rows[0].changes["name"] == ["ACME Telecom", None]
    assert rows[0].changes["notes_private"] == ["keep me", None]
    assert await count(db, Customer) == 0


# -- archive / erase / restore ------------------------------------------------------------
async def _add_children(db, cid: int) -> None:
    async with db.sessions() as s, s.begin():
        await s.execute(insert(Contact).values(customer_id=cid, name="Bob",
                                               email=f"bob{cid}@x.example", **EDITABLE))
        await s.execute(insert(IpAuth).values(customer_id=cid, host=f"10.0.0.{cid}",
                                              **EDITABLE))
        await s.execute(insert(CliRule).values(customer_id=cid, cli="44", **EDITABLE))
        await s.execute(insert(Dialog).values(call_id=f"live-{cid}", customer_id=cid,
                                              dialled="441", started_at=T0))


async def _add_cdr(db, cid):
    async with db.sessions() as s, s.begin():
        await s.execute(insert(Cdr).values(call_id=f"c{cid}", customer_id=cid, started_at=T0,
                                           ended_at=T0, dialled="441", sip_code=200))


async def _add_payment(db, cid):
    async with db.sessions() as s, s.begin():
        await s.execute(insert(Payment).values(customer_id=cid, amount=Decimal(10),
                                               paid_at=T0, **EDITABLE))


async def _add_ledger(db, cid):
    async with db.sessions() as s, s.begin():
        await ledger.post(s, cid, "adjust", Decimal("-1"), at=T0)


@pytest.mark.parametrize("financial", [_add_cdr, _add_payment, _add_ledger])
async def test_customer_with_financial_records_is_archived(admin, db, clock, financial):
    cid = await admin.create(raw())
    await _add_children(db, cid)
    await financial(db, cid)
    assert await admin.delete_mode(cid) == "archive"
    clock.advance(hours=1)
    assert await admin.delete(cid) == "archive"
    c = await admin.get(cid)
    assert c.archived_at == clock.now
    assert c.version == 2
    assert await count(db, Contact, Contact.customer_id == cid) == 1  # nothing removed
    assert await count(db, IpAuth, IpAuth.customer_id == cid) == 1
    page = await admin.page()
    assert page.total == 0 and page.rows == ()
    archived = await admin.page("archived")
    assert [r.id for r in archived.rows] == [cid] and archived.rows[0].archived
    rows = await admin.audit(cid)
    assert rows[0].action == "archive"
    assert rows[0].changes == {"archived_at": [None, clock.now.isoformat()]}


async def test_customer_without_financial_records_is_erased_with_its_children(admin, db):
    keep = await admin.create(raw("Keep"))
    cid = await admin.create(raw("Gone"))
    await _add_children(db, keep)
    await _add_children(db, cid)
    assert await admin.delete_mode(cid) == "erase"
    assert await admin.delete(cid) == "erase"
    with pytest.raises(NotFound):
        await admin.get(cid)
    for model in (Contact, IpAuth, CliRule, Dialog):
        assert await count(db, model, model.customer_id == cid) == 0, model.__name__
        assert await count(db, model, model.customer_id == keep) == 1, model.__name__
    assert await count(db, AuditEntry, AuditEntry.customer_id == cid,
                       AuditEntry.action == "erase") == 1


async def test_delete_unknown_customer(admin):
    with pytest.raises(NotFound):
        await admin.delete(999)


async def test_restore_brings_an_archived_customer_back(admin, db, clock):
    cid = await admin.create(raw())
    await _add_payment(db, cid)
    await admin.delete(cid)
    clock.advance(minutes=1)
    await admin.restore(cid)
    c = await admin.get(cid)
    assert c.archived_at is None and c.version == 3
    assert [r.id for r in (await admin.page()).rows] == [cid]
    assert (await admin.page("archived")).total == 0
    assert [r.action for r in await admin.audit(cid)] == ["restore", "archive", "create"]
    with pytest.raises(NotFound):  # not archived any more
        await admin.restore(cid)


# -- list: paging, filters, search ------------------------------------------------------
async def test_paging(admin):
    names = [f"Customer {i:02d}" for i in range(25)]
    for n in reversed(names):
        await admin.create(raw(n))
    first = await admin.page(offset=0, limit=10)
    assert first.total == 25 and first.offset == 0
    assert [r.name for r in first.rows] == names[:10]
    last = await admin.page(offset=20, limit=10)
    assert [r.name for r in last.rows] == names[20:]
    assert last.total == 25
    assert (await admin.page(offset=30, limit=10)).rows == ()


async def test_list_is_sorted_case_insensitively(admin):
    for n in ("beta", "Alpha", "gamma", "Delta"):
        await admin.create(raw(n))
    assert [r.name for r in (await admin.page()).rows] == ["Alpha", "beta", "Delta", "gamma"]


async def test_status_filters(admin, db):
    ids = {}
    for status in ("active", "inactive", "pending_approval", "penalty"):
        ids[status] = await admin.create(raw(f"C {status}", status=status))
    gone = await admin.create(raw("C gone", status="active"))
    await _add_cdr(db, gone)
    await admin.delete(gone)
    for status, cid in ids.items():
        page = await admin.page(status)
        assert [r.id for r in page.rows] == [cid] and page.total == 1
        assert page.rows[0].status == status
    assert (await admin.page("all")).total == 4
    assert [r.id for r in (await admin.page("archived")).rows] == [gone]
    with pytest.raises(ValueError):
        await admin.page("deleted")


async def _card(s) -> int:
    return await s.scalar(insert(RateCard).values(
        name="Retail", currency="USD", direction="customer", **EDITABLE).returning(RateCard.id))


async def test_search_covers_every_searchable_field(admin, db):
    acme = await admin.create(raw("ACME Telecom"))
    other = await admin.create(raw("Other Carrier"))
    async with db.sessions() as s, s.begin():
        card = await _card(s)
        await s.execute(insert(Contact).values(customer_id=acme, name="Noc",
                                               email="noc@acme-voice.example", **EDITABLE))
        await s.execute(insert(IpAuth).values(customer_id=acme, host="203.0.113.77",
                                              **EDITABLE))
        await s.execute(insert(SipUser).values(customer_id=acme, username="acme_trunk7",
                                               password_hash="h", ha1="x", **EDITABLE))
        await s.execute(insert(Did).values(customer_id=acme, number="4420719460001",
                                           **EDITABLE))
        await s.execute(insert(IngressRoute).values(customer_id=acme, rate_card_id=card,
                                                    tech_prefix="7788#", **EDITABLE))
        await search.reindex(s, [acme, other])
    for q in ("acme telecom", "ACME", "noc@acme-voice", "203.0.113.77", "0.113", "ACME_TRUNK7",
              "4420719460001", "7788#"):
        page = await admin.page(query=q)
        assert [r.id for r in page.rows] == [acme], q
        assert page.total == 1, q
        assert await admin.find(q) == [(acme, "ACME Telecom", False)], q
    assert (await admin.page(query="carrier")).total == 1
    assert (await admin.page(query="nothing-like-it")).total == 0
    assert (await admin.page(query="")).total == 2


async def test_search_treats_like_wildcards_literally(admin):
    await admin.create(raw("100% Voice"))
    await admin.create(raw("Best_Route"))
    await admin.create(raw("Plain"))
    assert [r.name for r in (await admin.page(query="%")).rows] == ["100% Voice"]
    assert [r.name for r in (await admin.page(query="_")).rows] == ["Best_Route"]


async def test_search_follows_a_rename(admin):
    cid = await admin.create(raw("Old Name"))
    await admin.update(cid, 1, raw("New Name"))
    assert (await admin.page(query="old")).total == 0
    assert (await admin.page(query="new name")).total == 1


async def test_search_combines_with_status_filter(admin):
    await admin.create(raw("Voice A", status="active"))
    await admin.create(raw("Voice B", status="inactive"))
    assert [r.name for r in (await admin.page("inactive", "voice")).rows] == ["Voice B"]


async def test_auth_and_route_warning_flags(admin, db):
    cid = await admin.create(raw())
    row = (await admin.page()).rows[0]
    assert (row.has_auth, row.has_route, row.warning) == (False, False, "no auth, no route")
    async with db.sessions() as s, s.begin():
        card = await _card(s)
        await s.execute(insert(IpAuth).values(customer_id=cid, host="198.51.100.1",
                                              direction="egress", **EDITABLE))
        await s.execute(insert(IngressRoute).values(customer_id=cid, rate_card_id=card,
                                                    enabled=False, **EDITABLE))
        await search.reindex(s, [cid])
    row = (await admin.page()).rows[0]
    assert row.warning == "no auth, no route"  # egress auth and a disabled route don't count
    async with db.sessions() as s, s.begin():
        await s.execute(insert(SipUser).values(customer_id=cid, username="u1",
                                               password_hash="h", ha1="x", **EDITABLE))
        await search.reindex(s, [cid])
    row = (await admin.page()).rows[0]
    assert (row.has_auth, row.has_route, row.warning) == (True, False, "no route")
    async with db.sessions() as s, s.begin():
        await s.execute(insert(IngressRoute).values(customer_id=cid, rate_card_id=card,
                                                    **EDITABLE))
        await search.reindex(s, [cid])
    row = (await admin.page()).rows[0]
    assert (row.has_auth, row.has_route, row.warning) == (True, True, "")
    c = await admin.get(cid)
    assert (c.has_auth, c.has_route) == (True, True)


async def test_live_channels_count_dialogs(admin, db):
    cid = await admin.create(raw())
    async with db.sessions() as s, s.begin():
        for i in range(3):
            await s.execute(insert(Dialog).values(call_id=f"d{i}", customer_id=cid,
                                                  dialled="1", started_at=T0))
    assert (await admin.page()).rows[0].live_channels == 3
    assert (await admin.get(cid)).live_channels == 3


# -- roles --------------------------------------------------------------------------------
async def test_viewer_cannot_write(service, db):
    admin = service("admin")
    cid = await admin.create(raw())
    viewer = service("viewer")
    assert (await viewer.page()).total == 1  # reading is fine
    with pytest.raises(PermissionDenied, match="read-only"):
        await viewer.create(raw("Other"))
    with pytest.raises(PermissionDenied):
        await viewer.update(cid, 1, raw(channels="3"))
    with pytest.raises(PermissionDenied):
        await viewer.delete(cid)
    with pytest.raises(PermissionDenied):
        await viewer.restore(cid)
    assert await count(db, Customer) == 1
    assert (await admin.get(cid)).version == 1


async def test_operator_can_write_but_not_delete(service, db):
    op = service("operator")
    cid = await op.create(raw())
    await op.update(cid, 1, raw(channels="3"))
    with pytest.raises(PermissionDenied, match="admin"):
        await op.delete(cid)
    assert await count(db, Customer) == 1
    assert await service("admin").delete(cid) == "erase"
    assert await count(db, Customer) == 0


async def test_audit_is_per_customer(admin):
    a = await admin.create(raw("A"))
    b = await admin.create(raw("B"))
    await admin.update(b, 1, raw("B", channels="1"))
    assert [r.action for r in await admin.audit(a)] == ["create"]
    assert [r.action for r in await admin.audit(b)] == ["update", "create"]
    assert len(await admin.audit(b, limit=1)) == 1


async def test_timestamps_are_utc(admin, clock):
    clock.now = datetime(2025, 7, 1, 23, 30, tzinfo=UTC) + timedelta(microseconds=7)
    cid = await admin.create(raw())
    c = await admin.get(cid)
    assert c.created_at == clock.now and c.created_at.tzinfo is UTC


async def test_paging_by_key_neither_repeats_nor_skips_when_others_add_rows(admin):
    for i in range(6):
        await admin.create(raw(f"Carrier {i}"))
    first = await admin.rows("all", "", 0, 3)
    assert [r.name for r in first] == ["Carrier 0", "Carrier 1", "Carrier 2"]
    await admin.create(raw("AAA First"))  # sorts above what is already shown
    rest = await admin.rows("all", "", 0, 3, after=first[-1].name)
    assert [r.name for r in rest] == ["Carrier 3", "Carrier 4", "Carrier 5"]


async def test_a_name_whose_lower_case_is_longer_is_refused_cleanly(admin):
    with pytest.raises(ValidationError) as info:
        await admin.create(raw("İ" * 100))  # lower() doubles its length
    assert set(info.value.errors) == {"name"}

"""The package catalogue, assignments and the package job (§12) on SQLite and PostgreSQL:
each interval is charged exactly once (rerun, kill and rerun, two runs at once)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text

from connex_tui.data.access import Actor, PermissionDenied, StaleError
from connex_tui.data.db import Database
from connex_tui.data.jobs import run_jobs
from connex_tui.data.ledger import ledger_balance
from connex_tui.data.models import (
    AuditEntry,
    Customer,
    LedgerEntry,
    PackageRun,
    StatsRollup,
)
from connex_tui.data.packages import PackagesService, charge_packages
from connex_tui.engine.validation import ValidationError

ADMIN = Actor("alice", "admin")
FEE = {"name": "Platform fee", "kind": "recurring", "currency": "USD", "retail": "25",
       "setup_retail": "50", "frequency": "monthly", "match_days": "1"}


def t(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def pk(db, clock) -> PackagesService:
    return PackagesService(db, ADMIN, clock)


@pytest.fixture
async def acme(admin) -> int:
    return await admin.create({"name": "ACME", "currency": "USD"})


async def ledger_rows(db, cid: int | None = None) -> list[tuple]:
    async with db.sessions() as s:
        stmt = select(LedgerEntry.customer_id, LedgerEntry.amount, LedgerEntry.ref).where(
            LedgerEntry.kind == "package").order_by(LedgerEntry.id)
        if cid is not None:
            stmt = stmt.where(LedgerEntry.customer_id == cid)
        return [tuple(r) for r in await s.execute(stmt)]


async def balance(db, cid: int) -> Decimal:
    async with db.sessions() as s:
        cached = await s.scalar(select(Customer.balance).where(Customer.id == cid))
        assert cached == await ledger_balance(s, cid)
        return cached


async def test_catalogue_crud_is_validated_audited_and_locked(pk, db, clock):
    pid = await pk.create_package(FEE)
    with pytest.raises(ValidationError) as e:
        await pk.create_package({**FEE, "name": "platform FEE"})
    assert "name" in e.value.errors
    with pytest.raises(ValidationError) as e:
        await pk.create_package({**FEE, "name": "X", "retail": "1e3", "match_days": "mon"})
    assert set(e.value.errors) == {"retail", "match_days"}
    row = await pk.package(pid)
    assert row.retail == Decimal(25) and row.form_values()["retail"] == "25"
    await pk.update_package(pid, row.version, {**row.form_values(), "retail": "30"})
    with pytest.raises(StaleError):
        await pk.update_package(pid, row.version, {**row.form_values(), "retail": "31"})
    assert (await pk.package(pid)).retail == Decimal(30)
    with pytest.raises(PermissionDenied):
        await PackagesService(db, Actor("bob", "viewer"), clock).create_package(
            {**FEE, "name": "Y"})
    with pytest.raises(PermissionDenied):
        await PackagesService(db, Actor("bob", "operator"), clock).delete_package(pid)
    await pk.delete_package(pid)
    assert await pk.catalogue() == []
    async with db.sessions() as s:
        actions = [r for r, in await s.execute(select(AuditEntry.action).where(
            AuditEntry.table_name == "packages").order_by(AuditEntry.id))]
    assert actions == ["create", "update", "delete"]


async def test_assignment_currency_role_and_delete_guard(pk, acme, db, clock):
    eur = await pk.create_package({**FEE, "name": "Euro fee", "currency": "EUR"})
    with pytest.raises(ValidationError) as e:
        await pk.assign(acme, {"package_id": str(eur), "quantity": "1",
                               "start": "2025-03-01"})
    assert "EUR" in e.value.errors["package_id"]
    usd = await pk.create_package(FEE)
    assert await pk.choices(acme) == [(usd, "Platform fee")]
    with pytest.raises(PermissionDenied):
        await PackagesService(db, Actor("v", "viewer"), clock).assign(
            acme, {"package_id": str(usd), "quantity": "1", "start": "2025-03-01"})
    aid = await pk.assign(acme, {"package_id": str(usd), "quantity": "2",
                                 "start": "2025-03-01", "auto_decrement": True})
    with pytest.raises(ValidationError):
        await pk.delete_package(usd)
    with pytest.raises(ValidationError):
        await pk.update_package(usd, 1, {**FEE, "currency": "EUR"})
    row = await pk.assignment(aid)
    assert (row.package, row.quantity, row.start) == ("Platform fee", 2, t(2025, 3, 1))
    ended = await PackagesService(db, Actor("o", "operator"), clock).end_assignment(
        aid, row.version)
    assert ended == clock() and (await pk.assignment(aid)).end == clock()


async def test_run_charges_once_and_a_rerun_charges_nothing(pk, acme, db, clock):
    pid = await pk.create_package(FEE)
    await pk.assign(acme, {"package_id": str(pid), "quantity": "2", "start": "2025-02-10"})
    at = t(2025, 3, 14, 12, 30)
    first = await run_jobs(db, ADMIN, at, clock=clock)
    # the first interval (Feb 10: 2 x 25 + 2 x 50 setup) and March 1st (2 x 25)
    assert first.totals == {("package", "USD"): Decimal(200)}
    assert [a for _, a, _ in await ledger_rows(db)] == [Decimal(-150), Decimal(-50)]
    again = await run_jobs(db, ADMIN, at, clock=clock)
    assert again.count == 0
    assert await balance(db, acme) == Decimal(-200)
    later = await run_jobs(db, ADMIN, t(2025, 4, 1), clock=clock)
    assert later.totals == {("package", "USD"): Decimal(50)}
    preview = await pk.preview(acme, t(2025, 4, 2))
    assert preview.due == () and preview.next_at == t(2025, 5, 1)
    assert preview.next_amount == Decimal(50)


async def test_dry_run_writes_nothing(pk, acme, db, clock):
    pid = await pk.create_package(FEE)
    await pk.assign(acme, {"package_id": str(pid), "quantity": "1", "start": "2025-03-01"})
    dry = await run_jobs(db, Actor("v", "viewer"), t(2025, 3, 2), dry_run=True)
    assert dry.totals == {("package", "USD"): Decimal(75)}
    assert await ledger_rows(db) == []
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(PackageRun)) == 0
    with pytest.raises(PermissionDenied):
        await run_jobs(db, Actor("v", "viewer"), t(2025, 3, 2))


async def _customers(admin, pk, n: int) -> list[int]:
    pid = await pk.create_package({**FEE, "frequency": "daily", "match_days": ""})
    ids = []
    for i in range(n):
        cid = await admin.create({"name": f"C{i}", "currency": "USD"})
        await pk.assign(cid, {"package_id": str(pid), "quantity": "1",
                              "start": "2025-03-10"})
        ids.append(cid)
    return ids


async def test_kill_mid_run_then_rerun_charges_each_interval_once(pk, admin, db, clock):
    ids = await _customers(admin, pk, 5)
    at = t(2025, 3, 12, 6)

    class Killed(Exception):
        pass

    batches = []

    def kill_after_two(charges):
        batches.append(charges)
        if len(batches) == 2:
            raise Killed  # after the second batch committed: the third never starts

    with pytest.raises(Killed):
        await run_jobs(db, ADMIN, at, clock=clock, on_charges=kill_after_two, batch=1)
    # a batch in flight when killed rolls back whole
    with pytest.raises(Killed):
        async with db.sessions() as s, s.begin():
            await charge_packages(s, at, clock(), after_id=ids[-1] - 1)
            raise Killed
    assert len(await ledger_rows(db)) == 2 * 3  # two customers x three days
    await run_jobs(db, ADMIN, at, clock=clock, batch=2)
    rows = await ledger_rows(db)
    assert len(rows) == len({r for _, _, r in rows}) == 5 * 3
    for cid in ids:
        assert await balance(db, cid) == Decimal(-75 - 50)  # 3 days + setup


async def test_minimum_spend_from_rollups_and_auto_decrement_off(pk, acme, admin, db, clock):
    pid = await pk.create_package({**FEE, "name": "Min", "retail": "500",
                                   "minimum_spend": "500", "setup_retail": "0"})
    await pk.assign(acme, {"package_id": str(pid), "quantity": "1", "start": "2025-02-01"})
    other = await admin.create({"name": "Other", "currency": "USD"})
    await pk.assign(other, {"package_id": str(pid), "quantity": "1", "start": "2025-02-01",
                            "auto_decrement": False})
    async with db.sessions() as s, s.begin():
        await s.execute(insert(StatsRollup), [
            {"customer_id": acme, "grain": "h", "bucket": t(2025, 2, 3, 10),
             "charge": Decimal("120.5")},
            {"customer_id": acme, "grain": "h", "bucket": t(2025, 2, 20, 10),
             "charge": Decimal("79.5")},
            {"customer_id": acme, "grain": "h", "bucket": t(2025, 3, 2, 10),  # March
             "charge": Decimal("1000")}])
    assert (await run_jobs(db, ADMIN, t(2025, 2, 28, 23), clock=clock)).count == 0
    summary = await run_jobs(db, ADMIN, t(2025, 3, 1, 0, 5), clock=clock)
    assert summary.totals == {("package", "USD"): Decimal(300 + 500)}
    assert await ledger_rows(db) == [(acme, Decimal(-300), "package:1:2025-02-01T00:00")]
    assert await balance(db, other) == 0  # recorded, not posted
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(PackageRun)) == 2


async def test_two_runs_at_once_charge_each_interval_once(pk, admin, db, db_url, clock):
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers: PostgreSQL is the concurrent case")
    ids = await _customers(admin, pk, 6)
    other = Database(db_url)
    try:
        at = t(2025, 3, 12, 6)
        a, b = await asyncio.gather(run_jobs(db, ADMIN, at, clock=clock, batch=2),
                                    run_jobs(other, ADMIN, at, clock=clock, batch=3))
    finally:
        await other.dispose()
    assert a.count + b.count == 6 * 3
    assert len(await ledger_rows(db)) == 6 * 3
    for cid in ids:
        assert await balance(db, cid) == Decimal(-125)


async def test_a_charged_assignment_keeps_its_package_and_start(pk, acme, db, clock):
    pid = await pk.create_package(FEE)
    other = await pk.create_package({**FEE, "name": "Other"})
    aid = await pk.assign(acme, {"package_id": str(pid), "quantity": "1",
                                 "start": "2025-03-01"})
    await run_jobs(db, ADMIN, t(2025, 3, 2), clock=clock)
    row = await pk.assignment(aid)
    assert row.last_charged == t(2025, 3, 1)
    for change in ({"start": "2025-03-05"}, {"package_id": str(other)}):
        with pytest.raises(ValidationError):
            await pk.update_assignment(aid, row.version, {**row.form_values(), **change})
    await pk.update_assignment(aid, row.version, {**row.form_values(), "quantity": "4",
                                                  "end": "2025-06-01"})
    row = await pk.assignment(aid)
    assert (row.quantity, row.end) == (4, t(2025, 6, 1))
    with pytest.raises(StaleError):
        await pk.update_assignment(aid, row.version - 1, row.form_values())
    # the next intervals are charged at the new quantity; none from the end on
    for at in (t(2025, 4, 2), t(2025, 5, 20)):
        assert (await run_jobs(db, ADMIN, at, clock=clock)).totals == {
            ("package", "USD"): Decimal(4 * 25)}
    assert (await run_jobs(db, ADMIN, t(2025, 6, 2), clock=clock)).count == 0


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 24 * 30), st.booleans()), min_size=1, max_size=6))
async def test_property_runs_and_kills_never_charge_twice(pk, admin, db, clock, runs):
    """Runs at random times (within the catch-up window of the start), some killed after
    their first batch: every customer's balance equals its ledger, no interval is charged
    twice, and a last clean run leaves every day up to it charged once."""
    async with db.sessions() as s, s.begin():
        for table in ("ledger", "package_runs", "customer_packages", "packages", "audit_log",
                      "customers"):
            await s.execute(text(f"DELETE FROM {table}"))
    ids = await _customers(admin, pk, 3)

    class Killed(Exception):
        pass

    def kill(_charges):
        raise Killed

    times = sorted(t(2025, 3, 10) + timedelta(hours=h) for h, _ in runs)
    for at, (_, killed) in zip(times, sorted(runs), strict=True):
        with contextlib.suppress(Killed):
            await run_jobs(db, ADMIN, at, clock=clock, batch=1,
                           on_charges=kill if killed else None)
    await run_jobs(db, ADMIN, times[-1], clock=clock)
    rows = await ledger_rows(db)
    assert len(rows) == len({r for _, _, r in rows})
    days = (times[-1].date() - date(2025, 3, 10)).days + 1
    for cid in ids:
        assert await balance(db, cid) == -(Decimal(50) + 25 * days)

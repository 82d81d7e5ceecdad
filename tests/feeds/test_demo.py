"""The demo seeder: deterministic, every status, three currencies, ledger-consistent."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text

from connex_tui.data import passwords
from connex_tui.data.access import Actor
from connex_tui.data.calls import CallsService
from connex_tui.data.db import Database, upgrade
from connex_tui.data.snapshot import load_snapshot
from connex_tui.engine.money import billable_seconds, billed_seconds, call_charge, from_micro
from connex_tui.engine.pipeline import decide
from connex_tui.engine.snapshot import CallInput
from connex_tui.feeds.demo import DemoError, DemoOptions, seed
from connex_tui.feeds.demo.customers import DEMO_SIP_PASSWORD

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TABLES = ("customers", "contacts", "ip_auth", "sip_users", "ingress_routes", "rate_rows",
          "payments", "ledger", "cdrs", "stats_rollups", "stats_codes", "dids", "dialogs",
          "route_strategies", "route_card_filters", "routing_scripts", "cli_rules")


async def _seed(path, **kw):
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(db)
        summary = await seed(db, DemoOptions(now=NOW, **kw))
        async with db.engine.connect() as conn:
            dump = {t: (await conn.execute(text(f"SELECT * FROM {t} ORDER BY 1"))).all()
                    for t in TABLES}
        return summary, dump
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    return asyncio.run(_seed(d / "a.db", customers=40, days=1)), d


def test_same_options_give_the_same_database(seeded):
    (summary, dump), d = seeded
    summary2, dump2 = asyncio.run(_seed(d / "b.db", customers=40, days=1))
    assert summary == summary2
    assert dump == dump2


def _query(path, sql):
    async def go():
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            async with db.engine.connect() as conn:
                return (await conn.execute(text(sql))).all()
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_demo_covers_every_status_currencies_and_archive(seeded):
    (_, dump), d = seeded
    db = d / "a.db"
    assert {s for (s,) in _query(db, "SELECT DISTINCT status FROM customers")} == {
        "active", "inactive", "pending_approval", "penalty"}
    assert len(_query(db, "SELECT DISTINCT currency FROM customers")) >= 3
    assert _query(db, "SELECT count(*) FROM customers WHERE archived_at IS NOT NULL")[0][0] >= 1
    assert _query(db, "SELECT count(*) FROM customers WHERE NOT has_auth OR NOT has_route")[0][0]
    assert len(dump["customers"]) == 40
    assert len(dump["cdrs"]) > 1000 and dump["payments"] and dump["dids"]


def test_every_balance_is_the_sum_of_its_ledger(seeded):
    _, d = seeded
    assert _query(d / "a.db", "SELECT count(*) FROM customers c WHERE balance != "
                  "(SELECT coalesce(sum(amount), 0) FROM ledger l "
                  "WHERE l.customer_id = c.id)")[0][0] == 0


def test_seeding_refuses_a_database_that_has_customers(seeded):
    _, d = seeded
    with pytest.raises(DemoError):
        asyncio.run(_seed(d / "a.db", customers=3, days=0))


def test_sip_users_have_the_documented_password(seeded):
    (_, dump), d = seeded
    users = _query(d / "a.db", "SELECT username, password_hash, ha1 FROM sip_users")
    assert users
    hashes = {h for _, h, _ in users}
    assert len(hashes) == 1  # hashed once per seed
    assert passwords.verify_password(hashes.pop(), DEMO_SIP_PASSWORD)
    assert all(ha1 == passwords.ha1(u, DEMO_SIP_PASSWORD) for u, _, ha1 in users)


def test_routing_showcase_configuration(seeded):
    _, d = seeded
    db = d / "a.db"
    modes = {m for (m,) in _query(db, "SELECT mode FROM route_strategies")}
    assert {"lcr", "priority", "drop", "weighted"} <= modes
    assert {k for (k,) in _query(db, "SELECT kind FROM route_card_filters")} == {
        "lock", "exclude"}
    assert _query(db, "SELECT count(*) FROM ingress_routes r JOIN routing_scripts s "
                  "ON s.id = r.script_id")[0][0] == 1
    assert _query(db, "SELECT count(*) FROM ingress_routes WHERE profit_assurance AND "
                  "capped_rate IS NOT NULL")[0][0] >= 1
    assert _query(db, "SELECT count(*) FROM cli_rules WHERE forced AND p_asserted_id != ''"
                  )[0][0] >= 1
    assert _query(db, "SELECT count(*) FROM cli_rules WHERE NOT forced AND rewrite_cli "
                  "LIKE '%\\1' AND p_asserted_id != ''")[0][0] >= 1


def test_simulations_in_latest_calls_show_the_engine(seeded):
    _, d = seeded
    rows = _query(d / "a.db", "SELECT call_id, customer_id, sip_code, sip_reason, detail, "
                  "charge FROM cdrs WHERE simulated ORDER BY started_at")
    assert all(r[0].startswith("SIM-") and r[1] and r[4] and r[5] == 0 for r in rows)
    assert {(code, reason) for _, _, code, reason, _, _ in rows} >= {
        (200, "OK"), (403, "UK personal numbers not allowed"),
        (503, "Dropping Call (Strategy)"), (503, "Capped Rate"),
        (403, "CLI Restriction In Effect")}
    assert any("moved first" in line for r in rows for line in json.loads(r[4])["trace"])


async def test_a_stored_simulation_decides_the_same_again(seeded):
    """The showcase was decided against the configuration the loader reads back."""
    _, d = seeded
    db = Database(f"sqlite+aiosqlite:///{d / 'a.db'}")
    try:
        calls = CallsService(db, Actor("viewer", "viewer"), lambda: NOW)
        async with db.engine.connect() as conn:
            sims = (await conn.execute(text(
                "SELECT call_id, dialled, cli_in, source_ip, started_at FROM cdrs "
                "WHERE simulated"))).all()
        for call_id, dialled, cli, ip, at in sims:
            stored = await calls.reopen(call_id)
            again = await calls.simulate(CallInput(
                dialled, cli, ip, at=datetime.fromisoformat(at).replace(tzinfo=UTC),
                switch_ip="198.51.100.10"))
            assert (again.result.sip_code, again.result.reason, again.result.providers) == (
                stored.sip_code, stored.reason, stored.providers)
    finally:
        await db.dispose()


async def test_config_export_then_apply_changes_nothing_on_demo_data(seeded):
    """The demo is written in the validators' normal form: an operator's first
    `config export` + `config apply` must not report phantom changes."""
    from connex_tui.data.access import Actor
    from connex_tui.feeds.config_apply import apply_config
    from connex_tui.feeds.config_export import export_config

    _, d = seeded
    db = Database(f"sqlite+aiosqlite:///{d / 'a.db'}")
    try:
        path = d / "config.yaml"
        path.write_text(await export_config(db, path))
        report = await apply_config(db, Actor("tester", "admin"), path, dry_run=True)
    finally:
        await db.dispose()
    assert (report.errors, report.changes) == ([], [])


# Answers that depend on the moment (status, running balance, calls in the same second),
# which the stored CDR does not carry.
_MOMENT = ("Account Inactive", "Account Penalty", "Payment Required", "CPS Limit",
           "Channel Limit")


async def test_history_cdrs_are_the_engines_decisions(seeded):
    """Each demo CDR is what decide() makes of its call (number as dialled, CLI, source
    IP, time) against the configuration the seeder wrote: same customer, answer, route,
    rate, CLI sent and provider, and the charge of its duration on the customer's card.
    The showcase customers are left out: their routing was changed after their history."""
    _, d = seeded
    db = Database(f"sqlite+aiosqlite:///{d / 'a.db'}")
    try:
        snap = await load_snapshot(db, archived=True)
        async with db.engine.connect() as conn:
            cdrs = (await conn.execute(text(
                "SELECT dialled, cli_in, source_ip, started_at, customer_id, sip_code, "
                "sip_reason, release_reason, route_id, prefix, rate, connect_fee, "
                "provider_id, duration_ms, billed_s, charge, cli_out FROM cdrs "
                "WHERE NOT simulated AND customer_id NOT IN "
                "(SELECT customer_id FROM cdrs WHERE simulated)"))).all()
    finally:
        await db.dispose()
    for cid, c in snap.customers.items():  # as it was while trading: active, in credit
        snap.customers[cid] = replace(c, status="active", balance=Decimal(10 ** 6))
    checked, rejections, answered = 0, set(), 0
    for r in cdrs:
        if r.sip_reason.startswith(_MOMENT):
            continue
        result = decide(snap, CallInput(r.dialled, r.cli_in, r.source_ip, at=datetime.fromisoformat(
            r.started_at).replace(tzinfo=UTC)))
        checked += 1
        if r.release_reason == "rejected":
            assert (result.sip_code, result.reason) == (r.sip_code, r.sip_reason), r
            rejections.add(r.sip_reason)
            continue
        assert result.allowed, (r, result.reason)
        assert (result.customer_id, result.route_id, result.prefix, result.cli_out) == (
            r.customer_id, r.route_id, r.prefix, r.cli_out)
        assert (result.rate, result.connect_fee) == (from_micro(r.rate),
                                                     from_micro(r.connect_fee))
        assert r.provider_id in [p.provider_id for p in result.providers[:2]]
        card = snap.cards[result.card_id]
        billed = billed_seconds(billable_seconds(r.duration_ms), result.mcd, result.pulse)
        charge = call_charge(billed, result.rate, result.connect_fee,
                             answered=r.duration_ms > 0, precision=card.precision,
                             rounding=card.rounding) if r.duration_ms else Decimal(0)
        assert (r.billed_s if r.duration_ms else 0, from_micro(r.charge)) == (
            billed if r.duration_ms else 0, charge), r
        answered += r.duration_ms > 0
    assert checked > 1000 and answered > 500
    assert {"Capped Rate", "Destination Blocked"} & rejections


# -- an interrupted seeding -------------------------------------------------------------
class _Killed(Exception):
    """Stands for the process being killed midway."""


def _kill_after_the_history(monkeypatch) -> None:
    from connex_tui.feeds.demo import seeder

    async def killed(*_args, **_kw):
        raise _Killed

    monkeypatch.setattr(seeder, "write_dialogs", killed)


SMALL = DemoOptions(customers=5, days=1, now=NOW)


def _count(url: str, sql: str) -> int:
    async def go():
        db = Database(url)
        try:
            async with db.engine.connect() as conn:
                return (await conn.execute(text(sql))).scalar()
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_a_killed_seeding_leaves_no_file_and_the_next_run_succeeds(tmp_path, monkeypatch):
    from connex_tui.feeds.demo import seed_database

    path = tmp_path / "connex.db"
    url = f"sqlite+aiosqlite:///{path}"
    with monkeypatch.context() as m:
        _kill_after_the_history(m)
        with pytest.raises(_Killed):
            asyncio.run(seed_database(url, SMALL, prepare=upgrade))
    assert not path.exists()  # the app never opens a half-filled demo
    summary = asyncio.run(seed_database(url, SMALL, prepare=upgrade))
    assert summary.startswith("5 customers")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))
                  ) == ["connex.db"]
    assert _count(url, "SELECT count(*) FROM customers") == 5
    assert _count(url, "SELECT count(*) FROM operators WHERE name LIKE '(%'") == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_left_half_filled_is_redone_by_the_next_run(backend, tmp_path,
                                                               monkeypatch):
    """Where no staging file is possible (PostgreSQL), the seeding's marker tells the next
    run that every row is from the broken seeding."""
    if backend == "postgresql":
        url = os.environ.get("CONNEX_TEST_PG_URL", "").strip()
        if not url:
            pytest.skip("CONNEX_TEST_PG_URL not set")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'half.db'}"

    async def run():
        db = Database(url)
        try:
            await upgrade(db)
            if backend == "postgresql":
                from connex_tui.data.models import Base

                tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
                async with db.engine.begin() as conn:
                    await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            with monkeypatch.context() as m:
                _kill_after_the_history(m)
                with pytest.raises(_Killed):
                    await seed(db, SMALL)
            return await seed(db, SMALL)
        finally:
            await db.dispose()

    assert asyncio.run(run()).startswith("5 customers")
    assert _count(url, "SELECT count(*) FROM customers") == 5
    assert _count(url, "SELECT count(*) FROM operators WHERE name LIKE '(%'") == 0


def test_now_out_of_range_is_one_line_and_writes_nothing(tmp_path, capsys):
    from connex_tui.cli.commands import main

    path = tmp_path / "x.db"
    for now in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00"):
        code = main(["demo", "seed", "--now", now, "--database-url",
                     f"sqlite+aiosqlite:///{path}"])
        err = capsys.readouterr().err
        assert (code, err.count("\n"), err.startswith("connex-tui: --now")) == (2, 1, True)
    assert not path.exists()

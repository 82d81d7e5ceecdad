"""AlertsService (docs/domain.md §10) on SQLite and PostgreSQL: CRUD (roles, audit,
optimistic lock), the evaluator's penalty lifecycle with a frozen clock, no double firing
with two evaluators, and alert mail end to end over a loopback SMTP server."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from connex_tui.data.access import Actor, PermissionDenied, StaleError
from connex_tui.data.alerts import AlertsService
from connex_tui.data.models import Alert, AlertEvent, AuditEntry, Customer
from connex_tui.engine.validation import ValidationError
from connex_tui.feeds.alert_job import run_once
from connex_tui.feeds.mail import SmtpSettings
from tests.data.conftest import NOW
from tests.data.test_cdr_writer import cdr, write

ASR_ALERT = {"title": "ASR below 20%", "recipients": "noc@acme.example, +4930123456",
             "area": "asr", "operator": "<", "threshold": "20", "reset_threshold": "30",
             "sample_minutes": "60", "min_attempts": "5", "penalty_minutes": "120",
             "repeat": "hourly", "enabled": True}


def alerts(db, clock, role: str = "admin") -> AlertsService:
    return AlertsService(db, Actor(role, role), clock)


async def bad_traffic(db, cid: int, *, answered: int = 1, failed: int = 9,
                      at=NOW) -> None:
    """`answered` + `failed` attempts in the 10 minutes before `at`."""
    start = at - timedelta(minutes=10)
    rows = [cdr(cid, start + timedelta(seconds=i), duration_ms=30_000, billed_s=30)
            for i in range(answered)]
    rows += [cdr(cid, start + timedelta(seconds=30 + i), answered=False, code=503)
             for i in range(failed)]
    await write(db, rows)


async def status(db, cid: int) -> str:
    async with db.sessions() as s:
        return await s.scalar(select(Customer.status).where(Customer.id == cid))


async def events(db) -> list[str]:
    async with db.sessions() as s:
        return list(await s.scalars(select(AlertEvent.message).order_by(AlertEvent.id)))


async def audit_rows(db, table: str) -> list[tuple[str, str, dict]]:
    async with db.sessions() as s:
        rows = await s.execute(select(AuditEntry.operator, AuditEntry.action,
                                      AuditEntry.changes)
                               .where(AuditEntry.table_name == table).order_by(AuditEntry.id))
        return [(o, a, json.loads(c)) for o, a, c in rows]


async def test_crud_roles_audit_and_lock(admin, db, clock):
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    svc = alerts(db, clock)
    aid = await svc.create(cid, ASR_ALERT)
    [row] = await svc.alerts(cid)
    assert (row.title, row.condition, row.recipients, row.state, row.penalty_minutes) == (
        "ASR below 20%", "ASR < 20 %", "noc@acme.example, +4930123456", "ready", 120)
    with pytest.raises(ValidationError) as err:
        await svc.create(cid, {**ASR_ALERT, "title": "asr BELOW 20%"})
    assert "title" in err.value.errors
    with pytest.raises(ValidationError) as err:
        await svc.create(cid, {**ASR_ALERT, "title": "x", "threshold": "1e3",
                               "recipients": "nobody"})
    assert set(err.value.errors) == {"threshold", "recipients"}
    with pytest.raises(PermissionDenied):
        await alerts(db, clock, "viewer").create(cid, {**ASR_ALERT, "title": "y"})
    await alerts(db, clock, "operator").update(aid, row.version,
                                              {**ASR_ALERT, "threshold": "15"})
    with pytest.raises(StaleError):  # the form read version 1; it is 2 now
        await svc.update(aid, row.version, {**ASR_ALERT, "threshold": "10"})
    assert (await svc.get(aid)).threshold == 15
    with pytest.raises(PermissionDenied):
        await alerts(db, clock, "operator").delete(aid)
    await svc.delete(aid)
    assert await svc.alerts(cid) == []
    assert [(a, c.get("threshold")) for _, a, c in await audit_rows(db, "alerts")] == [
        ("create", [None, "20"]), ("update", ["20", "15"]), ("delete", ["15", None])]
    assert len(await audit_rows(db, "alerts")) == 3


async def test_penalty_lifecycle_with_frozen_clock(admin, db, clock):
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    svc = alerts(db, clock)
    aid = await svc.create(cid, ASR_ALERT)
    await bad_traffic(db, cid)  # ASR 10 % over 10 attempts

    test = await svc.test(aid)  # Test: says what would happen, writes nothing
    assert (test.decision.action, test.value) == ("fire", "10 %")
    assert "Condition: ASR < 20 %" in test.mail.body
    assert await status(db, cid) == "active" and await events(db) == []

    assert [r.alerted for r in await admin.rows()] == [False]
    [out] = await svc.evaluate()
    assert (out.decision.action, out.decision.state) == ("fire", "penalty")
    assert await status(db, cid) == "penalty"
    assert [r.alerted for r in await admin.rows()] == [True]  # the list's mark
    row = await svc.get(aid)
    assert (row.state, row.last_fired_at, row.penalty_until) == (
        "penalty", NOW, NOW + timedelta(minutes=120))
    [message] = await events(db)
    assert "customer in penalty until" in message
    assert "no SMS gateway: +4930123456" in message
    assert out.mail.to == ["noc@acme.example"]

    clock.advance(minutes=119)  # still in penalty: nothing happens
    assert await svc.evaluate() == []
    clock.advance(minutes=1)  # over: back to active, audited as "alerts"
    [out] = await svc.evaluate()
    assert out.decision.action == "end_penalty"
    assert await status(db, cid) == "active"
    assert (await svc.get(aid)).state == "ready"
    assert [r.alerted for r in await admin.rows()] == [False]
    customer_audit = [(o, c) for o, a, c in await audit_rows(db, "customers") if a == "update"]
    assert customer_audit == [("alerts", {"status": ["active", "penalty"]}),
                              ("alerts", {"status": ["penalty", "active"]})]
    assert "customer back to active" in (await events(db))[-1]
    assert [e.title for e in await svc.events(cid)] == ["ASR below 20%"] * 2


async def test_rearm_repeat_and_attempts_gate(admin, db, clock):
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    svc = alerts(db, clock)
    raw = {**ASR_ALERT, "penalty_minutes": "", "min_attempts": "20"}
    aid = await svc.create(cid, raw)
    await bad_traffic(db, cid)
    assert await svc.evaluate() == []  # 10 attempts < 20: an ASR cannot trip on them
    await svc.update(aid, 1, {**raw, "min_attempts": "5"})
    [out] = await svc.evaluate()
    assert out.decision.state == "fired" and await status(db, cid) == "active"
    clock.advance(minutes=30)
    assert await svc.evaluate() == []  # fired; hourly repeat not due yet
    clock.advance(minutes=30)
    assert await svc.evaluate() == []  # the sample (the last hour) has no attempts now
    await bad_traffic(db, cid, at=clock.now)
    [out] = await svc.evaluate()
    assert out.decision.action == "repeat"
    # good traffic: ASR back over the reset threshold (30 %) re-arms it
    start = clock.now - timedelta(minutes=5)
    await write(db, [cdr(cid, start + timedelta(seconds=i), duration_ms=1000)
                     for i in range(40)])
    [out] = await svc.evaluate()
    assert (out.decision.action, (await svc.get(aid)).state) == ("rearm", "ready")


async def test_two_evaluators_never_fire_twice(admin, db, clock):
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    first, second = alerts(db, clock), alerts(db, clock)
    aid = await first.create(cid, {**ASR_ALERT, "penalty_minutes": ""})
    await bad_traffic(db, cid)
    # both read the alert ready; the first to write wins, the second skips
    stale = await first.get(aid)
    [a] = await first.evaluate()
    async with db.sessions() as s:  # replay the second evaluator's write on its stale read
        row = await s.get(Alert, aid)
        s.expunge(row)
    row.state, row.last_fired_at, row.penalty_until = (stale.state, stale.last_fired_at,
                                                       stale.penalty_until)
    b = await second._one(row, "Acme", "USD", Decimal(10), 10, clock.now, False)
    assert a.event_id is not None and b.skipped and b.event_id is None and b.mail is None
    assert len(await events(db)) == 1
    assert await second.evaluate() == []  # and evaluating again finds it fired already


async def test_alert_mail_end_to_end(admin, db, clock, smtp_server):
    host, port, inbox = smtp_server
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    svc = alerts(db, clock)
    await svc.create(cid, {"title": "Low balance", "recipients": "noc@acme.example",
                           "area": "balance", "operator": "<", "threshold": "50",
                           "repeat": "daily"})
    settings = SmtpSettings(host, port, tls="none", sender="alerts@carrier.example")
    [out] = await run_once(svc, settings)
    assert out.decision.action == "fire"
    [(sender, rcpts, msg)] = inbox.messages
    assert (sender, rcpts) == ("alerts@carrier.example", ["noc@acme.example"])
    assert msg["Subject"] == "Alert: Acme: Low balance"
    assert "Value:     0.00 USD" in msg.get_content()
    assert (await events(db))[0].endswith("mailed noc@acme.example")

    # a dead server: the failure is noted in the event, nothing retried
    clock.advance(days=1)
    dead = SmtpSettings(host, 1, tls="none", sender="alerts@carrier.example", timeout=2)
    [out] = await run_once(svc, dead)
    assert out.decision.action == "repeat"
    assert "via 127.0.0.1:1 failed" in (await events(db))[-1]
    assert len(inbox.messages) == 1


async def test_a_penalty_ends_when_its_alert_is_disabled_or_deleted(admin, db, clock):
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    svc = alerts(db, clock)
    raw = {"title": "Broke", "area": "balance", "operator": "<", "threshold": "0",
           "penalty_minutes": "30"}
    aid = await svc.create(cid, {**raw, "threshold": "1"})
    await svc.evaluate()
    assert await status(db, cid) == "penalty"
    await svc.update(aid, 1, {**raw, "threshold": "1", "enabled": False})
    test = await svc.test(aid)
    assert "disabled" in test.note
    clock.advance(minutes=30)  # disabled, but its penalty still ends on time
    [out] = await svc.evaluate()
    assert out.decision.action == "end_penalty" and await status(db, cid) == "active"

    other = await svc.create(cid, {**raw, "title": "Broke again", "threshold": "1"})
    clock.advance(minutes=1)
    await svc.evaluate()
    assert await status(db, cid) == "penalty"
    await svc.delete(other)  # deleting the alert ends its penalty, audited as who deleted
    assert await status(db, cid) == "active"
    [(who, changes)] = [(o, c) for o, a, c in await audit_rows(db, "customers")
                        if a == "update"][-1:]
    assert (who, changes) == ("admin", {"status": ["penalty", "active"]})


async def test_always_fires_once_and_again_after_being_enabled_again(admin, db, clock):
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    svc = alerts(db, clock)
    raw = {**ASR_ALERT, "title": "Balance notice", "area": "balance", "operator": "always",
           "threshold": "0", "reset_threshold": "", "min_attempts": "0",
           "penalty_minutes": "", "repeat": "none"}
    aid = await svc.create(cid, raw)
    [out] = await svc.evaluate()
    assert out.decision.action == "fire"
    clock.advance(hours=5)
    assert await svc.evaluate() == []  # a one-off: not once a minute for ever
    version = (await svc.get(aid)).version
    await svc.update(aid, version, {**raw, "enabled": False})
    await svc.update(aid, version + 1, {**raw, "enabled": True})
    assert (await svc.get(aid)).state == "ready"
    [out] = await svc.evaluate()
    assert out.decision.action == "fire"

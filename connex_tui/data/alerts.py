"""A customer's alerts (docs/domain.md §10): CRUD, fired-event history, and the evaluator.

The evaluator (`evaluate`) walks the enabled alerts in id batches. For each it reads the
area's value over the alert's sample from the stats rollups (never the CDRs), asks
engine.alerts.decide what happens, and writes the outcome in ONE transaction: the alert's
state, an event, and the customer's `penalty` status when a penalty starts or ends (audited
as the operator "alerts"). That write is conditional on the state it read (state,
last_fired_at, penalty_until), so two evaluators at once (two consoles, a console and
`alerts run`) never fire an alert twice: the second finds the state changed and skips.
The evaluator's writes do not bump the alert's `version`, so an operator editing the alert
meanwhile is not refused for it.

Mail is not sent here (data/ does no network I/O): an outcome that fired carries the mail
to send; feeds/alert_job sends it after the commit and records how it went in the event
(`note_event`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data import audit
from connex_tui.data.access import Actor, NotFound
from connex_tui.data.config_write import (
    ConfigWrites,
    get_or_404,
    plain_decimal,
    snapshot_of,
)
from connex_tui.data.db import Database
from connex_tui.data.models import Alert, AlertEvent, Customer, Dialog, StatsRollup
from connex_tui.engine.alerts import (
    AlertInput,
    Decision,
    Rule,
    condition_text,
    decide,
    mail_text,
    split_recipients,
    validate_alert,
    value_text,
)
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.stats import Summary, Sums, ceil_hour
from connex_tui.engine.validation import ValidationError

FIELDS = tuple(AlertInput.__dataclass_fields__)
SYSTEM = Actor("alerts", "admin")  # who the evaluator's writes are audited as
BATCH = 200  # alerts read per query
TITLE_TAKEN = "this customer already has an alert with this title"


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    version: int
    customer_id: int
    title: str
    recipients: str
    area: str
    operator: str
    threshold: Decimal
    reset_threshold: Decimal | None
    sample_minutes: int
    min_attempts: int
    penalty_minutes: int | None
    repeat: str
    enabled: bool
    state: str
    last_fired_at: datetime | None
    penalty_until: datetime | None
    currency: str = ""

    @property
    def condition(self) -> str:
        return condition_text(self.area, self.operator, self.threshold, self.currency)

    def form_values(self) -> dict[str, str | bool]:
        return {"title": self.title, "recipients": self.recipients, "area": self.area,
                "operator": self.operator, "threshold": plain_decimal(self.threshold),
                "reset_threshold": plain_decimal(self.reset_threshold),
                "sample_minutes": str(self.sample_minutes),
                "min_attempts": str(self.min_attempts),
                "penalty_minutes": str(self.penalty_minutes or ""), "repeat": self.repeat,
                "enabled": self.enabled}


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    alert_id: int
    title: str
    at: datetime
    value: str
    message: str


@dataclass(frozen=True, slots=True)
class Mail:
    to: list[str]
    numbers: list[str]  # E.164 recipients: no SMS gateway, noted in the event
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the evaluator did (or, dry run, would do) with one alert."""

    alert_id: int
    customer_id: int
    customer: str
    title: str
    condition: str
    value: str
    attempts: int
    decision: Decision
    event_id: int | None = None  # the event written (None: dry run, stay, or lost race)
    mail: Mail | None = None
    note: str = ""  # what happened beside the alert (the customer's status)
    skipped: bool = False  # another evaluator changed the alert first: nothing written

    def line(self) -> str:
        """One line for the command and the Test dialog."""
        d = self.decision
        return (f"#{self.alert_id} {self.customer} / {self.title}: {self.condition}; value "
                f"{self.value}, {self.attempts} attempts -> {d.action} ({d.reason})"
                + (f"; {self.note}" if self.note else "")
                + (" [skipped: changed by another evaluator]" if self.skipped else ""))


def _row(a: Alert, currency: str = "") -> AlertRow:
    return AlertRow(a.id, a.version, a.customer_id, a.title, a.recipients, a.area,
                    a.operator, a.threshold, a.reset_threshold, a.sample_minutes,
                    a.min_attempts, a.penalty_minutes, a.repeat, a.enabled, a.state,
                    a.last_fired_at, a.penalty_until, currency)


def _audited(a: Alert) -> dict:
    """The audited fields of a stored alert (a Decimal as typed: 20, not 20.000000)."""
    return {k: Decimal(plain_decimal(v)) if isinstance(v, Decimal) else v
            for k, v in snapshot_of(a, FIELDS).items()}


def _rule(a: Alert) -> Rule:
    return Rule(a.area, a.operator, a.threshold, a.reset_threshold, a.min_attempts,
                a.penalty_minutes, a.repeat, a.state, a.last_fired_at, a.penalty_until)


async def _check_title(s: AsyncSession, customer_id: int, title: str,
                       own_id: int | None) -> None:
    stmt = select(Alert.id).where(Alert.customer_id == customer_id,
                                  func.lower(Alert.title) == title.lower())
    if own_id is not None:
        stmt = stmt.where(Alert.id != own_id)
    if await s.scalar(stmt.limit(1)) is not None:
        raise ValidationError({"title": TITLE_TAKEN})


class AlertsService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor
        self.clock = clock

    # -- reading ------------------------------------------------------------------------
    async def alerts(self, customer_id: int) -> list[AlertRow]:
        async with self.db.sessions() as s:
            currency = await s.scalar(select(Customer.currency).where(
                Customer.id == customer_id)) or ""
            rows = await s.scalars(select(Alert).where(Alert.customer_id == customer_id)
                                   .order_by(func.lower(Alert.title), Alert.id))
            return [_row(a, currency) for a in rows]

    async def get(self, alert_id: int) -> AlertRow:
        async with self.db.sessions() as s:
            a = await get_or_404(s, Alert, alert_id, "alert")
            currency = await s.scalar(select(Customer.currency).where(
                Customer.id == a.customer_id)) or ""
            return _row(a, currency)

    async def listing(self, customer: str | None = None
                      ) -> list[tuple[str, AlertRow]]:
        """(customer name, alert) of every alert, or of one customer's (NotFound)."""
        stmt = (select(Customer.name, Customer.currency, Alert)
                .join(Customer, Customer.id == Alert.customer_id)
                .order_by(Customer.name_key, func.lower(Alert.title), Alert.id))
        async with self.db.sessions() as s:
            if customer is not None:
                cid = await s.scalar(select(Customer.id).where(
                    Customer.name_key == customer.lower()))
                if cid is None:
                    raise NotFound(f"no customer named {customer!r}")
                stmt = stmt.where(Alert.customer_id == cid)
            return [(name, _row(a, cur)) for name, cur, a in await s.execute(stmt)]

    async def events(self, customer_id: int, limit: int = 100) -> list[EventRow]:
        """The customer's fired-event history, newest first."""
        stmt = (select(AlertEvent.id, AlertEvent.alert_id, Alert.title, AlertEvent.at,
                       AlertEvent.value, AlertEvent.message)
                .join(Alert, Alert.id == AlertEvent.alert_id)
                .where(Alert.customer_id == customer_id)
                .order_by(AlertEvent.at.desc(), AlertEvent.id.desc()).limit(limit))
        async with self.db.sessions() as s:
            return [EventRow(*r) for r in await s.execute(stmt)]

    # -- writing ------------------------------------------------------------------------
    async def create(self, customer_id: int, raw: dict) -> int:
        self.actor.require("write")
        data = validate_alert(raw)
        async with self.db.sessions() as s, s.begin():
            await get_or_404(s, Customer, customer_id, "customer")
            await _check_title(s, customer_id, data.title, None)
            w = ConfigWrites(s, self.actor, self.clock())
            alert_id = await w.insert(Alert, {**asdict(data), "customer_id": customer_id,
                                              "state": "ready"})
            await w.audit("create", "alerts", alert_id, None, asdict(data),
                          customer_id=customer_id, routing=False)
        return alert_id

    async def update(self, alert_id: int, version: int, raw: dict) -> None:
        """Save an edit read at `version`; StaleError if an operator saved in between
        (the evaluator's state changes do not count)."""
        self.actor.require("write")
        data = validate_alert(raw)
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, Alert, alert_id, "alert")
            await _check_title(s, current.customer_id, data.title, alert_id)
            before = _audited(current)
            changes = asdict(data)
            if data.enabled and not current.enabled and current.state == "fired":
                changes["state"] = "ready"  # enabling again re-arms it (a one-off fires again)
            w = ConfigWrites(s, self.actor, self.clock())
            await w.update(Alert, _Versioned(alert_id, version), changes, "alert")
            await w.audit("update", "alerts", alert_id, before, asdict(data),
                          customer_id=current.customer_id, routing=False)

    async def delete(self, alert_id: int) -> None:
        self.actor.require("delete")
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, Alert, alert_id, "alert")
            before = _audited(current)
            w = ConfigWrites(s, self.actor, self.clock())
            await w.delete(Alert, alert_id)
            await w.audit("delete", "alerts", alert_id, before, None,
                          customer_id=current.customer_id, routing=False)
            if current.state == "penalty":  # its penalty ends with it
                await _end_penalty(s, current.customer_id, alert_id, w.now, self.actor)

    async def note_event(self, event_id: int, note: str) -> None:
        """Add what happened to the mail to an event (the job, after sending)."""
        async with self.db.sessions() as s, s.begin():
            ev = await s.get(AlertEvent, event_id)
            if ev is not None:
                ev.message = f"{ev.message}; {note}" if ev.message else note

    # -- the evaluator ------------------------------------------------------------------
    async def test(self, alert_id: int) -> Outcome:
        """What the alert would do now, without doing it (every role may ask)."""
        out = await self.evaluate(dry_run=True, alert_ids=[alert_id])
        if not out:
            raise NotFound(f"alert {alert_id} not found")
        return out[0]

    async def evaluate(self, now: datetime | None = None, *, dry_run: bool = False,
                       alert_ids: list[int] | None = None) -> list[Outcome]:
        """Evaluate every enabled alert of a customer not archived (or the given alerts,
        enabled or not). Returns the outcome of each alert that did (or would do)
        something, and with `alert_ids` of every one asked."""
        if not dry_run:
            self.actor.require("write")
        now = now or self.clock()
        outcomes: list[Outcome] = []
        last = 0
        while True:
            stmt = (select(Alert, Customer.name, Customer.currency, Customer.balance)
                    .join(Customer, Customer.id == Alert.customer_id)
                    .where(Alert.id > last).order_by(Alert.id).limit(BATCH))
            if alert_ids is not None:
                stmt = stmt.where(Alert.id.in_(alert_ids))
            else:
                # a disabled alert still ends the penalty it started
                stmt = stmt.where(or_(Alert.enabled.is_(True), Alert.state == "penalty"),
                                  Customer.archived_at.is_(None))
            async with self.db.sessions() as s:  # the batch and its values: one session
                batch = (await s.execute(stmt)).all()
                s.expunge_all()
                values = [await self._value(s, alert, balance, now)
                          for alert, _n, _c, balance in batch]
            if not batch:
                return outcomes
            for (alert, name, currency, _b), (value, attempts) in zip(batch, values,
                                                                      strict=True):
                last = alert.id
                out = await self._one(alert, name, currency, value, attempts, now, dry_run)
                if out.decision.writes or alert_ids is not None:
                    outcomes.append(out)
            if len(batch) < BATCH:
                return outcomes

    async def _value(self, s: AsyncSession, a: Alert, balance: Decimal, now: datetime
                     ) -> tuple[Decimal | None, int]:
        """The area's value over the alert's sample, and the sample's attempts: one query
        of the rollups (the minute rows up to the sample's first whole hour, the hour rows
        after it, as the stats' Live period reads them), the KPIs from engine.stats."""
        if a.area == "balance":
            return balance, 0
        if a.area == "channels":  # live now, from the dialogs table
            live = await s.scalar(select(func.count()).select_from(Dialog).where(
                Dialog.customer_id == a.customer_id))
            return Decimal(int(live or 0)), 0
        start = (now - timedelta(minutes=a.sample_minutes)).replace(second=0, microsecond=0)
        first_hour = ceil_hour(start)
        r = StatsRollup
        row = (await s.execute(select(
            func.sum(r.attempts), func.sum(r.connected), func.sum(r.duration_ms),
            func.sum(r.billed_s), func.sum(r.pdd_sum_ms), func.sum(r.pdd_count),
            func.sum(r.charge), func.sum(r.cost), func.max(r.peak_cps))
            .where(r.customer_id == a.customer_id, or_(
                and_(r.grain == "m", r.bucket >= start, r.bucket < first_hour),
                and_(r.grain == "h", r.bucket >= first_hour, r.bucket < now))))).one()
        sums = Sums(*(int(v or 0) for v in row[:6]), row[6] or Decimal(0),
                    row[7] or Decimal(0), int(row[8] or 0))
        summary = Summary(sums, {}, max(1, int((now - start).total_seconds())))
        raw = {"asr": summary.asr, "acd": summary.acd_s, "pdd": summary.pdd_ms,
               "cps": summary.cps_peak, "attempts": summary.attempts,
               "profit": summary.profit}[a.area]
        return (None if raw is None else Decimal(str(raw))), summary.attempts

    async def _one(self, a: Alert, customer: str, currency: str, value: Decimal | None,
                   attempts: int, now: datetime, dry_run: bool) -> Outcome:
        decision = decide(_rule(a), value, attempts, now)
        shown = value_text(a.area, value, currency)
        condition = condition_text(a.area, a.operator, a.threshold, currency)
        mail = None
        if decision.fires:
            emails, numbers = split_recipients(a.recipients)
            subject, body = mail_text(customer=customer, title=a.title, condition=condition,
                                      value=shown, attempts=attempts,
                                      sample_minutes=a.sample_minutes, at=now,
                                      reason=decision.reason,
                                      penalty_until=decision.penalty_until)
            mail = Mail(emails, numbers, subject, body)
        out = Outcome(a.id, a.customer_id, customer, a.title, condition, shown, attempts,
                      decision, mail=mail)
        if dry_run or not decision.writes:
            notes = []
            if dry_run and not a.enabled:
                notes.append("disabled: the evaluator does not run it")
            if dry_run and decision.fires and decision.penalty_until:
                notes.append("the customer would go into penalty")
            return _with(out, note="; ".join(notes)) if notes else out
        return await self._write(a, out, now)

    async def _write(self, a: Alert, out: Outcome, now: datetime) -> Outcome:
        d = out.decision
        async with self.db.sessions() as s, s.begin():
            res = await s.execute(
                update(Alert).where(
                    Alert.id == a.id, Alert.state == a.state,
                    Alert.last_fired_at.is_not_distinct_from(a.last_fired_at),
                    Alert.penalty_until.is_not_distinct_from(a.penalty_until))
                .values(state=d.state, last_fired_at=d.last_fired_at,
                        penalty_until=d.penalty_until)
                .execution_options(synchronize_session=False))
            if res.rowcount != 1:  # another evaluator got there first
                return _with(out, skipped=True, mail=None)
            await audit.record(s, SYSTEM, d.action, "alerts", a.id,
                               customer_id=a.customer_id, before={"state": a.state},
                               after={"state": d.state}, at=now)
            note = ""
            if d.state == "penalty" and d.fires:
                note = await _start_penalty(s, a.customer_id, d.penalty_until, now)
            elif d.action == "end_penalty":
                note = await _end_penalty(s, a.customer_id, a.id, now)
            message = f"{d.action}: {out.condition}; {d.reason}"
            if note:
                message += f"; {note}"
            if out.mail is not None and out.mail.numbers:
                message += f"; no SMS gateway: {', '.join(out.mail.numbers)} not told"
            if out.mail is not None and not out.mail.to:
                message += "; no email recipients"
            event_id = await s.scalar(
                AlertEvent.__table__.insert().values(
                    alert_id=a.id, at=now, value=out.value[:64], message=message)
                .returning(AlertEvent.id))
        mail = out.mail if out.mail is not None and out.mail.to else None
        return _with(out, event_id=event_id, note=note, mail=mail)


def _with(out: Outcome, **changes) -> Outcome:
    return Outcome(**{**{f: getattr(out, f) for f in Outcome.__dataclass_fields__},
                      **changes})


class _Versioned:
    """The id and version an edit form read (ConfigWrites.update's `row`)."""

    def __init__(self, row_id: int, version: int):
        self.id, self.version = row_id, version


async def _set_status(s: AsyncSession, customer_id: int, old: str, new: str,
                      now: datetime, actor: Actor = SYSTEM) -> bool:
    res = await s.execute(
        update(Customer).where(Customer.id == customer_id, Customer.status == old)
        .values(status=new, version=Customer.version + 1, updated_at=now)
        .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        return False
    await audit.record(s, actor, "update", "customers", customer_id,
                       customer_id=customer_id, before={"status": old},
                       after={"status": new}, at=now)
    return True


async def _start_penalty(s: AsyncSession, customer_id: int, until: datetime | None,
                         now: datetime) -> str:
    if await _set_status(s, customer_id, "active", "penalty", now):
        return f"customer in penalty until {until:%Y-%m-%d %H:%M} UTC"
    status = await s.scalar(select(Customer.status).where(Customer.id == customer_id))
    if status == "penalty":
        return f"customer already in penalty; this one lasts until {until:%Y-%m-%d %H:%M} UTC"
    return f"customer is {status}: status left as it is"


async def _end_penalty(s: AsyncSession, customer_id: int, alert_id: int,
                       now: datetime, actor: Actor = SYSTEM) -> str:
    other = await s.scalar(select(exists().where(
        Alert.customer_id == customer_id, Alert.id != alert_id, Alert.state == "penalty",
        Alert.penalty_until > now)))
    if other:
        return "another alert's penalty still runs: customer stays in penalty"
    if await _set_status(s, customer_id, "penalty", "active", now, actor):
        return "customer back to active"
    status = await s.scalar(select(Customer.status).where(Customer.id == customer_id))
    return f"customer is {status} (changed meanwhile): status left as it is"

"""Live calls (docs/domain.md §7): the one place that writes the dialogs table.

A dialog is inserted when the switch admits a call (state `trying`), moves to `ringing` and
`answered`, and is deleted when the call ends: in the same transaction its CDR is written
through the CDR writer (rollups and ledger with it). Deleting is the claim: a hang-up from
the switch and an operator's end race on one row, and only the one whose DELETE returned
the row writes the CDR, so a call is never written twice, whichever process ends it.

The decision that admitted a call (rate, increments, provider) is carried in this process
for the calls it started; a call started elsewhere (another process, the demo seeder) has
its decision read again from the dialog (engine/live_call.decided_again).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, delete, func, insert, select, update

from connex_tui.data import audit
from connex_tui.data.access import Actor
from connex_tui.data.cdr_writer import CdrInput, write_batch
from connex_tui.data.customers import customers_named
from connex_tui.data.db import Database
from connex_tui.data.models import Customer, Dialog, Provider
from connex_tui.data.snapshot import SnapshotCache
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.live_call import decided_again, rated
from connex_tui.engine.snapshot import CallInput, ProviderChoice, Result, Snapshot

STATES = ("trying", "ringing", "answered")
OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Admitted:
    """A call the pipeline allowed, as the switch sends it on: to `provider`."""

    call_id: str
    call: CallInput  # call.at is the INVITE time
    result: Result
    provider: ProviderChoice | None = None  # None: the first of result.providers


@dataclass(frozen=True, slots=True)
class Hangup:
    """How a live call ended: the final SIP answer and who released it."""

    call_id: str
    at: datetime
    sip_code: int
    sip_reason: str
    release_reason: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """An attempt the pipeline refused: a CDR of its own, never a dialog. `owner`: the
    customer it is listed under when the pipeline could not tie it to one (the customer
    whose equipment sent it)."""

    call_id: str
    call: CallInput
    result: Result
    ended_at: datetime
    owner: int


@dataclass(slots=True)
class Tick:
    """What the switch did in one stretch of time, written in one transaction in this
    order: new dialogs, ringing, answered, hang-ups, rejected attempts."""

    started: list[Admitted] = field(default_factory=list)
    ringing: list[tuple[str, datetime]] = field(default_factory=list)
    answered: list[tuple[str, datetime]] = field(default_factory=list)
    ended: list[Hangup] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.started or self.ringing or self.answered or self.ended
                    or self.rejected)


@dataclass(frozen=True, slots=True)
class Written:
    """What a tick wrote: the CDRs, and the hang-ups whose call was already gone (an
    operator ended it first)."""

    cdrs: tuple[CdrInput, ...]
    gone: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LiveCall:
    call_id: str
    customer_id: int
    customer: str
    state: str
    dialled: str
    cli: str
    provider: str
    source_ip: str
    started_at: datetime
    answered_at: datetime | None


# The decisions of the calls this process admitted, by call id; an entry leaves when its
# call ends, so the map holds the live calls of this process and nothing more.
_CARRIED: dict[str, Admitted] = {}

_ENDED_COLS = (Dialog.call_id, Dialog.customer_id, Dialog.ip_auth_id, Dialog.sip_user_id,
               Dialog.route_id, Dialog.provider_id, Dialog.dialled, Dialog.cli,
               Dialog.source_ip, Dialog.started_at, Dialog.ringing_at, Dialog.answered_at)


def _ms(later: datetime, earlier: datetime) -> int:
    return max(0, round((later - earlier).total_seconds() * 1000))


class DialogsService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow,
                 cache: SnapshotCache | None = None):
        self.db = db
        self.actor = actor
        self.clock = clock
        self.cache = cache or SnapshotCache(db)

    # -- the switch's side -------------------------------------------------------------
    async def start(self, admitted: Admitted) -> None:
        await self.apply(Tick(started=[admitted]))

    async def ring(self, call_id: str, at: datetime | None = None) -> None:
        await self.apply(Tick(ringing=[(call_id, at or self.clock())]))

    async def answer(self, call_id: str, at: datetime | None = None) -> None:
        await self.apply(Tick(answered=[(call_id, at or self.clock())]))

    async def hang_up(self, call_id: str, *, sip_code: int = 200, sip_reason: str = "OK",
                      release_reason: str = "callee_bye", at: datetime | None = None) -> bool:
        """True when the call was live and is now a CDR."""
        done = await self.apply(Tick(ended=[Hangup(call_id, at or self.clock(), sip_code,
                                                   sip_reason, release_reason)]))
        return not done.gone

    async def apply(self, tick: Tick) -> Written:
        """One transaction: the tick's dialogs inserted, moved on and deleted, and the CDRs
        of the calls it ended and the attempts it refused, rated, with rollups and ledger."""
        self.actor.require("write")
        if not tick:
            return Written((), ())
        snap = await self.cache.get()
        table = Dialog.__table__
        for a in tick.started:
            _CARRIED[a.call_id] = a
        try:
            async with self.db.sessions() as s, s.begin():
                if tick.started:
                    await s.execute(insert(table), [_dialog_row(a) for a in tick.started])
                for state, moves, col in (("ringing", tick.ringing, "ringing_at"),
                                          ("answered", tick.answered, "answered_at")):
                    if moves:
                        await s.execute(
                            update(table).where(table.c.call_id == bindparam("cid"))
                            .values({"state": state, col: bindparam("at")}),
                            [{"cid": cid, "at": at} for cid, at in moves])
                live, gone = await self._claim(s, [h.call_id for h in tick.ended])
                cdrs = [self._ended_cdr(snap, live[h.call_id], h)
                        for h in tick.ended if h.call_id in live]
                cdrs += [_rejected_cdr(r) for r in tick.rejected]
                if cdrs:
                    await write_batch(s, cdrs, at=max(c.ended_at for c in cdrs))
        except BaseException:
            for a in tick.started:
                _CARRIED.pop(a.call_id, None)
            raise
        for h in tick.ended:
            _CARRIED.pop(h.call_id, None)
        return Written(tuple(cdrs), tuple(gone))

    async def _claim(self, s, call_ids: Sequence[str]) -> tuple[dict[str, dict], list[str]]:
        """Delete these dialogs; the rows that were still there, and the ids that were not."""
        live: dict[str, dict] = {}
        for chunk in _chunks(call_ids, 500):
            rows = await s.execute(delete(Dialog.__table__).where(
                Dialog.__table__.c.call_id.in_(chunk)).returning(*_ENDED_COLS))
            for row in rows.mappings():
                live[row["call_id"]] = dict(row)
        return live, [cid for cid in call_ids if cid not in live]

    def _ended_cdr(self, snap: Snapshot, row: dict, h: Hangup) -> CdrInput:
        """The CDR of a call that was up: rated with the decision that admitted it."""
        carried = _CARRIED.get(h.call_id)
        started = row["started_at"]
        call = CallInput(row["dialled"], row["cli"], row["source_ip"], at=started)
        if carried is not None:
            call, result, choice = carried.call, carried.result, carried.provider
        else:
            result = decided_again(snap, call, row["customer_id"], row["sip_user_id"])
            choice = None
        if choice is None:
            choice = next((p for p in result.providers if p.provider_id == row["provider_id"]),
                          result.providers[0] if result.providers else None)
        answered = row["answered_at"]
        end = max(h.at, started)
        rang = row["ringing_at"] or answered
        duration_ms = billed = 0
        charge = cost = Decimal(0)
        if answered is not None:
            # the switch cuts a call at its max duration: a dialog left up longer (a lost
            # BYE, a stale row) is billed no further than that
            duration_ms = min(_ms(end, answered), (result.max_duration or 7200) * 1000)
            if result.card_id is not None and result.card_id in snap.cards:
                billed, charge, cost = rated(snap, result, choice, duration_ms, started)
        return CdrInput(
            call_id=h.call_id, customer_id=row["customer_id"], started_at=started,
            ended_at=end, answered_at=answered, duration_ms=duration_ms, billed_s=billed,
            dialled=call.number[:64], cli_in=call.cli[:64],
            cli_out=(result.cli_out or call.cli)[:64], prefix=result.prefix,
            destination=result.destination[:100], rate=result.rate or Decimal(0),
            connect_fee=result.connect_fee or Decimal(0), charge=charge,
            provider_cost=cost, sip_code=h.sip_code, sip_reason=h.sip_reason[:100],
            release_reason=h.release_reason, pdd_ms=_ms(rang, started) if rang else None,
            switch_ip=call.switch_ip[:64], source_ip=call.source_ip[:64],
            route_id=row["route_id"],
            provider_id=choice.provider_id if choice else row["provider_id"])

    async def reap(self, now: datetime | None = None, *, grace_s: int = 120) -> int:
        """End the dialogs up longer than their route's max duration allows (plus `grace_s`
        for the ringing): left by a switch that died, or seeded. An answered one ends as
        the switch would have cut it (200, max_duration, billed up to the limit), one
        never answered as 408 timeout. Returns how many were ended."""
        self.actor.require("write")
        now = now or self.clock()
        snap = await self.cache.get()
        limits = {r.id: r.max_duration for routes in snap.routes.values() for r in routes}
        shortest = min(7200, *limits.values()) if limits else 7200  # 7200: route gone
        async with self.db.sessions() as s:
            rows = (await s.execute(
                select(Dialog.call_id, Dialog.route_id, Dialog.started_at, Dialog.answered_at)
                .where(Dialog.started_at < now - timedelta(seconds=shortest + grace_s))
                .order_by(Dialog.started_at).limit(10_000))).all()
        tick = Tick()
        for call_id, route_id, started, answered in rows:
            limit = limits.get(route_id, 7200) + grace_s
            if (now - started).total_seconds() <= limit:
                continue
            tick.ended.append(Hangup(call_id, now, 200, "OK", "max_duration") if answered
                              else Hangup(call_id, now, 408, "Request Timeout", "timeout"))
        if not tick:
            return 0
        written = await self.apply(tick)
        return len(written.cdrs)

    # -- the operator's side -----------------------------------------------------------
    async def end(self, call_id: str, *, reason: str = OPERATOR) -> bool:
        """An operator ends a live call: it is hung up and written as a CDR with release
        reason `reason` (an answered call as 200, one not yet answered as 487). False when
        no such call is live. Needs the operator or admin role; audited."""
        self.actor.require("write")
        now = self.clock()
        async with self.db.sessions() as s:
            row = (await s.execute(select(Dialog.customer_id, Dialog.answered_at, Dialog.state,
                                          Dialog.dialled).where(Dialog.call_id == call_id)
                                   )).first()
        if row is None:
            return False
        code, text = (200, "OK") if row.answered_at is not None else (487, "Request Terminated")
        snap = await self.cache.get()
        try:
            async with self.db.sessions() as s, s.begin():
                live, _ = await self._claim(s, [call_id])
                if call_id not in live:  # hung up meanwhile: its CDR is the switch's
                    return False
                cdr = self._ended_cdr(snap, live[call_id], Hangup(call_id, now, code, text,
                                                                  reason))
                await write_batch(s, [cdr], at=now)
                await audit.record(s, self.actor, "end", "dialogs", None,
                                   customer_id=live[call_id]["customer_id"],
                                   before={"call_id": call_id, "state": row.state,
                                           "dialled": row.dialled},
                                   after={"release_reason": reason, "charge": cdr.charge},
                                   at=now)
        finally:
            _CARRIED.pop(call_id, None)
        return True

    # -- reading -----------------------------------------------------------------------
    async def live(self, customer_id: int | None = None) -> list[LiveCall]:
        """The live calls, oldest first (of one customer, or of all)."""
        stmt = (select(Dialog.call_id, Dialog.customer_id, Customer.name, Dialog.state,
                       Dialog.dialled, Dialog.cli, func.coalesce(Provider.name, ""),
                       Dialog.source_ip, Dialog.started_at, Dialog.answered_at)
                .join(Customer, Customer.id == Dialog.customer_id)
                .outerjoin(Provider, Provider.id == Dialog.provider_id))
        if customer_id is not None:
            stmt = stmt.where(Dialog.customer_id == customer_id)
        stmt = stmt.order_by(Dialog.started_at, Dialog.id)
        async with self.db.sessions() as s:
            return [LiveCall(*r) for r in await s.execute(stmt)]

    async def customer_named(self, name: str) -> tuple[int, str] | None:
        """(id, name) of the customer of that name, case aside (archived ones too)."""
        async with self.db.sessions() as s:
            found = (await customers_named(s, [name])).get(name.lower())
        return None if found is None else (found.id, found.name)

    async def counts(self) -> dict[int, int]:
        """Live calls per customer (customers without any are absent)."""
        async with self.db.sessions() as s:
            return dict((await s.execute(select(Dialog.customer_id, func.count())
                                         .group_by(Dialog.customer_id))).all())


def carried(call_id: str) -> Admitted | None:
    """The decision this process admitted `call_id` with (None: not one of its calls)."""
    return _CARRIED.get(call_id)


def _dialog_row(a: Admitted) -> dict:
    r, call = a.result, a.call
    provider = a.provider or (r.providers[0] if r.providers else None)
    return {"call_id": a.call_id, "customer_id": r.customer_id, "ip_auth_id": r.auth_id,
            "sip_user_id": r.sip_user_id, "route_id": r.route_id,
            "provider_id": provider.provider_id if provider else None,
            "dialled": call.number[:64], "cli": call.cli[:64], "state": "trying",
            "started_at": call.at, "ringing_at": None, "answered_at": None,
            "source_ip": call.source_ip[:64]}


def _rejected_cdr(r: Rejected) -> CdrInput:
    res, call = r.result, r.call
    return CdrInput(
        call_id=r.call_id, started_at=call.at,
        customer_id=res.customer_id if res.customer_id is not None else r.owner,
        ended_at=r.ended_at, dialled=call.number[:64], cli_in=call.cli[:64],
        cli_out=(res.cli_out or "")[:64], prefix=res.prefix,
        destination=res.destination[:100], rate=res.rate or Decimal(0),
        connect_fee=res.connect_fee or Decimal(0), sip_code=res.sip_code,
        sip_reason=res.reason[:100], release_reason="rejected",
        switch_ip=call.switch_ip[:64], source_ip=call.source_ip[:64], route_id=res.route_id)


def _chunks(items: Sequence[str], n: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]

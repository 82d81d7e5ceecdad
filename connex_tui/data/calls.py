"""Calls of a customer (docs/domain.md §7): Latest Calls, and simulated calls (§4.1).

A simulation runs the one pipeline (engine/pipeline.decide) against the cached snapshot,
with the live load read from the dialogs table and the customer's balance read fresh, and
is stored as a CDR with call id `SIM-<yyyymmddHHMMSS>-<6 hex>`, `simulated` set and the
whole decision as JSON in `detail`, so Latest Calls lists it and it can be reopened.
Simulated CDRs count in neither stats nor ledger (data/cdr_writer.py).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, insert, or_, select

from connex_tui.data import search
from connex_tui.data.access import Actor, ConstraintFailed
from connex_tui.data.db import Database
from connex_tui.data.models import Cdr, Dialog, IpAuth
from connex_tui.data.snapshot import SnapshotCache
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.pipeline import decide
from connex_tui.engine.report import result_from_json, result_to_json
from connex_tui.engine.snapshot import CallInput, Result, Snapshot, Usage


@dataclass(frozen=True, slots=True)
class CallRow:
    call_id: str
    started_at: datetime
    dialled: str
    cli_in: str
    cli_out: str
    source_ip: str
    sip_code: int
    sip_reason: str
    duration_ms: int
    charge: Decimal
    destination: str
    simulated: bool


@dataclass(frozen=True, slots=True)
class Simulation:
    call_id: str | None  # None when not stored (store=False, or a viewer)
    result: Result


def sim_call_id(at: datetime) -> str:
    return f"SIM-{at.astimezone(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def first_host(host: str) -> str:
    """The address to preset for an auth entry: the address itself, or a network's first
    usable host (10.0.0.0/29 -> 10.0.0.1; a /31 or /32 -> its first address)."""
    try:
        net = ipaddress.ip_network(host.strip(), strict=False)
    except ValueError:
        return host.strip()
    return str(next(iter(net.hosts()), net.network_address))


class CallsService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow,
                 cache: SnapshotCache | None = None,
                 call_ids: Callable[[datetime], str] = sim_call_id):
        self.db = db
        self.actor = actor
        self.clock = clock
        self.cache = cache or SnapshotCache(db)
        self.call_ids = call_ids  # the demo seeder passes a seeded generator

    # -- Latest Calls -------------------------------------------------------------------
    async def latest(self, customer_id: int, query: str = "", limit: int = 100) -> list[CallRow]:
        """Newest first, CDRs and simulations; `query` matches the dialled number, the CLI
        (as received or sent), the call id or the source IP (a substring; +44 20… is
        searched as 4420…)."""
        stmt = (select(Cdr.call_id, Cdr.started_at, Cdr.dialled, Cdr.cli_in, Cdr.cli_out,
                       Cdr.source_ip, Cdr.sip_code, Cdr.sip_reason, Cdr.duration_ms,
                       Cdr.charge, Cdr.destination, Cdr.simulated)
                .where(Cdr.customer_id == customer_id))
        q = search.normalise(query)
        if q:
            pattern = like_pattern(q)
            stmt = stmt.where(or_(*(col.ilike(pattern, escape="\\") for col in (
                Cdr.dialled, Cdr.cli_in, Cdr.cli_out, Cdr.call_id, Cdr.source_ip))))
        stmt = stmt.order_by(Cdr.started_at.desc(), Cdr.id.desc()).limit(limit)
        async with self.db.sessions() as s:
            return [CallRow(*r) for r in await s.execute(stmt)]

    async def reopen(self, call_id: str) -> Result | None:
        """The decision of a stored simulation (None for a real CDR or an unknown id)."""
        async with self.db.sessions() as s:
            detail = await s.scalar(select(Cdr.detail).where(Cdr.call_id == call_id))
        return result_from_json(json.loads(detail)) if detail else None

    async def default_ip(self, customer_id: int) -> str:
        """The source IP the Simulate dialog starts with: the customer's first ingress
        IP-auth entry ('' when it has none)."""
        async with self.db.sessions() as s:
            host = await s.scalar(select(IpAuth.host).where(
                IpAuth.customer_id == customer_id, IpAuth.direction == "ingress")
                .order_by(IpAuth.id).limit(1))
        return first_host(host) if host else ""

    # -- simulation ---------------------------------------------------------------------
    @property
    def can_store(self) -> bool:
        return self.actor.role != "viewer"

    async def simulate(self, call: CallInput, *, store: bool = True,
                       for_customer: int | None = None) -> Simulation:
        """Decide `call` as the switch would now (call.at defaults to the clock). Stored as
        a SIM-… CDR unless store=False or the operator is a viewer (who may simulate but
        writes nothing). `for_customer`: the customer whose Calls tab ran it; a call the
        switch could not tie to any customer is listed there rather than nowhere."""
        if call.at is None:
            call = replace(call, at=self.clock())
        result = await self.decide(call)
        call_id = None
        if store and self.can_store:
            call_id = await self._store(call, result, for_customer)
        return Simulation(call_id, result)

    async def decide(self, call: CallInput) -> Result:
        """The pipeline's decision with fresh customer figures: decide once to learn whom
        step 1 authenticates, reread that customer's row (balance moves with every call),
        and decide again when it changed since the snapshot was loaded."""
        snap = await self.cache.get()
        usage = await self.usage(call.at or self.clock())
        result = decide(snap, call, usage)
        if result.customer_id is not None:
            fresher = await self.cache.refresh_customer(result.customer_id)
            if fresher is not None:
                result = decide(fresher, call, usage)
        return result

    async def fixed_run(self, at: datetime) -> FixedRun:
        """For a batch: one configuration and one reading of the live load for every call
        (nothing is reread between calls), `at` for calls that give no time."""
        return FixedRun(self, await self.cache.get(), await self.usage(at), at)

    async def usage(self, at: datetime) -> Usage:
        """Live dialogs per customer, auth entry (IP or SIP user) and route, and those
        started in the second up to `at` (the flow-speed window)."""
        recent = case((and_(Dialog.started_at > at - timedelta(seconds=1),
                            Dialog.started_at <= at), 1), else_=0)
        stmt = (select(Dialog.customer_id, Dialog.ip_auth_id, Dialog.sip_user_id,
                       Dialog.route_id, func.count(), func.sum(recent))
                .group_by(Dialog.customer_id, Dialog.ip_auth_id, Dialog.sip_user_id,
                          Dialog.route_id))
        live: dict[tuple[str, int], int] = {}
        last: dict[tuple[str, int], int] = {}
        async with self.db.sessions() as s:
            for cid, aid, uid, rid, n, n_recent in await s.execute(stmt):
                for key in (("customer", cid), ("auth", aid), ("sip_user", uid),
                            ("route", rid)):
                    if key[1] is None:
                        continue
                    live[key] = live.get(key, 0) + n
                    if n_recent:
                        last[key] = last.get(key, 0) + int(n_recent)
        return Usage(live, last)

    async def _store(self, call: CallInput, result: Result,
                     for_customer: int | None = None) -> str:
        at = call.at
        owner = result.customer_id if result.customer_id is not None else for_customer
        row = {
            "customer_id": owner, "route_id": result.route_id,
            "provider_id": result.providers[0].provider_id if result.providers else None,
            "started_at": at, "ended_at": at, "duration_ms": 0, "billed_s": 0,
            "dialled": call.number[:64], "cli_in": call.cli[:64],
            "cli_out": (result.cli_out or "")[:64], "prefix": result.prefix,
            "destination": result.destination[:100], "rate": result.rate or Decimal(0),
            "connect_fee": result.connect_fee or Decimal(0), "charge": Decimal(0),
            "provider_cost": Decimal(0), "sip_code": result.sip_code,
            "sip_reason": result.reason[:100], "release_reason": "simulated",
            "switch_ip": call.switch_ip[:64], "source_ip": call.source_ip[:64],
            "simulated": True, "detail": json.dumps(result_to_json(result),
                                                    ensure_ascii=False)}
        for attempt in range(5):  # 24 random bits per second: a clash is rare, not impossible
            call_id = self.call_ids(at)
            try:
                async with self.db.sessions() as s, s.begin():
                    await s.execute(insert(Cdr.__table__).values(call_id=call_id, **row))
                return call_id
            except ConstraintFailed:  # the session ended it: a clash of call ids
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")


class FixedRun:
    """Decides calls against one snapshot and one usage reading (see fixed_run)."""

    def __init__(self, service: CallsService, snap: Snapshot, usage: Usage, at: datetime):
        self.service, self.snap, self.usage, self.at = service, snap, usage, at

    def decide(self, call: CallInput) -> Result:
        """The decision alone, nothing stored: simulate() for a batch that stores nothing,
        without a coroutine a call."""
        return decide(self.snap, call if call.at is not None else replace(call, at=self.at),
                      self.usage)

    async def simulate(self, call: CallInput, *, store: bool = False) -> Simulation:
        if call.at is None:
            call = replace(call, at=self.at)
        result = decide(self.snap, call, self.usage)
        stored = None
        if store and self.service.can_store:
            stored = await self.service._store(call, result)
        return Simulation(stored, result)

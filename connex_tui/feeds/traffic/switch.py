"""The switch, simulated: attempts arrive, the pipeline decides each, admitted calls live as
dialogs until they end and become CDRs (docs/domain.md §4.1, §7, §8).

Attempts arrive as a Poisson stream of `cps` a second, shared among the callers by weight.
Each is decided by engine.pipeline.decide against the cached snapshot and the live usage
read from the dialogs table (so other processes' calls and limits count), plus what this
switch admitted and ended since that reading. An admitted call rings after its PDD and is
answered, or fails, as the far end draws it (feeds/far_end.py); it is hung up when its
time is over, or at the decision's max duration. Everything that happened in a stretch of
at most one second is written in one transaction (data/dialogs.DialogsService.apply):
dialogs, their CDRs through the CDR writer, rollups, ledger.

Memory is bounded by the live calls (at most `max_live`; attempts wait while it is full).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import random
import uuid
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connex_tui.data.access import StorageError
from connex_tui.data.calls import CallsService
from connex_tui.data.dialogs import Admitted, DialogsService, Hangup, Rejected, Tick
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.pipeline import decide
from connex_tui.engine.snapshot import CallInput, Result, Snapshot, Usage
from connex_tui.feeds.demo.customers import DEMO_SIP_PASSWORD
from connex_tui.feeds.demo.draws import cum
from connex_tui.feeds.far_end import REASON, Mix, outcome
from connex_tui.feeds.traffic.callers import Caller, TrafficError, callers, cli, number

MAX_BATCH = timedelta(seconds=1)  # the most traffic one transaction holds
REAP_EVERY = timedelta(minutes=1)
MAX_FAILURES = 40  # writes failing in a row (10 s at the default tick) end the run
_RING, _ANSWER, _END = 0, 1, 2
_STOP = "shutdown"  # release reason of the calls up when the simulator stops

Decision = Callable[[CallInput, Usage, Result], None]


@dataclass(frozen=True, slots=True)
class TrafficOptions:
    cps: float = 20.0
    seed: int = 0
    customers: tuple[str, ...] = ()  # names; empty = every caller
    sip_password: str = DEMO_SIP_PASSWORD  # what SIP users answer the digest with
    tick: float = 0.25  # seconds between writes
    max_live: int = 20_000
    switch_ip: str = "198.51.100.10"


@dataclass(slots=True)
class Summary:
    attempts: int = 0
    admitted: int = 0
    cdrs: int = 0
    ended_elsewhere: int = 0  # ended by an operator before the far end hung up
    hung_up_at_stop: int = 0
    reaped: int = 0  # calls found up past their max duration (not this switch's)
    seconds: float = 0.0

    def line(self) -> str:
        share = f" ({self.admitted / self.attempts:.0%})" if self.attempts else ""
        rate = self.attempts / self.seconds if self.seconds else 0.0
        return (f"traffic: {self.attempts:,} attempts in {self.seconds:.1f} s ({rate:.1f} "
                f"CPS), {self.admitted:,} admitted{share}, {self.cdrs:,} CDRs written, "
                f"{self.ended_elsewhere:,} ended by an operator, {self.hung_up_at_stop:,} "
                f"hung up at stop" + (f", {self.reaped:,} stale calls ended (up past their "
                                      f"max duration)" if self.reaped else ""))


@dataclass(slots=True)
class _Live:
    keys: tuple[tuple[str, int], ...]  # the usage levels the call holds a channel on
    answered: bool = False


@dataclass(slots=True)
class _Mood:
    """Per destination: some answer better than others (drawn once per prefix)."""

    seed: int
    mixes: dict[tuple[int, str], Mix] = field(default_factory=dict)

    def mix(self, caller: Caller, prefix: str) -> Mix:
        key = (caller.customer_id, prefix)
        found = self.mixes.get(key)
        if found is None:
            factor = random.Random(f"{self.seed}:destination:{prefix}").uniform(0.7, 1.12)
            base = caller.mix
            found = Mix.of(min(0.95, base.asr * factor), base.acd, base.pdd)
            if len(self.mixes) >= 100_000:
                self.mixes.clear()
            self.mixes[key] = found
        return found


class Switch:
    def __init__(self, dialogs: DialogsService, calls: CallsService,
                 options: TrafficOptions | None = None, *, clock: Clock = utcnow,
                 on_decision: Decision | None = None,
                 on_error: Callable[[StorageError], None] | None = None):
        options = options or TrafficOptions()
        if options.cps <= 0:
            raise ValueError("cps must be above 0")
        self.dialogs, self.calls, self.opts, self.clock = dialogs, calls, options, clock
        self.cache = dialogs.cache
        self.on_decision = on_decision
        self.rng = random.Random(f"{options.seed}:switch")
        self.mood = _Mood(options.seed)
        self.summary = Summary()
        self.snap: Snapshot | None = None
        self.callers: list[Caller] = []
        self.caller_cw: list[float] = []
        self.events: list[tuple[datetime, int, int, str, object]] = []  # heap
        self.seq = 0
        self.live: dict[str, _Live] = {}
        self.last: datetime | None = None
        self.next_attempt: datetime | None = None
        self.charged: set[int] = set()
        self.reaped: datetime | None = None
        self.unwritten: list[Tick] = []  # ticks whose transaction failed, to write again
        self.on_error = on_error

    # -- configuration ---------------------------------------------------------------
    async def prepare(self) -> None:
        """Read the configuration and the callers (TrafficError when nobody can call)."""
        await self._configuration(strict=True)

    async def _configuration(self, strict: bool = False) -> Snapshot:
        """The snapshot, and the callers again when it changed. Running (not strict), a
        configuration where nobody can call any more leaves the switch idle, not stopped:
        the calls up go on to their end, and the next change may bring callers back."""
        snap = await self.cache.get()
        if snap is not self.snap:
            try:
                self.callers = callers(snap, self.opts.seed, self.opts.customers)
            except TrafficError:
                if strict:
                    raise
                self.callers = []
            self.caller_cw = list(cum(c.weight for c in self.callers))
            self.snap = snap
        return snap

    # -- running ---------------------------------------------------------------------
    async def run(self, duration: float | None = None,
                  stop: asyncio.Event | None = None) -> Summary:
        """Until `duration` seconds have passed or `stop` is set; then every call still up
        is hung up and written."""
        await self.prepare()
        start = self.clock()
        end = start + timedelta(seconds=duration) if duration is not None else None
        self.start(start)
        stop = stop or asyncio.Event()
        failures = 0
        try:
            while not stop.is_set():
                now = self.clock()
                if end is not None and now >= end:
                    break
                wait = self.opts.tick if end is None else min(
                    self.opts.tick, (end - now).total_seconds())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(0.0, wait))
                now = self.clock()
                try:
                    await self.step(min(now, end) if end is not None else now)
                    failures = 0
                except StorageError as exc:  # rolled back; its tick is written next time
                    failures += 1
                    if failures > MAX_FAILURES or len(self.unwritten) > MAX_FAILURES:
                        raise
                    if self.on_error is not None:
                        self.on_error(exc)
        finally:
            at = self.clock() if end is None else min(self.clock(), end)
            await asyncio.shield(self.stop(at))
            self.summary.seconds = max(0.0, (at - start).total_seconds())
        return self.summary

    def start(self, at: datetime) -> None:
        self.last = at
        self.next_attempt = at + timedelta(seconds=self.rng.expovariate(self.opts.cps))

    async def step(self, now: datetime) -> None:
        """Everything up to `now`: in slices of at most MAX_BATCH, one transaction each."""
        if self.last is None:
            self.start(now)
        while self.last < now:
            upto = min(now, self.last + MAX_BATCH)
            await self._slice(upto)
            self.last = upto

    async def stop(self, at: datetime) -> None:
        """Hang up every call still up at `at` (answered: 200, else 487; reason shutdown)."""
        if not self.live:
            return
        tick = Tick()
        for cid, state in self.live.items():
            code = 200 if state.answered else 487
            tick.ended.append(Hangup(cid, at, code, REASON[code], _STOP))
        self.summary.hung_up_at_stop += len(tick.ended)
        self.live.clear()
        self.events.clear()
        await self._write(tick)

    async def _slice(self, upto: datetime) -> None:
        snap = await self._configuration()
        if self.reaped is None or upto - self.reaped >= REAP_EVERY:
            self.reaped = upto  # calls up past their max duration: a dead switch's, seeded
            self.summary.reaped += await self.dialogs.reap(upto)
        usage = await self.calls.usage(upto)
        tick = Tick()
        while True:
            event_at = self.events[0][0] if self.events else None
            attempt_at = self.next_attempt
            if attempt_at > upto and (event_at is None or event_at > upto):
                break
            if event_at is not None and event_at <= attempt_at:
                self._event(heapq.heappop(self.events), tick, usage)
                continue
            self.next_attempt = attempt_at + timedelta(
                seconds=self.rng.expovariate(self.opts.cps))
            if self.callers and len(self.live) < self.opts.max_live:
                self._attempt(snap, usage, attempt_at, tick)
        await self._write(tick)
        await self._refresh_balances()

    def _event(self, ev, tick: Tick, usage: Usage) -> None:
        at, _, kind, cid, payload = ev
        state = self.live.get(cid)
        if state is None:
            return
        if kind == _RING:
            tick.ringing.append((cid, at))
        elif kind == _ANSWER:
            state.answered = True
            tick.answered.append((cid, at))
        else:
            del self.live[cid]
            for key in state.keys:  # the channel is free again for the rest of the slice
                usage.live[key] = usage.live.get(key, 1) - 1
            tick.ended.append(payload)  # type: ignore[arg-type]

    def _attempt(self, snap: Snapshot, usage: Usage, at: datetime, tick: Tick) -> None:
        rng = self.rng
        caller = self.callers[_pick(rng, self.caller_cw)]
        origin = caller.origins[int(rng.random() * len(caller.origins))]
        route, dests = caller.routes[origin.routes[int(rng.random() * len(origin.routes))]]
        dest = dests[int(rng.random() * len(dests))]
        call = CallInput(number(rng, origin, route, dest), cli(rng, caller), origin.source_ip,
                         at=at, switch_ip=self.opts.switch_ip, sip_user=origin.sip_user,
                         sip_password=self.opts.sip_password if origin.sip_user else None)
        result = decide(snap, call, usage)
        if self.on_decision is not None:
            self.on_decision(call, usage, result)
        # Not from the seeded draws: a switch restarted with the same seed (`make run` again)
        # would give the same call ids, which the CDRs already hold.
        cid = str(uuid.uuid4())
        self.summary.attempts += 1
        if not result.allowed:
            tick.rejected.append(Rejected(cid, call, result, at + timedelta(
                milliseconds=5 + int(rng.random() * 40)), owner=caller.customer_id))
            return
        self.summary.admitted += 1
        level = ("auth", result.auth_id) if result.auth_id is not None else (
            "sip_user", result.sip_user_id)
        keys = (("customer", result.customer_id), level, ("route", result.route_id))
        for key in keys:
            usage.live[key] = usage.live.get(key, 0) + 1
            usage.last_second[key] = usage.last_second.get(key, 0) + 1
        providers = result.providers
        choice = providers[1] if len(providers) > 1 and rng.random() < 0.2 else providers[0]
        tick.started.append(Admitted(cid, call, result, choice))
        self.live[cid] = _Live(keys)
        mix = self.mood.mix(caller, dest.prefix)
        far = outcome(rng, mix.code(rng), mix.pdd, mix.acd, result.max_duration or 0)
        if far.pdd_ms is not None:
            self._at(at + timedelta(milliseconds=far.pdd_ms), _RING, cid)
        if far.answer_ms is not None:
            self._at(at + timedelta(milliseconds=far.answer_ms), _ANSWER, cid)
        end = at + timedelta(milliseconds=far.end_ms)
        self._at(end, _END, cid, Hangup(cid, end, far.code, REASON[far.code], far.release))

    def _at(self, at: datetime, kind: int, cid: str, payload: object = None) -> None:
        self.seq += 1
        heapq.heappush(self.events, (at, self.seq, kind, cid, payload))

    async def _write(self, tick: Tick) -> None:
        """Write the ticks a failed write left (oldest first, each on its own), then this
        one. A failure (the database busy or away) keeps them for the next step."""
        if tick:
            self.unwritten.append(tick)
        while self.unwritten:
            written = await self.dialogs.apply(self.unwritten[0])
            self.unwritten.pop(0)
            self.summary.cdrs += len(written.cdrs)
            self.summary.ended_elsewhere += len(written.gone)
            self.charged.update(c.customer_id for c in written.cdrs if c.charge)

    async def _refresh_balances(self, most: int = 16) -> None:
        """Reread the balances calls were charged to, a few a slice (the next decisions
        see the credit that is left)."""
        for _ in range(min(most, len(self.charged))):
            await self.cache.refresh_customer(self.charged.pop())


def _pick(rng: random.Random, cw: list[float]) -> int:
    return min(len(cw) - 1, bisect(cw, rng.random() * cw[-1]))

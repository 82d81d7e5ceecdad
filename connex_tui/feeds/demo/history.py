"""The demo's traffic history: every customer's attempts and payments over the days, in
time order, rated and written through the CDR writer (rollups, ledger, last call), then the
calls still up at `now` as live dialogs.

Each customer's traffic comes from its own random stream; the rest from the history stream.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import heapq
import operator
import random
import uuid
import weakref
from array import array
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from connex_tui.data import seed_rows
from connex_tui.data.cdr_writer import CdrInput, write_batch
from connex_tui.data.db import Database
from connex_tui.data.snapshot import load_snapshot
from connex_tui.engine.live_call import rated
from connex_tui.engine.pipeline import decide
from connex_tui.engine.snapshot import (
    CallInput,
    CustomerS,
    Result,
    Snapshot,
    Usage,
)
from connex_tui.feeds.demo.catalogue import REGIONS, Catalogue, Gen
from connex_tui.feeds.demo.customers import Cust, Payments
from connex_tui.feeds.demo.draws import call_id, cum, digits, nice, quantize
from connex_tui.feeds.demo.options import DemoOptions, Progress
from connex_tui.feeds.far_end import REASON, draw_mix, outcome

BATCH = 5000  # CDRs per transaction
SWITCHES = ("198.51.100.10", "198.51.100.11")
_DIURNAL = (1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.6, 3.4, 3.8, 3.9, 3.7, 3.8, 3.9, 3.8,
            3.5, 3.0, 2.6, 2.3, 2.0, 1.8, 1.5, 1.2)


_ORDER = operator.itemgetter(0, 1, 2)  # an event's place in the day: time, customer, kind


def in_order(moves: list, streams: list[Iterator]) -> Iterator:
    """A day's events in the order of the stable sort of them all by (time, customer,
    kind), without holding them all: `moves` (payments and adjustments, a few a customer)
    sorted, merged with each customer's attempts (one stream a customer, in time order,
    each drawn when taken). Attempts are kind 1 and moves kind 0, so only moves can tie."""
    moves.sort(key=_ORDER)
    return heapq.merge(moves, *streams, key=_ORDER)


_SHARED: weakref.WeakKeyDictionary[Catalogue, dict] = weakref.WeakKeyDictionary()


def _destinations(cat: Catalogue, allowed_regions: tuple[str, ...],
                  focus_regions: tuple[str, ...]) -> tuple[list[Gen], array]:
    """The destinations a customer may dial (one list for every customer allowed the same
    regions) and their cumulative weights (its own: its focus regions weigh 12x), as
    8-byte floats: a list of hundreds a customer grew with the customers."""
    shared = _SHARED.setdefault(cat, {})
    pop = {r[0]: r[4] for r in REGIONS}
    if allowed_regions not in shared:  # those of weight > 0
        allowed = set(allowed_regions)
        shared[allowed_regions] = [g for g in cat.gens if (not allowed if g.kind == "special"
                                   else (not allowed or g.region in allowed)
                                   and pop[g.region] * g.share > 0)]
    gens = shared[allowed_regions]
    focus = set(focus_regions)
    weights = (0.08 if g.kind == "special" else
               pop[g.region] * g.share * (12.0 if g.region in focus else 1.0) for g in gens)
    return gens, array("d", cum(weights))


@functools.cache
def _hours(tz: int) -> list[float]:
    return [_DIURNAL[(h + tz) % 24] for h in range(24)]


def size_credit(c: Cust, cat: Catalogue, seed: int) -> None:
    """A post-paid customer with a history gets a credit limit that fits its traffic."""
    if c.cdr and c.debit_limit > 0:
        c.debit_limit = c.row["debit_limit"] = nice(Traffic(c, cat, seed).per_day * 14)


class Traffic:
    """Per-customer traffic profile (drawn from its own stream: independent of the rest)."""

    def __init__(self, c: Cust, cat: Catalogue, seed: int):
        rng = self.rng = random.Random(f"{seed}:traffic:{c.idx}")
        self.c = c
        u = rng.random()
        self.base = 20 * (20 ** (u ** 1.5))  # 20..400 attempts a day, most at the low end
        mix = self.mix = draw_mix(rng)
        self.asr, self.acd, self.pdd = mix.asr, mix.acd, mix.pdd
        self.burst = rng.uniform(0.0, 0.05)
        self.gens, self.cw = _destinations(cat, tuple(c.dial_regions), tuple(c.focus))
        gens = self.gens
        self.route_cw = list(cum([r.weight for r in c.routes]))
        self.home_gens = cat.home_gens[c.home]
        self.hour_w = _hours(c.tz)
        # expected spend a day, to size top-ups and credit limits
        sample = rng.choices(gens, cum_weights=self.cw, k=200)
        card = c.routes[0].card
        later = datetime.max.replace(tzinfo=UTC)
        rates = [card.lookup(g.prefix + "5" * (g.length - len(g.prefix)), later)
                 for g in sample]
        mean_rate = sum(float(r.rate) for r in rates if r and not r.blocked) / 200
        self.per_day = max(1.0, self.base * self.asr * self.acd / 60 * mean_rate * 1.1)
        self.est = self.per_day
        self.pay_day = rng.randrange(7)

    def attempts(self, start: datetime, end: datetime, last: bool) -> tuple[int, Iterator]:
        """Raw attempts in [start, end): how many, and the attempts themselves in time
        order as (t, seq, kind, payload), each drawn only when it is taken (the day's
        instants are drawn now, compactly: all customers' days are open at once)."""
        offsets = self._offsets(start, end, last)
        return len(offsets), self._events(start, offsets)

    def _offsets(self, start: datetime, end: datetime, last: bool) -> array:
        rng, c = self.rng, self.c
        midday = start + timedelta(hours=12)
        factor = (0.75, 0.65)[midday.weekday() - 5] if midday.weekday() >= 5 else 1.0
        n = int(self.base * factor * rng.lognormvariate(0, 0.25))
        cw = list(cum(self.hour_w[(start.hour + j) % 24] for j in range(24)))
        span = (end - start).total_seconds() * 1000
        offsets = []
        for _ in range(n):
            j = bisect.bisect(cw, rng.random() * cw[-1])
            off = int((j + rng.random()) * 3_600_000)
            if off < span:
                offsets.append(off)
                if rng.random() < self.burst:  # a dialler fires several in one second
                    offsets.extend([off] * rng.randint(1, 4))
        if last and c.status == "active":
            for _ in range(rng.randint(1, 3)):  # the last hour: "3 min ago"
                offsets.append(int(span - rng.uniform(90, 3000) * 1000))
        offsets.sort()
        return array("q", offsets)  # 8 bytes an attempt, not a tuple of draws

    def _events(self, start: datetime, offsets: array) -> Iterator:
        idx = self.c.idx
        for off in offsets:
            t = start + timedelta(milliseconds=off)
            yield (t, idx, 1, self._detail(t))

    def _detail(self, t: datetime):
        rng, c = self.rng, self.c
        g = self.gens[bisect.bisect(self.cw, rng.random() * self.cw[-1])]
        number = g.prefix + digits(rng, g.length - len(g.prefix))
        route = c.routes[bisect.bisect(self.route_cw, rng.random() * self.route_cw[-1])
                         if len(c.routes) > 1 else 0]
        mix = self.mix
        if c.penalty_start is not None and t > c.penalty_start - timedelta(hours=3):
            r = rng.random() * mix.code_cw[-1]
            code = 200 if r < 0.12 else mix.codes[1 + int(rng.random() * 9)]
        else:
            code = mix.code(rng)
        hg = self.home_gens[int(rng.random() * len(self.home_gens))]
        cli = hg.prefix + digits(rng, hg.length - len(hg.prefix))
        return (number, route, code, cli, rng.random(), rng.random(), rng.random(),
                rng.random(), rng.getrandbits(128))


class History:
    """Walks every attempt and payment in time order; rates, admits and writes them."""

    def __init__(self, db: Database, cat: Catalogue, custs: list[Cust], opts: DemoOptions,
                 now: datetime, payments: Payments, progress: Progress | None,
                 base: int, total: int, step: int):
        self.db, self.cat, self.custs, self.opts, self.now = db, cat, custs, opts, now
        self.payments = payments
        self.rng = random.Random(f"{opts.seed}:history")
        self.traffic = {c.idx: Traffic(c, cat, opts.seed) for c in custs}
        self.by_idx = {c.idx: c for c in custs}
        self.cdrs: list[CdrInput] = []
        self.pay_rows: list[dict] = []
        self.adjusts: list[tuple[int, Decimal, str, datetime]] = []
        self.count = 0
        self.progress, self.base, self.total = progress, base, total
        self.second: datetime | None = None
        self.usage = Usage()
        self.writing: asyncio.Task | None = None
        self.step = step
        self.by_id: dict[int | None, Cust] = {}
        self.groups: dict[int, tuple[Cust, ...]] = {}  # a customer, then those sharing its IP
        self.snap = Snapshot()

    async def load(self) -> None:
        """The engine's view of what the seeder wrote (archived customers included: the
        history is from before they left)."""
        self.snap = await load_snapshot(self.db, archived=True)
        self.by_id = {c.id: c for c in self.custs}
        shared: dict[str, list[Cust]] = {}
        for c in self.custs:
            for ip in c.src_ips:
                shared.setdefault(ip, []).append(c)
        for c in self.custs:
            self.groups[c.id] = (c, *{o.id: o for ip in c.src_ips for o in shared[ip]
                                      if o is not c}.values())

    async def run(self) -> None:
        await self.load()
        opts, now, rng = self.opts, self.now, self.rng
        start = now - timedelta(days=opts.days)
        for c in self.custs:  # opening deposit, and the odd pending/cancelled payment
            t = self.traffic[c.idx]
            paid = start - timedelta(seconds=rng.randint(3600, 4 * 86400))
            gross = nice(t.per_day * 10 * float(1 + c.tax / 100))
            self._pay(c, gross, paid)
            if c.flags.lapsing:
                c.lapse_day = max(0, opts.days - rng.randint(2, 8))
            if c.archived_at is not None:
                continue
            if rng.random() < 0.2:
                self._pay(c, nice(t.per_day * 10), now - timedelta(
                    seconds=rng.randint(3600, 30 * 3600)), status="pending", credit=False)
            if rng.random() < 0.12:
                self._pay(c, nice(t.per_day * 10), start + timedelta(
                    seconds=rng.randint(0, opts.days * 86400 - 1)), status="cancelled",
                    credit=False)
        for k in range(opts.days):
            s = start + timedelta(days=k)
            e = s + timedelta(days=1)
            moves: list = []
            streams: list[Iterator] = []
            n_events = 0
            for c in self.custs:
                moves += self._top_ups(c, k, s)
                moves += self._adjust(c, s)
                n, attempts = self.traffic[c.idx].attempts(s, e, k == opts.days - 1)
                n_events += n
                streams.append(attempts)
            n_events += len(moves)
            spent = {c.idx: c.spent for c in self.custs}
            day_base = self.base + k * self.step
            for n, ev in enumerate(in_order(moves, streams), 1):
                await self._event(ev)
                if n % 256 == 0:
                    await asyncio.sleep(0)  # let the writer task send its next statement
                    if self.progress and n % 65536 == 0:
                        self.progress(day_base + self.step * n // n_events, self.total)
            del moves, streams
            for c in self.custs:
                t = self.traffic[c.idx]
                day = float(c.spent - spent[c.idx])
                t.est = max(1.0, 0.6 * t.est + 0.4 * day)
            if self.progress:
                self.progress(self.base + (k + 1) * self.step, self.total)
        await self.flush()
        await self.drain()

    def _pay(self, c: Cust, gross: Decimal, at: datetime, *, status: str = "completed",
             credit: bool = True, invoice: bool = False) -> None:
        row = self.payments.make(c, gross, at, status, invoice)
        if credit and status == "completed":
            c.balance += gross - row["tax"]
        self.pay_rows.append(row)

    def _top_ups(self, c: Cust, k: int, s: datetime) -> list:
        rng, t = self.rng, self.traffic[c.idx]
        if c.lapse_day is not None and k >= c.lapse_day:
            return []
        if c.stop_at is not None and s > c.stop_at:
            return []
        available = c.balance + c.debit_limit
        at = s + timedelta(seconds=rng.randint(3600, 10 * 3600))
        factor = float(1 + c.tax / 100)
        if c.debit_limit > 0:  # post-paid: settles its invoice weekly, early when near limit
            owed = max(-c.balance, Decimal(0))
            if available < Decimal(3 * t.est):
                owed += Decimal(str(round(7 * t.est, 2)))
            elif not (k % 7 == t.pay_day and owed):
                return []
            gross = quantize(owed * (1 + c.tax / 100), 2, ROUND_CEILING)
            return [(at, c.idx, 0, ("pay", gross, True))]
        elif available < Decimal(3 * t.est):
            return [(at, c.idx, 0, ("pay", nice(t.est * 7 * factor), False))]
        return []

    def _adjust(self, c: Cust, s: datetime) -> list:
        rng = self.rng
        if rng.random() >= 0.006 or (c.stop_at is not None and s > c.stop_at):
            return []
        at = s + timedelta(seconds=rng.randint(9 * 3600, 18 * 3600))
        if rng.random() < 0.6:
            amount, note = Decimal(rng.choice(("5.00", "10.00", "25.00"))), (
                f"Goodwill credit: outage on {s.date().isoformat()}")
        else:
            amount, note = -Decimal(rng.choice(("1.25", "2.50", "7.80"))), (
                "Correction: test calls rated twice")
        return [(at, c.idx, 0, ("adjust", amount, note))]

    async def _event(self, ev) -> None:
        t, idx, kind, payload = ev
        c = self.by_idx[idx]
        if kind == 0:
            if payload[0] == "pay":
                self._pay(c, payload[1], t, invoice=payload[2])
            else:
                c.balance += payload[1]
                self.adjusts.append((c.id, payload[1], payload[2], t))
            return
        cdr = self._rate(c, t, payload)
        if cdr is None:
            return
        self.cdrs.append(cdr)
        if len(self.cdrs) >= BATCH:
            await self.flush()

    def _rate(self, c: Cust, t: datetime, detail) -> CdrInput | None:
        """The engine decides the attempt (engine/pipeline.decide against the snapshot of
        what the seeder wrote, with the customer's balance and status at `t`); the demo
        only draws what the far end does: answer or fail, the ring and talk time, the PDD,
        and whether the first provider takes the call."""
        number, route, code, cli, u1, u2, u3, u4, bits = detail
        if c.stop_at is not None and t > c.stop_at + timedelta(hours=12):
            return None  # their switch gave up retrying
        call = CallInput(route.tech_prefix + number, cli, c.src_ips[int(u3 * len(c.src_ips))],
                         at=t, switch_ip=SWITCHES[int(u4 * 2)])
        result = self.decide(c, call)
        owner = self.by_id.get(result.customer_id, c)  # a shared IP may name its neighbour
        common = {"call_id": str(uuid.UUID(int=bits, version=4)), "customer_id": owner.id,
                  "started_at": t, "dialled": call.number, "cli_in": cli,
                  "cli_out": result.cli_out or cli, "switch_ip": call.switch_ip,
                  "source_ip": call.source_ip, "route_id": result.route_id,
                  "prefix": result.prefix, "destination": result.destination,
                  "rate": result.rate or Decimal(0),
                  "connect_fee": result.connect_fee or Decimal(0)}
        if not result.allowed:
            return CdrInput(**common, ended_at=t + timedelta(milliseconds=5 + int(u1 * 40)),
                            sip_code=result.sip_code, sip_reason=result.reason,
                            release_reason="rejected")
        self.admitted(result, t)
        providers = result.providers
        choice = providers[1] if len(providers) > 1 and u2 < 0.2 else providers[0]
        far = outcome(self.rng, code, self.traffic[c.idx].pdd, self.traffic[c.idx].acd,
                      result.max_duration or 0)
        answered_at = None if far.answer_ms is None else t + timedelta(milliseconds=far.answer_ms)
        end = t + timedelta(milliseconds=far.end_ms)
        billed, charge, cost = 0, Decimal(0), Decimal(0)
        if answered_at is not None:
            billed, charge, cost = rated(self.snap, result, choice, far.duration_ms, t)
        if end > self.now:
            return None  # still up at `now`: not a CDR yet
        owner.balance -= charge
        owner.spent += charge
        return CdrInput(**common, ended_at=end, sip_code=code, sip_reason=REASON[code],
                        answered_at=answered_at, duration_ms=far.duration_ms, billed_s=billed,
                        charge=charge, provider_cost=cost, release_reason=far.release,
                        pdd_ms=far.pdd_ms,
                        provider_id=choice.provider_id)

    def decide(self, c: Cust, call: CallInput) -> Result:
        """decide() with the customer as it was at the call's time: its running balance, and
        active until its penalty or its stop (the snapshot holds the final state)."""
        t = call.at
        status = "active"
        if c.stop_at is not None and t >= c.stop_at:
            status = "inactive"
        elif c.penalty_start is not None and t >= c.penalty_start:
            status = "penalty"
        customers = self.snap.customers
        for other in self.groups[c.id]:
            view = customers.get(other.id)
            if view is not None and (view.status != status or view.balance != other.balance):
                customers[other.id] = CustomerS(view.id, view.name, status, view.currency,
                                                other.balance, view.debit_limit, view.channels,
                                                view.flow_speed)
        second = t.replace(microsecond=0)
        if second != self.second:  # the flow-speed window: calls admitted in this second
            self.second, self.usage = second, Usage({}, {})
        return decide(self.snap, call, self.usage)

    def admitted(self, result: Result, t: datetime) -> None:
        last = self.usage.last_second
        level = ("auth", result.auth_id) if result.auth_id is not None else (
            "sip_user", result.sip_user_id)
        for key in (("customer", result.customer_id), level, ("route", result.route_id)):
            last[key] = last.get(key, 0) + 1

    async def flush(self) -> None:
        """Hand the gathered CDRs and payments to a writer task and go on with the next
        batch meanwhile (SQLite works in its own thread); one batch is written at a time,
        in order, so the database is the same as if each were awaited."""
        if not self.cdrs and not self.pay_rows and not self.adjusts:
            return
        await self.drain()
        self.writing = asyncio.create_task(self._write(self.cdrs, self.pay_rows, self.adjusts))
        self.count += len(self.cdrs)
        self.cdrs, self.pay_rows, self.adjusts = [], [], []

    async def drain(self) -> None:
        """Wait for the batch being written (its error, if any, surfaces here)."""
        if self.writing is not None:
            task, self.writing = self.writing, None
            await task

    async def _write(self, cdrs: list[CdrInput], pay_rows: list[dict],
                     adjusts: list[tuple[int, Decimal, str, datetime]]) -> None:
        async with self.db.sessions() as s, s.begin():
            if pay_rows or adjusts:
                await self.payments.write(s, pay_rows, adjusts)
            if cdrs:
                await write_batch(s, cdrs, at=max(c.ended_at for c in cdrs))


async def write_dialogs(s: seed_rows.Session, custs: list[Cust], history: History,
                        now: datetime) -> None:
    """Calls up at `now` for a few customers, each as the engine admits it."""
    rng = random.Random(f"{history.opts.seed}:dialogs")
    rows = []
    live_customers = 0
    for c in custs:
        if c.status != "active" or c.balance + c.debit_limit <= 0:
            continue
        if rng.random() < 0.7 and live_customers >= 3:
            continue
        live_customers += 1
        t = history.traffic[c.idx]
        live = rng.randint(1, min(4, c.channels or 4))
        for _ in range(live):
            g = t.gens[bisect.bisect(t.cw, rng.random() * t.cw[-1])]
            number = g.prefix + digits(rng, g.length - len(g.prefix))
            hg = rng.choice(t.home_gens)
            cli = hg.prefix + digits(rng, hg.length - len(hg.prefix))
            state = rng.choices(("answered", "ringing", "trying"), (75, 17, 8))[0]
            age = rng.randint(20, 480) if state == "answered" else rng.randint(1, 25)
            started = now - timedelta(seconds=age, milliseconds=rng.randint(0, 999))
            answered = (started + timedelta(milliseconds=rng.randint(2500, 15000))
                        if state == "answered" else None)
            # it rang a third of the way to the answer (or halfway to now, 3 s at most);
            # no draw, so the rest of the demo stays as it was
            ringing = (None if state == "trying" else started + (answered - started) / 3
                       if answered else started + min((now - started) / 2, timedelta(seconds=3)))
            result = history.decide(c, CallInput(c.routes[0].tech_prefix + number, cli,
                                                 c.src_ips[0], at=started))
            if not result.allowed:
                continue
            rows.append({
                "call_id": call_id(rng), "customer_id": result.customer_id,
                "ip_auth_id": result.auth_id, "route_id": result.route_id,
                "provider_id": result.providers[0].provider_id,
                "dialled": c.routes[0].tech_prefix + number, "cli": cli,
                "state": state, "started_at": started, "ringing_at": ringing,
                "answered_at": answered, "source_ip": c.src_ips[0],
                "sip_user_id": result.sip_user_id})
    await seed_rows.add_dialogs(s, rows)


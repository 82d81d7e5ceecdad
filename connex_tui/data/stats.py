"""Stats of a customer over a period (docs/domain.md §9), read from the rollups only.

Never from `cdrs`: the CDR writer (data/cdr_writer.py) keeps per-minute and per-hour sums
(`stats_rollups`), per-code counts (`stats_codes`) and per-prefix hour and day sums
(`stats_prefixes`) as it writes. A period reads:
- its hour rows (Live: its whole hours, and the minute rows of the part-hour at its far
  edge), summed here, which also gives the chart's points;
- the SIP code counts over the same rows;
- the busiest minute's channel time, for the channels peak (engine.stats
  .channels_from_minute);
- the top destinations from the per-prefix day rows (Live: hour rows, so Live's list
  covers the whole hour 24 h ago);
- the live channels from the dialogs table.
A month of a busy customer is 744 hour rows and 44,640 minute rows read by an indexed range
(the primary key starts customer, grain, bucket): bench/stats.py times it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from connex_tui.data.access import Actor, NotFound
from connex_tui.data.db import Database
from connex_tui.data.models import Customer, Dialog, StatsCode, StatsPrefix, StatsRollup
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.stats import (
    Destination,
    Period,
    Point,
    StatsView,
    Summary,
    Sums,
    ceil_hour,
    channels_from_minute,
    floor_hour,
    period,
)

TOP = 10  # destinations the tab lists
_R = StatsRollup
_SUM_COLS = (_R.attempts, _R.connected, _R.duration_ms, _R.billed_s, _R.pdd_sum_ms,
             _R.pdd_count, _R.charge, _R.cost, _R.peak_cps)


def _ranges(p: Period) -> list[tuple[str, datetime, datetime]]:
    """(grain, from, to) of the rollup rows that make up `p`: hours, and for Live the
    minutes before its first whole hour."""
    if p.kind != "live":
        return [("h", p.start, p.end)]
    first_hour = ceil_hour(p.start)
    return [("m", p.start, first_hour), ("h", first_hour, p.end)]


class StatsService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor  # every role may read stats
        self.clock = clock

    def period(self, kind: str, day: date | None = None) -> Period:
        return period(kind, self.clock(), day)

    async def find_customer(self, name: str) -> tuple[int, str, str]:
        """(id, name, currency) of the customer named `name` (case does not matter),
        archived ones too; NotFound otherwise."""
        async with self.db.sessions() as s:
            row = (await s.execute(select(Customer.id, Customer.name, Customer.currency)
                                   .where(Customer.name_key == name.lower()))).first()
        if row is None:
            raise NotFound(f"no customer named {name!r}")
        return tuple(row)

    # -- the whole tab --------------------------------------------------------------------
    async def view(self, customer_id: int, p: Period) -> StatsView:
        async with self.db.sessions() as s:
            summary, hours = await self._summary(s, customer_id, p)
            top = await self._top(s, customer_id, p)
            currency = await s.scalar(select(Customer.currency).where(
                Customer.id == customer_id))
        return StatsView(p, summary, _series(p, hours), top, currency or "")

    async def summary(self, customer_id: int, p: Period, *, peak: bool = True) -> Summary:
        """The KPIs of `p`; peak=False leaves the channels peak at 0 and skips the one
        query that reads minute rows over the whole period."""
        async with self.db.sessions() as s:
            return (await self._summary(s, customer_id, p, peak))[0]

    async def summaries(self, customer_id: int) -> list[tuple[str, Summary]]:
        """The Main tab's grid: Live (24 h), today and this month (no channels peak: the
        grid does not show it)."""
        now = self.clock()
        out = []
        async with self.db.sessions() as s:
            for label, kind in (("Live 24h", "live"), ("Today", "day"), ("Month", "month")):
                out.append((label, (await self._summary(s, customer_id, period(kind, now),
                                                        False))[0]))
        return out

    # -- queries --------------------------------------------------------------------------
    async def _summary(self, s, customer_id: int, p: Period,
                       peak: bool = True) -> tuple[Summary, list]:
        total = Sums()
        hours: list = []
        codes: dict[int, int] = {}
        for grain, lo, hi in _ranges(p):
            if lo >= hi:
                continue
            rows = (await s.execute(
                select(_R.bucket, *_SUM_COLS).where(
                    _R.customer_id == customer_id, _R.grain == grain, _R.bucket >= lo,
                    _R.bucket < hi))).all()
            for row in rows:
                total += Sums(*row[1:])
            if grain == "h":
                hours = rows
            c = StatsCode
            for code, n in await s.execute(
                    select(c.sip_code, func.sum(c.count)).where(
                        c.customer_id == customer_id, c.grain == grain, c.bucket >= lo,
                        c.bucket < hi).group_by(c.sip_code)):
                codes[code] = codes.get(code, 0) + int(n)
        busiest = peak and await s.scalar(select(func.max(_R.duration_ms + _R.pdd_sum_ms))
                                          .where(_R.customer_id == customer_id,
                                                 _R.grain == "m", _R.bucket >= p.start,
                                                 _R.bucket < p.end))
        live = await s.scalar(select(func.count()).select_from(Dialog).where(
            Dialog.customer_id == customer_id))
        return Summary(total, codes, p.seconds(self.clock()),
                       channels_from_minute(int(busiest or 0)), int(live or 0)), hours

    async def _top(self, s, customer_id: int, p: Period) -> list[Destination]:
        x = StatsPrefix
        grain, lo = ("h", floor_hour(p.start)) if p.kind == "live" else ("d", p.start)
        attempts = func.sum(x.attempts)
        stmt = (select(x.prefix, func.max(x.destination), attempts, func.sum(x.connected),
                       func.sum(x.duration_ms), func.sum(x.charge), func.sum(x.cost))
                .where(x.customer_id == customer_id, x.grain == grain, x.bucket >= lo,
                       x.bucket < p.end)
                .group_by(x.prefix).order_by(attempts.desc(), x.prefix).limit(TOP))
        return [Destination(prefix, dest or "", int(a), int(c), int(d), charge, cost)
                for prefix, dest, a, c, d, charge, cost in await s.execute(stmt)]


def _series(p: Period, hours: list) -> list[Point]:
    """The chart's points from the period's hour rows: one per hour (Live, day) or per
    day (week, month); a point without calls is there with 0."""
    points = {at: [0, 0] for at in p.buckets()}
    for row in hours:
        at = row[0] if p.hourly else row[0].replace(hour=0)
        if at in points:
            points[at][0] += row[1]
            points[at][1] += row[2]
    return [Point(at, a, c) for at, (a, c) in points.items()]

"""Traffic KPIs of docs/domain.md §9, computed from rollup sums (never from raw CDRs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from connex_tui.engine import present


@dataclass(frozen=True, slots=True)
class Kpi:
    attempts: int = 0
    connected: int = 0
    duration_ms: int = 0
    pdd_sum_ms: int = 0
    pdd_count: int = 0
    peak_cps: int = 0

    @property
    def asr(self) -> float | None:
        return self.connected * 100 / self.attempts if self.attempts else None

    @property
    def acd_seconds(self) -> float | None:
        return self.duration_ms / 1000 / self.connected if self.connected else None

    @property
    def pdd_ms(self) -> float | None:
        return self.pdd_sum_ms / self.pdd_count if self.pdd_count else None


def fmt_pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def fmt_mss(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = round(seconds)
    return f"{s // 60}:{s % 60:02d}"


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:.1f}s"


def fmt_kpi_row(k: Kpi) -> tuple[str, str, str, str]:
    """ASR, ACD, PDD, CPS cells for the list: '-' when there were no attempts."""
    if not k.attempts:
        return "-", "-", "-", "-"
    return fmt_pct(k.asr), fmt_mss(k.acd_seconds), fmt_ms(k.pdd_ms), str(k.peak_cps)


# -- periods (docs/domain.md §9: Live, day, week, month, in UTC) ---------------------------
PERIODS = ("live", "day", "week", "month")
PERIOD_LABELS = {"live": "Live", "day": "Day", "week": "Week", "month": "Month"}
LIVE_SPAN = timedelta(hours=24)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in UTC. `anchor` is the day the operator asked for (today for Live):
    `<` `>` move it by one day, week or month."""

    kind: str
    start: datetime
    end: datetime
    anchor: date

    @property
    def label(self) -> str:
        if self.kind == "live":
            return "Live · last 24 h"
        if self.kind == "day":
            return f"Day {self.start:%Y-%m-%d}"
        if self.kind == "week":
            last = self.end - DAY
            return f"Week {self.start:%V}, {self.start:%Y-%m-%d} to {last:%m-%d}"
        return f"Month {self.start:%Y-%m}"

    @property
    def hourly(self) -> bool:
        """Charts per hour (Live, day) or per day (week, month)."""
        return self.kind in ("live", "day")

    def buckets(self) -> list[datetime]:
        """The starts of the chart's points: hours of Live (from the first whole hour to the
        current one) and of a day, days of a week and a month."""
        step = HOUR if self.hourly else DAY
        first = ceil_hour(self.start) if self.kind == "live" else self.start
        last = floor_hour(self.end) if self.kind == "live" else self.end - step
        out, at = [], first
        while at <= last:
            out.append(at)
            at += step
        return out

    def seconds(self, now: datetime) -> int:
        """Seconds of the period gone by at `now` (the mean CPS divides by them): all of a
        past period, start to now of the current one, at least 1."""
        return max(1, int((min(self.end, max(now, self.start)) - self.start).total_seconds()))


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def ceil_hour(at: datetime) -> datetime:
    floor = floor_hour(at)
    return floor if floor == at else floor + HOUR


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def period(kind: str, now: datetime, day: date | None = None) -> Period:
    """The period of `kind` holding `day` (default: today, UTC); Live is the 24 h up to
    `now`, from the start of the minute (minute rollups are the finest there are)."""
    if kind not in PERIODS:
        raise ValueError(f"unknown period {kind!r}: one of {', '.join(PERIODS)}")
    now = now.astimezone(UTC)
    today = now.date()
    day = day or today
    if kind == "live":  # from the minute 24 h ago on, as the customer list counts it
        return Period(kind, (now - LIVE_SPAN).replace(second=0, microsecond=0), now, today)
    if kind == "day":
        start = _midnight(day)
        return Period(kind, start, start + DAY, day)
    if kind == "week":
        start = _midnight(day - timedelta(days=day.weekday()))  # ISO weeks start on Monday
        return Period(kind, start, start + 7 * DAY, day)
    start = _midnight(day.replace(day=1))
    nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return Period(kind, start, _midnight(nxt), day)


def shift(p: Period, step: int, now: datetime) -> Period | None:
    """The period `step` days, weeks or months before (-1) or after (+1) `p`; None for
    Live (it has no neighbours) and for a period that has not begun yet at `now`."""
    if p.kind == "live":
        return None
    day = p.anchor
    if p.kind == "day":
        day += timedelta(days=step)
    elif p.kind == "week":
        day += timedelta(days=7 * step)
    else:
        months = day.year * 12 + day.month - 1 + step
        year, month = divmod(months, 12)
        if not 1 <= year <= 9999:
            return None
        day = date(year, month + 1, 1)
    out = period(p.kind, now, day)
    return None if out.start > now else out


def next_kind(kind: str) -> str:
    return PERIODS[(PERIODS.index(kind) + 1) % len(PERIODS)]


# -- period figures --------------------------------------------------------------------------
# docs/domain.md §9: NER counts, beside the connected calls, the attempts that the far end
# answered with a final word about the user (busy, no answer, cancelled, number unknown or
# refused) rather than a network failure.
NER_CODES = frozenset({486, 600, 480, 408, 487, 404, 484, 603})


@dataclass(frozen=True, slots=True)
class Sums:
    """Rollup columns added over the rows of a period (peak_cps: the largest)."""

    attempts: int = 0
    connected: int = 0
    duration_ms: int = 0
    billed_s: int = 0
    pdd_sum_ms: int = 0
    pdd_count: int = 0
    charge: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    peak_cps: int = 0

    def __add__(self, o: Sums) -> Sums:
        return Sums(self.attempts + o.attempts, self.connected + o.connected,
                    self.duration_ms + o.duration_ms, self.billed_s + o.billed_s,
                    self.pdd_sum_ms + o.pdd_sum_ms, self.pdd_count + o.pdd_count,
                    self.charge + o.charge, self.cost + o.cost, max(self.peak_cps, o.peak_cps))


def channels_from_minute(channel_ms: int) -> int:
    """Concurrent calls estimated from one minute's rollup (docs/decisions.md, Stats): the
    channel time of the calls started in that minute (answered duration plus post-dial
    delay) over the 60 s of the minute, by Little's law (mean load = arrivals x mean
    holding time), rounded up."""
    return -(-channel_ms // 60_000) if channel_ms > 0 else 0


def _pct(part, whole) -> float | None:
    """part/whole x 100 to 2 decimals (a number: 58.33); None without a whole."""
    if not whole:
        return None
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01")))


@dataclass(frozen=True, slots=True)
class Summary:
    """Every KPI of docs/domain.md §9 for one period, from its rollup sums."""

    sums: Sums
    codes: dict[int, int]  # final SIP code -> attempts
    seconds: int  # of the period gone by (mean CPS)
    channels_peak: int = 0
    channels_now: int = 0

    @property
    def attempts(self) -> int:
        return self.sums.attempts

    @property
    def connected(self) -> int:
        return self.sums.connected

    @property
    def asr(self) -> float | None:
        return _pct(self.sums.connected, self.sums.attempts)

    @property
    def acd_s(self) -> float | None:
        """Mean answered duration in seconds (to the millisecond)."""
        c = self.sums.connected
        return round(self.sums.duration_ms / c / 1000, 3) if c else None

    @property
    def pdd_ms(self) -> int | None:
        n = self.sums.pdd_count
        return round(self.sums.pdd_sum_ms / n) if n else None

    @property
    def ner(self) -> float | None:
        ok = self.sums.connected + sum(n for code, n in self.codes.items() if code in NER_CODES)
        return _pct(ok, self.sums.attempts)

    @property
    def cps_peak(self) -> int:
        return self.sums.peak_cps

    @property
    def cps_mean(self) -> float:
        return round(self.sums.attempts / self.seconds, 3)

    @property
    def charge(self) -> Decimal:
        return self.sums.charge

    @property
    def cost(self) -> Decimal:
        return self.sums.cost

    @property
    def profit(self) -> Decimal:
        return self.sums.charge - self.sums.cost

    @property
    def profit_percent(self) -> float | None:
        """Margin: profit as a share of the charge (what the customer paid)."""
        return _pct(self.profit, self.sums.charge)

    @property
    def duration_s(self) -> float:
        return self.sums.duration_ms / 1000

    @property
    def billed_s(self) -> int:
        return self.sums.billed_s

    def code_shares(self) -> list[tuple[int, int, float]]:
        """(code, count, % of attempts), the most frequent first."""
        total = sum(self.codes.values())
        return [(code, n, _pct(n, total) or 0.0)
                for code, n in sorted(self.codes.items(), key=lambda kv: (-kv[1], kv[0]))]


JSON_KEYS = ("attempts", "connected", "asr", "acd", "pdd_ms", "ner", "cps_peak", "cps_mean",
             "channels_peak", "charge", "cost", "profit", "profit_percent", "duration_s",
             "billed_s")


def summary_json(s: Summary) -> dict:
    """`connex-tui stats --json`: money as exact decimal strings, percentages as numbers,
    acd in seconds, pdd_ms in milliseconds, None (null) where there is nothing to divide."""
    money = lambda v: f"{v.normalize():f}" if v else "0"  # noqa: E731
    return {"attempts": s.attempts, "connected": s.connected, "asr": s.asr, "acd": s.acd_s,
            "pdd_ms": s.pdd_ms, "ner": s.ner, "cps_peak": s.cps_peak, "cps_mean": s.cps_mean,
            "channels_peak": s.channels_peak, "charge": money(s.charge),
            "cost": money(s.cost), "profit": money(s.profit),
            "profit_percent": s.profit_percent, "duration_s": s.duration_s,
            "billed_s": s.billed_s, "codes": {str(c): n for c, n, _ in s.code_shares()}}


@dataclass(frozen=True, slots=True)
class Point:
    """One point of a chart: an hour or a day."""

    at: datetime
    attempts: int = 0
    connected: int = 0

    @property
    def asr(self) -> float:
        return self.connected * 100 / self.attempts if self.attempts else 0.0


@dataclass(frozen=True, slots=True)
class Destination:
    prefix: str
    destination: str
    attempts: int
    connected: int
    duration_ms: int
    charge: Decimal
    cost: Decimal

    @property
    def asr(self) -> float | None:
        return _pct(self.connected, self.attempts)

    @property
    def acd_s(self) -> float | None:
        return self.duration_ms / 1000 / self.connected if self.connected else None


@dataclass(frozen=True, slots=True)
class StatsView:
    """What the Stats tab shows for one period."""

    period: Period
    summary: Summary
    series: list[Point]
    top: list[Destination]
    currency: str = ""  # the customer's: every money figure is in it


def kpi_cells(s: Summary, currency: str = "") -> list[tuple[str, str]]:
    """(label, text) of every KPI, in the order the Stats tab and `connex-tui stats` show
    them; '-' where there is nothing to divide."""
    money = lambda v: present.money(v, currency)  # noqa: E731 exact, with the currency
    return [
        ("Attempts", f"{s.attempts:,}"), ("Connected", f"{s.connected:,}"),
        ("ASR", fmt_pct(s.asr)), ("ACD", fmt_mss(s.acd_s)), ("PDD", fmt_ms(s.pdd_ms)),
        ("NER", fmt_pct(s.ner)), ("CPS peak", str(s.cps_peak)),
        ("CPS mean", f"{s.cps_mean:.2f}"),
        ("Channels", f"{s.channels_now} now · {s.channels_peak} peak"),
        ("Duration", present.clock((s.sums.duration_ms + 500) // 1000)),  # half up
        ("Billed", present.clock(s.billed_s)), ("Charge", money(s.charge)),
        ("Cost", money(s.cost)), ("Profit", money(s.profit)),
        ("Profit %", fmt_pct(s.profit_percent)),
    ]


def code_cells(s: Summary) -> list[tuple[str, str, str]]:
    """SIP code, count, share of the attempts."""
    return [(str(code), f"{n:,}", f"{pct:.1f}%") for code, n, pct in s.code_shares()]


def destination_cells(d: Destination, currency: str = "") -> tuple[str, ...]:
    """Prefix, destination, attempts, ASR, ACD, charge."""
    return (present.text(d.prefix), present.text(d.destination) or "-", f"{d.attempts:,}",
            fmt_pct(d.asr), fmt_mss(d.acd_s), present.money(d.charge, currency))


# The reason phrases of the final codes a wholesale switch sees most (RFC 3261 §21);
# a stats rollup keeps the code only.
_SIP_NAMES = {
    200: "OK", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
    408: "Request Timeout", 480: "Temporarily Unavailable", 484: "Address Incomplete",
    486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
    500: "Server Internal Error", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Server Time-out", 580: "Precondition Failure", 600: "Busy Everywhere",
    603: "Decline",
}


def sip_name(code: int) -> str:
    return _SIP_NAMES.get(code, "")

"""`cdr import`: a switch's CDR file rated by the engine and written in batches.

Each line is parsed (formats.py), its customer found (`--customer`, else the accountcode
as a customer name or id), and rated by `engine.pipeline.rate_known` with the rates in
force at its start (route by tech prefix and dial string, longest prefix, increments,
precision, rounding: the pipeline's own steps). Batches go through the data layer's
CdrImportStore: one transaction each, call ids already stored left out before rating, so
a rerun after a kill resumes without charging twice (or rating again what landed).

Without `skip_bad` a first pass checks every line not yet stored and nothing is written
unless all are good; the second pass writes (only the lines the first pass read: a switch
appending to its file meanwhile adds nothing). With `skip_bad` one pass writes the good
lines and reports the bad ones. `dry_run` runs the same as an import and writes nothing.
"""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connex_tui.data.cdr_writer import CdrInput
from connex_tui.engine import present
from connex_tui.engine.known_rates import KnownRates
from connex_tui.engine.live_call import rated
from connex_tui.engine.snapshot import Result, Snapshot
from connex_tui.engine.textsafe import refuse_controls, safe_text
from connex_tui.feeds.cdr_import.formats import FORMATS, Bad, Format, Raw
from connex_tui.feeds.line_reader import OutOfBounds, bounded_text
from connex_tui.feeds.rates_csv import RowError

BATCH = 5000  # CDRs per transaction
MAX_REPORTED = 1000  # bad lines kept for the report; the rest are only counted
# Bounds on a file from outside, checked before and while reading. A CDR line is a few
# hundred bytes; a busy switch writes a few million a day.
MAX_LINE = 4096
MAX_LINES = 50_000_000
MAX_BYTES = 16 << 30

Progress = Callable[[str, int, int], None]  # stage ("checking", "importing"), done, total


class ImportRefused(ValueError):
    """The import cannot start or go on (bad option, unreadable file): nothing written by
    this run past the batches already committed, and the message says so."""


class Store(Protocol):  # data.cdr_import.CdrImportStore
    async def snapshot(self) -> Snapshot: ...
    async def present(self, call_ids: list[str]) -> set[str]: ...
    async def write(self, cdrs: list[CdrInput]) -> list[CdrInput]: ...


@dataclass(frozen=True, slots=True)
class ImportOptions:
    path: str
    fmt: str
    customer: str | None = None
    timezone: str = "UTC"
    dry_run: bool = False
    skip_bad: bool = False
    batch: int = BATCH


@dataclass(slots=True)
class Summary:
    file: str
    dry_run: bool = False
    lines: int = 0  # CDR lines read (header and blank lines not counted)
    imported: int = 0  # written (a dry run: would be written)
    duplicates: int = 0  # call ids already stored, or twice in one batch
    bad: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_REPORTED
    charges: dict[str, Decimal] = field(default_factory=dict)  # currency -> total
    refused: bool = False  # bad lines without skip_bad: nothing written
    stopped: int | None = None  # the line a fatal error ended the file at

    def lines_out(self) -> list[str]:
        """The closing report, safe to print."""
        name = safe_text(self.file)
        verb = "to import" if self.dry_run else "imported"
        out = []
        if self.refused:
            out.append(f"{name}: nothing imported: {self.bad:,} bad line"
                       f"{'s' if self.bad != 1 else ''} (--skip-bad imports the rest)")
        out.append(f"{name}: lines {self.lines:,}, {verb} {self.imported:,}, "
                   f"duplicates skipped {self.duplicates:,}, bad {self.bad:,}")
        for currency, total in sorted(self.charges.items()):
            out.append(f"charge {verb}: {present.money(total, currency, 4)}")
        if self.dry_run:
            out.append("dry run: nothing written")
        return out

    def as_dict(self) -> dict:
        return {"file": Path(self.file).name, "lines": self.lines, "imported": self.imported,
                "duplicates": self.duplicates, "bad": self.bad,
                "charges": {c: str(t) for c, t in sorted(self.charges.items())}}


def zone_named(name: str) -> tzinfo:
    """The IANA zone `name` (UTC by default); ImportRefused for an unknown one."""
    text = (name or "UTC").strip()
    if text.upper() in ("UTC", "Z"):
        return UTC
    try:
        refuse_controls(text)
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ImportRefused(f"--timezone: {safe_text(text)!s} is not a known time zone "
                            "(an IANA name like Europe/London, or UTC)") from None


class Customers:
    """The customer of a line: the one of --customer, else its accountcode as a name (any
    case) or an id."""

    def __init__(self, snap: Snapshot, given: str | None):
        self.by_name = {c.name.casefold(): c.id for c in snap.customers.values()}
        self.ids = set(snap.customers)
        self.fixed: int | None = None
        if given is not None:
            found = self.find(given)
            if found is None:
                raise ImportRefused(f"--customer: no customer {safe_text(given)!s} among "
                                    "those that can place calls")
            self.fixed = found

    def find(self, key: str) -> int | None:
        key = key.strip()
        found = self.by_name.get(key.casefold())
        if found is None and key.isascii() and key.isdigit() and int(key) in self.ids:
            found = int(key)
        return found

    def of(self, raw: Raw) -> int:
        if self.fixed is not None:
            return self.fixed
        if not raw.account:
            raise Bad("accountcode: empty, and no --customer given")
        found = self.find(raw.account)
        if found is None:
            raise Bad("accountcode: no such customer (name or id) among those that can "
                      "place calls")
        return found


class _Feed:
    """One line at a time into one csv.reader: a quoted field cannot run on to the next
    line, since the reader is never given it."""

    __slots__ = ("line",)

    def __init__(self) -> None:
        self.line: str | None = None

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        line, self.line = self.line, None
        if line is None:
            raise StopIteration
        return line


def records(stream, fmt: Format, *, on_bytes: Callable[[int], None] | None = None
            ) -> Iterator[tuple[int, list[str]] | RowError]:
    """(line number, fields) of each CDR line, or a RowError per bad line; a fatal one
    (bounds, header) ends the file. Control characters are refused before the line is
    split; blank lines are passed over."""
    feed = _Feed()
    reader = csv.reader(feed, strict=True)
    counts = fmt.counts()
    need_header = fmt.header
    try:
        for n, text in bounded_text(stream, max_line=MAX_LINE, max_lines=MAX_LINES,
                                    max_bytes=MAX_BYTES, row="a CDR line",
                                    file="one CDR file", on_bytes=on_bytes):
            body = text.rstrip("\r\n")
            if not body.strip():
                continue
            if not body.isprintable():
                try:
                    refuse_controls(body)
                except ValueError as exc:
                    if need_header:
                        yield RowError(n, f"header: {exc}", fatal=True)
                        return
                    yield RowError(n, str(exc))
                    continue
            if body[0] == '"' and body[-1] == '"' and '""' not in body and len(body) > 1:
                values = body[1:-1].split('","')  # the usual, all-quoted line: 6x faster
            else:
                feed.line = body
                try:
                    values = next(reader)
                except (csv.Error, StopIteration):
                    if need_header:
                        yield RowError(n, "header: not valid CSV", fatal=True)
                        return
                    yield RowError(n, "not valid CSV (a quote out of place)")
                    continue
            if need_header:
                need_header = False
                problem = fmt.set_header(values)  # type: ignore[attr-defined]
                if problem:
                    yield RowError(n, f"header: {problem}", fatal=True)
                    return
                counts = (len(values),)
                continue
            if len(values) not in counts:
                yield RowError(n, f"expected {' or '.join(map(str, counts))} fields "
                                  f"({fmt.name}), found {len(values)}{fmt.hint(len(values))}")
                continue
            yield n, values
    except OutOfBounds as exc:
        yield RowError(exc.line, str(exc), fatal=True)
        return
    if need_header:
        yield RowError(1, "empty file: expected a header of `cdr export` fields", fatal=True)


class _Rater:
    """Raw -> CdrInput, rated with the rates in force at its start (memoised per class of
    calls the pipeline cannot tell apart: engine/known_rates)."""

    def __init__(self, snap: Snapshot, customers: Customers):
        self.snap = snap
        self.customers = customers
        self.known = KnownRates(snap)

    def _rate_known(self, cid: int, raw: Raw) -> Result:
        # the number as written, an E.164 `+` dropped (as the simulate validator does); it
        # is stored as written
        return self.known.rate(cid, raw.dialled.removeprefix("+"), raw.started_at,
                               raw.cli_in, raw.source_ip)

    def check(self, raw: Raw) -> None:
        """Bad unless rate() would rate the line (the first pass: no CDR is built; the
        pass after it finds the same results in the memo)."""
        cid = self.customers.of(raw)
        if raw.answered_at is not None:
            result = self._rate_known(cid, raw)
            if result.rate is None:
                raise _no_rate(result)

    def rate(self, raw: Raw) -> tuple[CdrInput, str]:
        """The CDR and the currency of its charge; Bad for no customer or no rate."""
        snap = self.snap
        cid = self.customers.of(raw)
        answered = raw.answered_at is not None
        result = self._rate_known(cid, raw)
        billed, charge, cost = 0, Decimal(0), Decimal(0)
        provider = result.providers[0] if result.providers else None
        if result.rate is None:
            if answered:  # an answered call must be charged, and nothing says how much
                raise _no_rate(result)
        elif answered:
            billed, charge, cost = rated(snap, result, provider, raw.duration_ms,
                                         raw.started_at)
        currency = result.currency or snap.customers[cid].currency
        return CdrInput(
            call_id=raw.call_id, customer_id=cid, started_at=raw.started_at,
            ended_at=raw.ended_at, dialled=raw.dialled, sip_code=raw.sip_code,
            answered_at=raw.answered_at, duration_ms=raw.duration_ms, billed_s=billed,
            cli_in=raw.cli_in, cli_out=raw.cli_out, prefix=result.prefix,
            destination=result.destination[:100], rate=result.rate or Decimal(0),
            connect_fee=result.connect_fee or Decimal(0), charge=charge,
            provider_cost=cost, sip_reason=raw.sip_reason, release_reason=raw.release_reason,
            pdd_ms=raw.pdd_ms, source_ip=raw.source_ip, route_id=result.route_id,
            provider_id=provider.provider_id if provider else None), currency


def _no_rate(result: Result) -> Bad:
    return Bad(f"dialled number: no rate for this customer at the call's start "
               f"({result.sip_code} {result.reason})")


def checked_size(path: str) -> int:
    """The size of a regular file under the bound. A FIFO or device is refused: a check
    pass and a write pass read the file twice (and /dev/zero never ends)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ImportRefused(f"cannot read {safe_text(path)}: "
                            f"{safe_text(exc.strerror or str(exc))}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ImportRefused(f"{safe_text(path)}: not a regular file (a FIFO or device "
                            "cannot be read twice: copy it to a file first)")
    if info.st_size > MAX_BYTES:
        raise ImportRefused(f"{safe_text(path)}: larger than {MAX_BYTES >> 30} GiB, the "
                            "limit for one CDR file (split it)")
    if not os.access(path, os.R_OK):
        raise ImportRefused(f"cannot read {safe_text(path)}: permission denied")
    return info.st_size


async def import_cdrs(store: Store, opts: ImportOptions, *, progress: Progress | None = None,
                      after_batch: Callable[[int], Awaitable[None] | None] | None = None
                      ) -> Summary:
    """Import `opts.path`; the summary says what happened. ImportRefused before anything is
    read for a bad option or an unreadable file. `after_batch(n)` runs after the n-th
    batch is written (tests stop an import there, as a kill would)."""
    if opts.fmt not in FORMATS:
        raise ImportRefused(f"--format: one of {', '.join(FORMATS)}")
    if opts.fmt == "generic" and opts.customer is None:
        raise ImportRefused("--customer is needed with --format generic (its lines carry "
                            "no accountcode)")
    zone = zone_named(opts.timezone)
    size = checked_size(opts.path)
    snap = await store.snapshot()
    rater = _Rater(snap, Customers(snap, opts.customer))
    summary = Summary(opts.path, dry_run=opts.dry_run)
    limit = MAX_LINES
    if not opts.skip_bad and not opts.dry_run:
        check = Summary(opts.path)
        limit = await _Pass(store, rater, opts, zone, size, check, progress,
                            check_only=True).run(MAX_LINES)
        if check.bad:
            check.refused = True
            return check
    await _Pass(store, rater, opts, zone, size, summary, progress,
                after_batch=after_batch).run(limit)
    if opts.dry_run and summary.bad and not opts.skip_bad:
        summary.refused = True  # what the import would do
    return summary


class _Pass:
    """One reading of the file: lines parsed and gathered into batches; per batch, the
    call ids already stored are left out first (a rerun after a kill does not rate again
    what landed), then each line is checked (`check_only`, the first pass) or rated and the
    batch written (unless a dry run). A fatal error (bounds) ends the pass; the batches
    before it stay written."""

    def __init__(self, store: Store, rater: _Rater, opts: ImportOptions, zone: tzinfo,
                 size: int, summary: Summary, progress: Progress | None, *,
                 check_only: bool = False, after_batch=None) -> None:
        self.store, self.rater, self.opts, self.zone = store, rater, opts, zone
        self.size, self.summary, self.progress = size, summary, progress
        self.check_only, self.after_batch = check_only, after_batch
        self.stage = "checking" if check_only else "importing"
        self.done = 0  # bytes read
        self.batch: dict[str, tuple[int, Raw]] = {}  # call id -> (line, call)
        self.batches = 0

    def on_bytes(self, n: int) -> None:
        self.done += n

    def bad(self, error: RowError) -> None:
        self.summary.bad += 1
        if len(self.summary.errors) < MAX_REPORTED:
            self.summary.errors.append(error)

    async def run(self, stop_after: int) -> int:
        """Read up to line `stop_after`; returns the number of the last line read."""
        summary, opts = self.summary, self.opts
        fmt = FORMATS[opts.fmt]()
        last = 0
        with open(opts.path, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # swapped since checked
                raise ImportRefused(f"{safe_text(opts.path)}: not a regular file")
            for item in records(fh, fmt, on_bytes=self.on_bytes):
                if isinstance(item, RowError):
                    if item.line > stop_after:
                        break
                    self.bad(item)
                    if item.fatal:
                        summary.stopped = item.line
                        break
                    summary.lines += 1
                    continue
                n, values = item
                if n > stop_after:
                    break
                last = n
                summary.lines += 1
                try:
                    raw = fmt.parse(values, self.zone)
                except Bad as exc:
                    self.bad(RowError(n, str(exc)))
                    continue
                if raw.call_id in self.batch:  # twice in one batch: the first one counts
                    summary.duplicates += 1
                    continue
                self.batch[raw.call_id] = (n, raw)
                if len(self.batch) >= opts.batch:
                    await self.flush()
            await self.flush()
        summary.errors.sort(key=lambda e: e.line)  # rating errors come a batch late
        if self.progress is not None:
            self.progress(self.stage, self.done, self.done)
        return last

    async def flush(self) -> None:
        batch, self.batch = self.batch, {}
        if not batch:
            return
        summary, rater = self.summary, self.rater
        there = await self.store.present(list(batch))
        summary.duplicates += len(there)
        cdrs: list[CdrInput] = []
        currencies: dict[str, str] = {}
        for call_id, (n, raw) in batch.items():
            if call_id in there:
                continue
            try:
                if self.check_only:
                    rater.check(raw)
                    continue
                cdr, currencies[call_id] = rater.rate(raw)
            except Bad as exc:
                self.bad(RowError(n, str(exc)))
                continue
            cdrs.append(cdr)
        if self.progress is not None:
            self.progress(self.stage, min(self.done, self.size), self.size)
        if self.check_only or not cdrs:
            return
        landed = cdrs if self.opts.dry_run else await self.store.write(cdrs)
        summary.duplicates += len(cdrs) - len(landed)  # stored since present() looked
        summary.imported += len(landed)
        charges = summary.charges
        for c in landed:
            cur = currencies[c.call_id]
            charges[cur] = charges.get(cur, Decimal(0)) + c.charge
        self.batches += 1
        if self.after_batch is not None:
            waited = self.after_batch(self.batches)
            if waited is not None:
                await waited

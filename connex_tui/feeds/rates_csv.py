"""Rate-card CSV files (docs/domain.md §3): `prefix,destination,rate,connect_fee,increment`
plus optional `effective_from` and `blocked`, with a header row.

Every row goes through validate_rate_row; errors are reported by line number. An import
is one transaction: nothing is written unless every row is good, or (skip_bad) the good
rows are written and the bad ones still reported. Rows upsert by (prefix, effective_from);
`replace` also deletes the card's rows the file does not hold.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, TextIO

from connex_tui.data.access import Actor
from connex_tui.data.config_write import moment_text, plain_decimal
from connex_tui.data.db import Database
from connex_tui.data.rate_rows import (
    RowCounts,
    RowSync,
    card_id_by_name,
    count_rows,
    record_import,
    stream_rows,
)
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.routing_validation import RateRowInput, validate_rate_row
from connex_tui.engine.textsafe import safe_text
from connex_tui.engine.validation import ValidationError
from connex_tui.feeds.line_reader import OutOfBounds, bounded_text

HEADER = ("prefix", "destination", "rate", "connect_fee", "increment", "effective_from",
          "blocked")
REQUIRED = HEADER[:5]
MAX_REPORTED = 1000  # errors kept for the report; the rest are only counted
# Bounds on a file from outside, checked while reading. A row is under 200 bytes (a
# 100-character destination in UTF-8 is at most 400); the world's numbering plans hold
# fewer than a million prefixes.
MAX_LINE = 4096  # bytes, newline included
MAX_LINES = 2_000_000
MAX_BYTES = 256 << 20

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str
    fatal: bool = False  # the file cannot be read on from this line (header, bytes, caps)

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class _FatalLine(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.error = RowError(line, message, fatal=True)


def _fields_message(exc: ValidationError) -> str:
    return "; ".join(f"{k}: {v}" for k, v in exc.errors.items())


def parse(lines: Iterable[str], *,
          effective_from: datetime | None = None) -> Iterator[RateRowInput | RowError]:
    """Validated rows of a rate CSV, or an error per bad line. A broken header (or a line
    that is not text) ends the file with one error. `effective_from` is given to rows
    whose own column is missing or empty."""
    reader = csv.reader(iter(lines), strict=True)
    try:
        header = next(reader, None)
    except (_FatalLine, csv.Error) as exc:
        yield exc.error if isinstance(exc, _FatalLine) else RowError(1, str(exc), True)
        return
    columns = [h.strip().lower() for h in header or ()]
    problem = _header_problem(columns)
    if problem:
        yield RowError(1, problem, fatal=True)
        return
    seen: dict[str | tuple, int] = {}
    line = reader.line_num
    while True:
        start = line + 1
        try:
            record = next(reader, None)
        except _FatalLine as exc:
            yield exc.error
            return
        except csv.Error as exc:
            yield RowError(start, f"not valid CSV: {exc}", fatal=True)
            return
        line = reader.line_num
        if record is None:
            return
        if not record or (len(record) == 1 and not record[0].strip()):
            continue  # blank line
        if len(record) != len(columns):
            yield RowError(start, f"expected {len(columns)} fields ({','.join(columns)}), "
                                  f"found {len(record)}")
            continue
        raw = dict(zip(columns, map(unquote_formula, record), strict=True))
        if effective_from is not None and not raw.get("effective_from", "").strip():
            raw["effective_from"] = effective_from
        try:
            row = validate_rate_row(raw)
        except ValidationError as exc:
            yield RowError(start, _fields_message(exc))
            continue
        # the bare prefix for undated rows: a million keys take less memory as strings
        key = row.prefix if row.effective_from is None else (row.prefix, row.effective_from)
        if key in seen:
            when = f" effective from {moment_text(row.effective_from)}" \
                if row.effective_from else ""
            yield RowError(start, f"prefix {row.prefix}{when} is already on line {seen[key]}")
            continue
        seen[key] = start
        yield row


def _header_problem(columns: list[str]) -> str:
    if not columns:
        return f"empty file: expected the header {','.join(REQUIRED)}"
    if not set(columns) & set(HEADER):
        return f"no header row: the first line must be {','.join(REQUIRED)}"
    unknown = [c for c in columns if c not in HEADER]
    if unknown:
        return (f"unknown column {unknown[0]!r}: the header is {','.join(REQUIRED)} "
                f"(+ optional effective_from, blocked)")
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        return f"column {twice[0]!r} appears twice"
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        return f"missing column {missing[0]!r}: the header is {','.join(REQUIRED)}"
    return ""


def decoded_lines(stream: BinaryIO, on_bytes: Callable[[int], None] | None = None
                  ) -> Iterator[str]:
    """UTF-8 lines of a binary stream (line_reader.bounded_text with a rate file's bounds);
    a broken bound ends the file with one error."""
    try:
        for _, text in bounded_text(stream, max_line=MAX_LINE, max_lines=MAX_LINES,
                                    max_bytes=MAX_BYTES, row="a rate row",
                                    file="one rate file", on_bytes=on_bytes):
            yield text
    except OutOfBounds as exc:
        raise _FatalLine(exc.line, str(exc)) from None


def read_file(path: str | Path, *, effective_from: datetime | None = None
              ) -> Iterator[RateRowInput | RowError]:
    """parse() of a CSV file on disk (used by the YAML apply for `rates_csv`)."""
    with open(path, "rb") as fh:
        yield from parse(decoded_lines(fh), effective_from=effective_from)


# -- import ---------------------------------------------------------------------------------
@dataclass(slots=True)
class ImportReport:
    card: str
    rows: int = 0  # data rows read
    good: int = 0
    bad: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_REPORTED
    counts: RowCounts = field(default_factory=RowCounts)
    written: bool = False
    stopped: int | None = None  # the line a fatal error ended the file at

    def summary(self) -> str:
        if not self.written:
            if self.stopped == 1:
                return f"{self.card}: nothing imported (the header is wrong)"
            if self.stopped is not None:
                return f"{self.card}: nothing imported (the file stops being readable at " \
                       f"line {self.stopped})"
            if not self.bad:
                return f"{self.card}: nothing imported (no rows in the file)"
            return (f"{self.card}: nothing imported ({self.bad} bad row"
                    f"{'s' if self.bad != 1 else ''} of {self.rows})")
        skipped = f", {self.bad} bad rows skipped" if self.bad else ""
        return f"{self.card}: {self.good} rows imported: {self.counts}{skipped}"


async def import_csv(db: Database, actor: Actor, card: str, path: str | Path, *,
                     effective_from: datetime | None = None, skip_bad: bool = False,
                     replace: bool = False, progress: Progress | None = None,
                     clock: Clock = utcnow) -> ImportReport:
    """Import a rate CSV into the card named `card`, in one transaction. NotFound for an
    unknown card; bad rows are in the report (nothing written unless `skip_bad`)."""
    actor.require("write")
    if replace:
        actor.require("delete")
        if effective_from is not None and effective_from > clock():
            raise ValueError("a future effective-from with replace would delete the rates in "
                             "force now, before the new ones start: import without replace "
                             "(dated rows take over on their date)")
    report = ImportReport(card)
    total = os.path.getsize(path)  # 0 for a FIFO or device: the caps hold while reading
    if total > MAX_BYTES:
        raise ValueError(f"{safe_text(path)}: larger than {MAX_BYTES >> 20} MiB, the limit "
                         f"for one rate file (split it, or import per country)")
    done = 0

    def on_bytes(n: int) -> None:
        nonlocal done
        done += n

    # One transaction: the session rolls back on leaving unless it was committed.
    async with db.sessions() as s:
        card_id = await card_id_by_name(s, card)
        before = await count_rows(s, card_id)
        sync = RowSync(s, card_id)
        with open(path, "rb") as fh:
            for item in parse(decoded_lines(fh, on_bytes), effective_from=effective_from):
                if isinstance(item, RowError):
                    if item.fatal:
                        report.stopped = item.line
                    report.bad += 1
                    if len(report.errors) < MAX_REPORTED:
                        report.errors.append(item)
                else:
                    report.good += 1
                    if skip_bad or not report.bad:  # after a bad row: only validate
                        await sync.add(item)
                report.rows = report.good + report.bad
                if progress is not None and report.rows % 2000 == 0 and done < total:
                    progress(done, total)
        if progress is not None:
            progress(total, total)
        if report.good == 0 or report.stopped or (report.bad and not skip_bad):
            return report  # a file cut short by a fatal error is never half imported
        report.counts = await sync.finish(replace=replace)
        await record_import(s, actor, card_id, before=before, counts=report.counts,
                            after={"file": Path(path).name, "skipped_bad": report.bad},
                            now=clock())
        await s.commit()
        report.written = True
    return report


# -- spreadsheet formulas -------------------------------------------------------------------
# A deck is opened in a spreadsheet, which runs a cell starting with one of these as a
# formula (OWASP "CSV injection"): export puts a ' before it, and import takes it off, so
# export -> import gives the same rows. A cell that already starts with ' before one of
# them gets one more, so the mapping is one-to-one and nothing typed is ever lost.
FORMULA_START = frozenset("=+-@\t\r")
_QUOTE_CHECK = FORMULA_START | {"'"}


def _formula_like(cell: str) -> bool:
    return cell.lstrip("'")[:1] in FORMULA_START


def quote_formula(cell: str) -> str:
    return "'" + cell if cell and cell[0] in _QUOTE_CHECK and _formula_like(cell) else cell


def unquote_formula(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and _formula_like(cell) else cell


# -- export ---------------------------------------------------------------------------------
def row_fields(prefix: str, destination: str, rate, connect_fee, mcd: int, pulse: int,
               effective_from: datetime | None, blocked: bool) -> list[str]:
    cells = [prefix, destination, plain_decimal(rate), plain_decimal(connect_fee),
             f"{mcd}/{pulse}", moment_text(effective_from), "yes" if blocked else "no"]
    return [quote_formula(c) for c in cells]  # every cell: a stored -1 would be a formula


async def write_card_csv(s, card_id: int, out: TextIO) -> int:
    """The card's rows as CSV on `out`, in the caller's session; returns the row count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    n = 0
    async for part in stream_rows(s, card_id):
        writer.writerows(row_fields(*r) for r in part)
        n += len(part)
    return n


async def export_csv(db: Database, card: str, out: TextIO) -> int:
    """Write the card's rows to `out` in the import format; returns the number of rows."""
    async with db.sessions() as s:
        return await write_card_csv(s, await card_id_by_name(s, card), out)

"""`connex-tui simulate --batch FILE.csv`: a number list through the pipeline, one JSON
object per line, so an operator can test a whole list after a rate or route change.

CSV header: any of `number,cli,ip,user,password,at` (number required; other columns may be
missing or empty). Every call is decided against one configuration, loaded once, and one
reading of the live load; an empty `at` is the batch's start time, so the whole list is
judged at the same moment. A line that does not validate becomes `{"line": n, "error":
"..."}` and the batch goes on. One physical line is one call (a call list has no quoted
line breaks), so `line` is exactly the file's line.
"""

from __future__ import annotations

import csv
import gc
from collections.abc import AsyncIterator
from datetime import datetime
from typing import BinaryIO

from connex_tui.data.calls import CallsService
from connex_tui.engine.call_validation import validate_call
from connex_tui.engine.present import json_line
from connex_tui.engine.report import result_json
from connex_tui.engine.validation import ValidationError
from connex_tui.feeds.line_reader import LineTooLong, read_lines

COLUMNS = ("number", "cli", "ip", "user", "password", "at")
# CSV column -> validate_call field
_FIELD = {"number": "number", "cli": "cli", "ip": "ip", "user": "sip_user",
          "password": "sip_password", "at": "at"}
MAX_LINE = 4096  # bytes: six short fields fit many times over; a longer line is one bad call


class BatchFileError(ValueError):
    """The file as a whole cannot be read as a batch (header, encoding, an endless line)."""


def _message(exc: ValidationError) -> str:
    back = {v: k for k, v in _FIELD.items()}
    return "; ".join(f"{back.get(f, f)}: {m}" for f, m in exc.errors.items())


def _record(raw: bytes | None, width: int) -> list[str] | str:
    """The fields of one physical line, or the error that makes it a bad call."""
    if raw is None:
        return f"longer than {MAX_LINE} bytes"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8 text"
    text = text.rstrip("\r\n")
    if not text:
        return []
    if '"' in text or "\r" in text or "\n" in text:
        try:
            record = next(csv.reader([text], strict=True), [])
        except csv.Error as exc:  # a quote left open: a call list has no multi-line fields
            return f"not valid CSV: {exc}"
    else:  # no quoting and no line break: what the csv module reads is the split
        record = text.split(",")
    if len(record) != width and record:
        return f"{width} fields expected, found {len(record)}"
    return record


def _header(lines) -> list[str]:
    try:
        first = next(lines, None)
    except LineTooLong:
        first = (1, None)
    if first is None:
        raise BatchFileError("empty file: the header must name the columns, with at least "
                             "`number`: " + ",".join(COLUMNS))
    _, raw = first
    if raw is None:
        raise BatchFileError(f"line 1: longer than {MAX_LINE} bytes: not a header")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BatchFileError("line 1: not UTF-8 text") from None
    try:
        header = [h.strip().lower() for h in next(csv.reader([text.rstrip("\r\n")]), [])]
    except csv.Error as exc:
        raise BatchFileError(f"line 1: not valid CSV: {exc}") from None
    if "number" not in header:
        raise BatchFileError("the header must name the columns, with at least `number`: "
                             + ",".join(COLUMNS))
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise BatchFileError(f"unknown column {unknown[0]!r} (columns: {','.join(COLUMNS)})")
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise BatchFileError(f"column {twice[0]!r} appears twice")
    return header


BLOCK = 512  # lines handed over at a time: one await per block, not per line


async def run_batch(calls: CallsService, stream: BinaryIO, *, at: datetime,
                    switch_ip: str = "", store: bool = False) -> AsyncIterator[list[str]]:
    """Yield the output a block of lines at a time: one JSON object per data line, as text
    (present.json_line), in the file's order: the result_to_json object plus `line` (the
    file's line number) and `call_id` (null unless stored), or `line` and `error`. Every
    bad line (too long, not UTF-8, broken CSV, wrong field count, a field that does not
    validate) is an error object and the batch goes on; BatchFileError only for a header
    that cannot be read or a line that never ends (past 1 MiB)."""
    lines = read_lines(stream, max_line=MAX_LINE)
    header = _header(lines)
    run = await calls.fixed_run(at)
    # Nothing to store: each call is decided right here, no coroutine a line.
    decide = None if store and calls.can_store else run.decide
    # The configuration is loaded for the whole batch: out of the collector's sight, full
    # collections no longer walk it every few thousand lines (a tenth of a batch's time).
    gc.freeze()
    width, block = len(header), []
    while True:
        if len(block) >= BLOCK:
            yield block
            block = []
        try:
            item = next(lines, None)
        except (LineTooLong, OSError) as exc:
            if block:  # the lines decided so far are printed before the error
                yield block
            if isinstance(exc, LineTooLong):
                raise BatchFileError(f"{exc}: not a list of calls") from None
            raise
        if item is None:
            break
        n, raw = item
        record = _record(raw, width)
        if isinstance(record, str):
            block.append(json_line({"line": n, "error": record}))
            continue
        if not "".join(record).strip():  # no fields, or only blank ones
            continue  # a blank line
        fields = {_FIELD[k]: v.strip() for k, v in zip(header, record, strict=True)}
        fields["switch_ip"] = switch_ip
        if not fields.get("at"):  # the batch's moment, given here rather than copied in later
            fields["at"] = at
        try:
            call = validate_call(fields)
        except ValidationError as exc:
            block.append(json_line({"line": n, "error": _message(exc)}))
            continue
        if decide is not None:
            block.append(result_json(decide(call), None, line=n))
        else:
            sim = await run.simulate(call, store=True)
            block.append(result_json(sim.result, sim.call_id, line=n))
    if block:
        yield block

"""`connex-tui simulate --batch FILE.csv`: a number list through the pipeline, one JSON
object per line, so an operator can test a whole list after a rate or route change.

CSV header: any of `number,cli,ip,user,password,at` (number required; other columns may be
missing or empty). Every call is decided against one configuration, loaded once, and one
reading of the live load; an empty `at` is the batch's start time, so the whole list is
judged at the same moment. A line that does not validate becomes `{"line": n, "error":
"..."}` and the batch goes on.
"""

from __future__ import annotations

import csv
import gc
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

from connex_tui.data.calls import CallsService
from connex_tui.engine.call_validation import validate_call
from connex_tui.engine.report import result_to_json
from connex_tui.engine.validation import ValidationError

COLUMNS = ("number", "cli", "ip", "user", "password", "at")
# CSV column -> validate_call field
_FIELD = {"number": "number", "cli": "cli", "ip": "ip", "user": "sip_user",
          "password": "sip_password", "at": "at"}


class BatchFileError(ValueError):
    """The file as a whole cannot be read as a batch (header, encoding)."""


def _message(exc: ValidationError) -> str:
    back = {v: k for k, v in _FIELD.items()}
    return "; ".join(f"{back.get(f, f)}: {m}" for f, m in exc.errors.items())


async def run_batch(calls: CallsService, lines: Iterable[str], *, at: datetime,
                    switch_ip: str = "", store: bool = False) -> AsyncIterator[dict[str, Any]]:
    """Yield one JSON-ready dict per data line: the result_to_json object plus `line` (the
    file's line number) and `call_id` (null unless stored), or `line` and `error`."""
    reader = csv.DictReader(lines)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "number" not in header:
        raise BatchFileError("the header must name the columns, with at least `number`: "
                             + ",".join(COLUMNS))
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise BatchFileError(f"unknown column {unknown[0]!r} (columns: {','.join(COLUMNS)})")
    reader.fieldnames = header
    run = await calls.fixed_run(at)
    # The configuration is loaded for the whole batch: out of the collector's sight, full
    # collections no longer walk it every few thousand lines (a tenth of a batch's time).
    gc.freeze()
    for row in reader:
        start = reader.line_num  # the line the record ends on (a quoted field may span)
        if None in row or any(v is None for v in row.values()):
            yield {"line": start, "error": f"{len(header)} fields expected"}
            continue
        raw = {_FIELD[k]: v.strip() for k, v in row.items()}
        raw["switch_ip"] = switch_ip
        if not raw.get("at"):  # the batch's moment, given here rather than copied in later
            raw["at"] = at
        try:
            call = validate_call(raw)
        except ValidationError as exc:
            yield {"line": start, "error": _message(exc)}
            continue
        sim = await run.simulate(call, store=store)
        yield {"line": start, **result_to_json(sim.result), "call_id": sim.call_id}

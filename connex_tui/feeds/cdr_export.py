"""CDRs out as CSV or JSON lines, streamed a chunk at a time (memory stays flat however
long the range): `connex-tui cdr export` and the CDR tab's export both write through here.

The fields are engine/cdr_fields.EXPORT_FIELDS. CSV cells that a spreadsheet would run as a
formula get a leading ' as the rates export does (feeds/rates_csv.quote_formula; a reader
takes it off with unquote_formula); JSON lines carry the values as they are, money as exact
decimal strings.
"""

from __future__ import annotations

import csv
from datetime import date
from typing import TextIO

from connex_tui.data.cdrs import CdrFilter, CdrService
from connex_tui.engine.cdr_fields import EXPORT_FIELDS, csv_values, export_values
from connex_tui.engine.present import json_line
from connex_tui.feeds.rates_csv import quote_formula

FORMATS = ("csv", "jsonl")


async def export_cdrs(svc: CdrService, customer_id: int, first: date, last: date,
                      out: TextIO, fmt: str = "csv", f: CdrFilter = CdrFilter()) -> int:
    """Write the customer's CDRs of UTC days first..last to `out`; returns how many."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    n = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_FIELDS)
        async for chunk in svc.export(customer_id, first, last, f):
            writer.writerows([quote_formula(c) for c in csv_values(r)] for r in chunk)
            n += len(chunk)
        return n
    async for chunk in svc.export(customer_id, first, last, f):
        out.write("".join(json_line(dict(zip(EXPORT_FIELDS, export_values(r), strict=True)))
                          + "\n" for r in chunk))
        n += len(chunk)
    return n

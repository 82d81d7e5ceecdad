"""The fields of an exported CDR, in one place: `cdr export` writes them, the CDR tab's CSV
export writes them, and `cdr import --format generic` reads a header naming them.

Money is an exact decimal string (shortest form: 0.0009), times ISO 8601 in UTC with a Z,
durations integers; an absent value (no answer, no PDD) is empty in CSV and null in JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connex_tui.engine.present import plain_decimal

EXPORT_FIELDS: tuple[str, ...] = (
    "call_id", "start", "answer", "end", "duration_ms", "billed_s", "dialled", "cli_in",
    "cli_out", "prefix", "destination", "rate", "connect_fee", "charge", "provider",
    "provider_cost", "sip_code", "sip_reason", "release_reason", "pdd_ms", "source_ip",
    "free_s")  # billed seconds a free-minutes package paid for


def iso_utc(at: datetime | None) -> str | None:
    """2025-03-14T10:15:07Z, or with the fraction when there is one (…07.300000Z)."""
    if at is None:
        return None
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def export_values(r: Any) -> tuple[Any, ...]:
    """The values of EXPORT_FIELDS, in order, as JSON takes them (str, int or None).
    `r` has a CDR's fields by their stored names (data.cdrs.CdrRecord)."""
    return (r.call_id, iso_utc(r.started_at), iso_utc(r.answered_at), iso_utc(r.ended_at),
            r.duration_ms, r.billed_s, r.dialled, r.cli_in, r.cli_out, r.prefix,
            r.destination, plain_decimal(r.rate), plain_decimal(r.connect_fee),
            plain_decimal(r.charge), r.provider, plain_decimal(r.provider_cost), r.sip_code,
            r.sip_reason, r.release_reason, r.pdd_ms, r.source_ip, r.free_s)


def csv_values(r: Any) -> list[str]:
    """export_values as CSV cells: None is empty."""
    return ["" if v is None else str(v) for v in export_values(r)]

"""The CDR files of real switches, one record a line (docs/domain.md §7):

- freeswitch: mod_cdr_csv's default `example` template, 15 quoted fields;
- asterisk: cdr_csv's Master.csv, 18 fields (17 without `userfield`; `uniqueid`, the call
  id, is required: `loguniqueid=yes` in cdr.conf);
- generic: a header row naming fields of `cdr export` (EXPORT_FIELDS).

A parser turns one line's fields into a Raw record or raises Bad naming the field; the
message never repeats what the file holds (a field name, a count, a rule), since the
file is hostile and its bytes could be anything. Times without a zone are in the
import's zone; every time is returned as aware UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from connex_tui.engine.cdr_fields import EXPORT_FIELDS
from connex_tui.engine.route_fields import EARLIEST, LATEST, RANGE_MESSAGE
from connex_tui.engine.sip_causes import (
    cause_name,
    reason_for,
    sip_for_cause,
    sip_for_disposition,
)
from connex_tui.feeds.rates_csv import unquote_formula

GENERIC_REQUIRED = ("call_id", "start", "end", "dialled", "sip_code")

FREESWITCH_FIELDS = ("caller_id_name", "caller_id_number", "destination_number", "context",
                     "start_stamp", "answer_stamp", "end_stamp", "duration", "billsec",
                     "hangup_cause", "uuid", "bleg_uuid", "accountcode", "read_codec",
                     "write_codec")
ASTERISK_FIELDS = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel",
                   "lastapp", "lastdata", "start", "answer", "end", "duration", "billsec",
                   "disposition", "amaflags", "uniqueid", "userfield")

# Column widths of the cdrs table: longer values are refused, never cut.
CALL_ID_MAX = 128
NUMBER_MAX = 64
MAX_SECONDS = 10_000_000  # a duration field: about 115 days
_MS = timedelta(milliseconds=1)
_STAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d{1,6})?)?(Z|[+-]\d\d(:?\d\d)?)?")


class Bad(ValueError):
    """One line's fault: `field: message` (no file content)."""


@dataclass(frozen=True, slots=True)
class Raw:
    """One call as the switch recorded it, checked but not yet rated."""

    call_id: str
    account: str  # the accountcode: a customer name or id ('' for none)
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    duration_ms: int  # answered time
    dialled: str
    cli_in: str
    cli_out: str
    sip_code: int
    sip_reason: str
    release_reason: str
    pdd_ms: int | None = None
    source_ip: str = ""


# (zone, "YYYY-MM-DD HH:MM") -> that minute in UTC, or None when the zone's offset changes
# within it. A file's stamps run through a few thousand minutes, each many times.
_MINUTES: dict[tuple[tzinfo, str], datetime | None] = {}
_SECONDS = tuple(timedelta(seconds=s) for s in range(60))
_DIGITS = frozenset("0123456789")
_FIRST_YEAR, _END_YEAR = EARLIEST.year, LATEST.year


def stamp(value: str, field: str, zone: tzinfo) -> datetime:
    """A time as switches write it (2026-12-03 10:00:05, ISO 8601 with T, fractions or an
    offset); without an offset it is in `zone`. Aware UTC."""
    if len(value) == 19 and value[16] == ":" and value[17] in _DIGITS \
            and value[18] in _DIGITS and value[17] < "6":
        base = _MINUTES.get((zone, value[:16]), False)
        if base is False:
            base = _minute(value[:16], zone)
        if base is not None:
            return base + _SECONDS[int(value[17:19])]
    return _stamp(value, field, zone)


def _minute(text: str, zone: tzinfo) -> datetime | None:
    """The minute `text` (switch form, a space between) in UTC, memoised; None for a text
    not of that form or a minute the zone's offset changes in (the slow path judges)."""
    if text[10] != " ":
        return None
    try:
        local = datetime.fromisoformat(text)  # checks every digit
        if not _FIRST_YEAR <= local.year < _END_YEAR:
            return None  # the slow path says why it is refused
        first = local.replace(tzinfo=zone).astimezone(UTC)
        last = (local + _SECONDS[59]).replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if len(_MINUTES) >= 100_000:
        _MINUTES.clear()
    base = _MINUTES[(zone, text)] = first if last - first == _SECONDS[59] else None
    return base


def _stamp(value: str, field: str, zone: tzinfo) -> datetime:
    text = value.strip()
    # the switches' own form (19 characters, a space) skips the regex: fromisoformat
    # checks every digit of it, and only the separator is left to look at
    if not (len(text) == 19 and text[10] == " ") and not _STAMP.fullmatch(text):
        raise Bad(f"{field}: not a time like 2026-12-03 10:00:05")
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise Bad(f"{field}: not a valid date and time") from None
    if not _FIRST_YEAR <= t.year < _END_YEAR:  # no call (nor rate) of year 1 or 9999
        raise Bad(f"{field}: {RANGE_MESSAGE}")
    if t.tzinfo is None:
        if zone is UTC:
            return t.replace(tzinfo=UTC)
        t = t.replace(tzinfo=zone)
    try:
        return t.astimezone(UTC)
    except OverflowError:
        raise Bad(f"{field}: out of range") from None


def optional_stamp(value: str, field: str, zone: tzinfo) -> datetime | None:
    return stamp(value, field, zone) if value.strip() else None


def whole(value: str, field: str, most: int = MAX_SECONDS) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise Bad(f"{field}: not a whole number")
    number = int(text)
    if number > most:
        raise Bad(f"{field}: more than {most:,}")
    return number


def ident(value: str, field: str) -> str:
    text = value.strip()
    if not text:
        raise Bad(f"{field}: empty")
    if len(text) > CALL_ID_MAX:
        raise Bad(f"{field}: longer than {CALL_ID_MAX} characters")
    return text


def number(value: str, field: str, *, required: bool = False) -> str:
    text = value.strip()
    if required and not text:
        raise Bad(f"{field}: empty")
    if len(text) > NUMBER_MAX:
        raise Bad(f"{field}: longer than {NUMBER_MAX} characters")
    return text


def times(start: datetime, answer: datetime | None, end: datetime, names: tuple[str, str, str]
          ) -> None:
    if end < start:
        raise Bad(f"{names[2]}: before {names[0]}")
    if answer is not None and not start <= answer <= end:
        raise Bad(f"{names[1]}: not between {names[0]} and {names[2]}")


class Format:
    """One line's fields -> Raw: fixed fields, or (header) the columns a header row names."""

    name = ""
    fields: tuple[str, ...] = ()
    header = False

    def counts(self) -> tuple[int, ...]:
        return (len(self.fields),)

    def hint(self, found: int) -> str:
        """What a line of `found` fields may mean, after the count."""
        return ""

    def parse(self, values: list[str], zone: tzinfo) -> Raw:
        raise NotImplementedError


class FreeSwitch(Format):
    name = "freeswitch"
    fields = FREESWITCH_FIELDS

    def parse(self, v: list[str], zone: tzinfo) -> Raw:
        start = stamp(v[4], "start_stamp", zone)
        answer = optional_stamp(v[5], "answer_stamp", zone)
        end = stamp(v[6], "end_stamp", zone)
        times(start, answer, end, ("start_stamp", "answer_stamp", "end_stamp"))
        duration = whole(v[7], "duration")
        billsec = whole(v[8], "billsec")
        if billsec > duration:
            raise Bad("billsec: more than duration")
        if billsec and answer is None:
            raise Bad("billsec: a call without answer_stamp has none")
        cause = cause_name(v[9])
        if not cause:
            raise Bad("hangup_cause: empty")
        code, reason = sip_for_cause(cause, answer is not None)
        cli = number(v[1], "caller_id_number")
        return Raw(ident(v[10], "uuid"), v[12].strip(), start, answer, end, billsec * 1000,
                   number(v[2], "destination_number", required=True), cli, cli, code,
                   reason, cause[:32])


class Asterisk(Format):
    name = "asterisk"
    fields = ASTERISK_FIELDS

    def counts(self) -> tuple[int, ...]:
        return (18, 17)

    def hint(self, found: int) -> str:
        return " (no uniqueid: set loguniqueid=yes in cdr.conf)" if found == 16 else ""

    def parse(self, v: list[str], zone: tzinfo) -> Raw:
        start = stamp(v[9], "start", zone)
        disposition = " ".join(v[14].upper().split())
        if not disposition:
            raise Bad("disposition: empty")
        code, reason = sip_for_disposition(disposition)
        answered = code == 200
        if answered and not v[10].strip():
            raise Bad("answer: empty for an ANSWERED call")
        # an unanswered call's answer is empty, or the start on some versions: unused
        answer = stamp(v[10], "answer", zone) if answered else None
        end = stamp(v[11], "end", zone)
        times(start, answer, end, ("start", "answer", "end"))
        duration = whole(v[12], "duration")
        billsec = whole(v[13], "billsec") if answered else 0
        if billsec > duration:
            raise Bad("billsec: more than duration")
        cli = number(v[1], "src")
        return Raw(ident(v[16], "uniqueid"), v[0].strip(), start, answer, end, billsec * 1000,
                   number(v[2], "dst", required=True), cli, cli, code, reason,
                   disposition[:32])


class Generic(Format):
    """The fields of `cdr export`, in any order and any subset holding GENERIC_REQUIRED.
    What rating decides (billed_s, prefix, destination, rate, connect_fee, charge,
    provider, provider_cost) is read past: every CDR is rated afresh."""

    name = "generic"
    header = True

    def __init__(self) -> None:
        self.fields = ()
        self.at: dict[str, int] = {}

    def set_header(self, names: list[str]) -> str:
        """'' when the header is good, else what is wrong with it (columns by position)."""
        columns = [unquote_formula(n).strip().lower() for n in names]
        for i, name in enumerate(columns, 1):
            if name not in EXPORT_FIELDS:
                return f"column {i} of the header is not a field of `cdr export` " \
                       f"({', '.join(EXPORT_FIELDS)})"
            if columns.index(name) != i - 1:
                return f"column {i} of the header repeats {name}"
        missing = [f for f in GENERIC_REQUIRED if f not in columns]
        if missing:
            return f"the header has no {missing[0]} column (needed: " \
                   f"{', '.join(GENERIC_REQUIRED)})"
        self.fields = tuple(columns)
        self.at = {name: i for i, name in enumerate(columns)}
        return ""

    def _get(self, v: list[str], name: str) -> str:
        i = self.at.get(name)
        return "" if i is None else unquote_formula(v[i])

    def parse(self, v: list[str], zone: tzinfo) -> Raw:
        get = self._get
        start = stamp(get(v, "start"), "start", zone)
        answer = optional_stamp(get(v, "answer"), "answer", zone)
        end = stamp(get(v, "end"), "end", zone)
        times(start, answer, end, ("start", "answer", "end"))
        code = whole(get(v, "sip_code"), "sip_code", 699)
        if code < 100:
            raise Bad("sip_code: not a SIP code (100-699)")
        if (code == 200) != (answer is not None):
            raise Bad("sip_code: 200 goes with an answer time, and only 200 does")
        if "duration_ms" in self.at:
            duration_ms = whole(get(v, "duration_ms"), "duration_ms", MAX_SECONDS * 1000)
        else:
            duration_ms = (end - answer) // _MS if answer is not None else 0
        if answer is None and duration_ms:
            raise Bad("duration_ms: a call without an answer time has none")
        pdd = get(v, "pdd_ms")
        cli_in = number(get(v, "cli_in"), "cli_in")
        reason = get(v, "sip_reason").strip() or reason_for(code)
        release = get(v, "release_reason").strip()
        if len(reason) > 100 or len(release) > 32:
            raise Bad(f"{'sip_reason' if len(reason) > 100 else 'release_reason'}: too long")
        source_ip = get(v, "source_ip").strip()
        if len(source_ip) > 64:
            raise Bad("source_ip: longer than 64 characters")
        return Raw(ident(get(v, "call_id"), "call_id"), "", start, answer, end, duration_ms,
                   number(get(v, "dialled"), "dialled", required=True), cli_in,
                   number(get(v, "cli_out"), "cli_out") or cli_in, code, reason, release,
                   whole(pdd, "pdd_ms", 3_600_000) if pdd.strip() else None, source_ip)


FORMATS: dict[str, type[Format]] = {f.name: f for f in (FreeSwitch, Asterisk, Generic)}

"""CDR lines of real switches parsed (feeds/cdr_import/formats.py), and hostile ones refused
by line number without repeating the file's bytes."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from connex_tui.feeds.cdr_import.formats import FORMATS, Bad, Raw
from connex_tui.feeds.cdr_import.importer import (
    MAX_LINE,
    ImportRefused,
    records,
    zone_named,
)
from connex_tui.feeds.rates_csv import RowError

# As mod_cdr_csv's `example` template writes them
FS_ANSWERED = ('"Dora Office","441234567","4412345678","default","2026-11-02 09:00:00",'
               '"2026-11-02 09:00:05","2026-11-02 09:00:15","15","10","NORMAL_CLEARING",'
               '"a3f1c2d4-1111-2222-3333-444455556666","","dora","PCMA","PCMA"')
FS_BUSY = ('"","441234567","4412345678","default","2026-11-02 09:01:00","",'
           '"2026-11-02 09:01:03","3","0","USER_BUSY","b3f1c2d4-1111-2222-3333-444455556666",'
           '"","dora","PCMA",""')
# As cdr_csv writes Master.csv (clid quoted inside, numbers bare)
AST_ANSWERED = ('"dora","441234567","4412345678","from-trunk","""Dora"" <441234567>",'
                '"SIP/trunk-00000001","SIP/carrier-00000002","Dial",'
                '"SIP/carrier/4412345678,60","2026-11-02 09:00:00","2026-11-02 09:00:05",'
                '"2026-11-02 09:00:15",15,10,"ANSWERED","DOCUMENTATION","1762074000.1",""')
AST_NOANSWER = ('"dora","441234567","4412345678","from-trunk","""Dora"" <441234567>",'
                '"SIP/trunk-00000003","","Dial","SIP/carrier/4412345678,60",'
                '"2026-11-02 09:02:00","","2026-11-02 09:02:30",30,0,"NO ANSWER",'
                '"DOCUMENTATION","1762074120.3",""')
GENERIC = ("call_id,start,answer,end,duration_ms,billed_s,dialled,cli_in,cli_out,prefix,"
           "destination,rate,connect_fee,charge,provider,provider_cost,sip_code,sip_reason,"
           "release_reason,pdd_ms,source_ip\n"
           "c-1,2026-11-02T09:00:00+00:00,2026-11-02T09:00:03.500000+00:00,"
           "2026-11-02T09:00:12.600000+00:00,9100,10,4412345678,'+441234567,441234567,441,"
           "Dest 441,0.005,0,0.0009,Acme,0.0005,200,OK,callee_bye,3500,192.0.2.1\n")


def parse(fmt: str, text: str, zone=UTC) -> list[Raw | RowError]:
    f = FORMATS[fmt]()
    out: list[Raw | RowError] = []
    for item in records(io.BytesIO(text.encode()), f):
        if isinstance(item, RowError):
            out.append(item)
            continue
        n, values = item
        try:
            out.append(f.parse(values, zone))
        except Bad as exc:
            out.append(RowError(n, str(exc)))
    return out


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_freeswitch_answered_and_busy():
    answered, busy = parse("freeswitch", f"{FS_ANSWERED}\n{FS_BUSY}\n")
    assert answered == Raw(
        "a3f1c2d4-1111-2222-3333-444455556666", "dora", at(2026, 11, 2, 9),
        at(2026, 11, 2, 9, 0, 5), at(2026, 11, 2, 9, 0, 15), 10_000, "4412345678",
        "441234567", "441234567", 200, "OK", "NORMAL_CLEARING")
    assert (busy.answered_at, busy.duration_ms, busy.sip_code, busy.sip_reason,
            busy.release_reason) == (None, 0, 486, "Busy Here", "USER_BUSY")


def test_asterisk_answered_and_no_answer():
    answered, missed = parse("asterisk", f"{AST_ANSWERED}\r\n{AST_NOANSWER}\r\n")
    assert (answered.call_id, answered.account, answered.dialled, answered.cli_in,
            answered.answered_at, answered.duration_ms, answered.sip_code) == (
        "1762074000.1", "dora", "4412345678", "441234567", at(2026, 11, 2, 9, 0, 5),
        10_000, 200)
    assert (missed.answered_at, missed.sip_code, missed.release_reason) == (
        None, 480, "NO ANSWER")


def test_asterisk_without_userfield_has_17_fields():
    (raw,) = parse("asterisk", AST_ANSWERED.rsplit(",", 1)[0] + "\n")
    assert raw.call_id == "1762074000.1"


def test_generic_reads_the_export_header_and_rerates():
    (raw,) = parse("generic", GENERIC)
    assert raw == Raw("c-1", "", at(2026, 11, 2, 9), datetime(2026, 11, 2, 9, 0, 3, 500000,
                                                               tzinfo=UTC),
                      datetime(2026, 11, 2, 9, 0, 12, 600000, tzinfo=UTC), 9100,
                      "4412345678", "+441234567", "441234567", 200, "OK", "callee_bye",
                      3500, "192.0.2.1")


def test_generic_header_in_any_order_and_a_subset():
    text = ("dialled,sip_code,end,start,call_id,answer\n"
            "4412345678,200,2026-11-02 09:00:20,2026-11-02 09:00:00,c-2,2026-11-02 09:00:10\n"
            "4412345678,486,2026-11-02 09:01:02,2026-11-02 09:01:00,c-3,\n")
    answered, busy = parse("generic", text)
    assert answered.duration_ms == 10_000 and answered.sip_reason == "OK"
    assert (busy.sip_code, busy.sip_reason, busy.duration_ms) == (486, "Busy Here", 0)


@pytest.mark.parametrize(("header", "message"), [
    ("call_id,start,end,dialled,sip_code,secret\n", "column 6 of the header is not a field"),
    ("call_id,start,end,dialled,sip_code,start\n", "column 6 of the header repeats start"),
    ("call_id,start,end,dialled\n", "the header has no sip_code column"),
    ("call_id,\x1bstart\n", "header: control characters"),
])
def test_generic_bad_headers_end_the_file(header, message):
    (error,) = parse("generic", header + "c-1,2026-11-02 09:00:00,2026-11-02 09:00:01,44,486\n")
    assert error.fatal and error.line == 1 and message in error.message


def test_a_generic_file_without_header_is_empty():
    (error,) = parse("generic", "\n\n")
    assert error.fatal and "empty file" in error.message


def test_times_take_the_zone_unless_they_carry_one():
    berlin = ZoneInfo("Europe/Berlin")
    (raw,) = parse("freeswitch", FS_ANSWERED + "\n", berlin)
    assert raw.started_at == at(2026, 11, 2, 8)  # CET is UTC+1
    (raw,) = parse("generic", GENERIC, berlin)
    assert raw.started_at == at(2026, 11, 2, 9)  # its own +00:00


def test_zones_are_validated():
    assert zone_named("UTC") is UTC and zone_named("") is UTC
    assert zone_named("Europe/London") == ZoneInfo("Europe/London")
    for bad in ("Mars/Olympus", "../../etc/passwd", "Europe/\x1bLondon"):
        with pytest.raises(ImportRefused, match="not a known time zone") as caught:
            zone_named(bad)
        assert "\x1b" not in str(caught.value)


def fs(**change) -> str:
    fields = dict(zip(FORMATS["freeswitch"].fields, FS_ANSWERED[1:-1].split('","'),
                      strict=True))
    fields.update(change)
    return ",".join(f'"{v}"' for v in fields.values())


@pytest.mark.parametrize(("line", "message"), [
    (fs(start_stamp="yesterday"), "start_stamp: not a time"),
    (fs(start_stamp="2026-13-02 09:00:00"), "start_stamp: not a valid date"),
    (fs(end_stamp="2026-11-02 08:00:00"), "end_stamp: before start_stamp"),
    # a call in year 1 or 9999 was imported and charged at rates of no such time
    (fs(start_stamp="0001-01-01 00:00:00", answer_stamp="0001-01-01 00:00:01",
        end_stamp="0001-01-01 00:00:02", duration="2", billsec="1"),
     "start_stamp: must be between 1970-01-01 and 2199-12-31"),
    (fs(start_stamp="9999-12-31 23:59:50", answer_stamp="", end_stamp="9999-12-31 23:59:59",
        duration="9", billsec="0"), "start_stamp: must be between 1970-01-01 and 2199-12-31"),
    # a year the calendar knows but the app does not, through the per-minute memo's path
    (fs(start_stamp="2500-01-01 00:00:00", answer_stamp="", end_stamp="2500-01-01 00:00:09",
        duration="9", billsec="0"), "start_stamp: must be between 1970-01-01 and 2199-12-31"),
    (fs(answer_stamp="2026-11-02 10:00:00"), "answer_stamp: not between"),
    (fs(billsec="-5"), "billsec: not a whole number"),
    (fs(billsec="99"), "billsec: more than duration"),
    (fs(duration="99999999999"), "duration: more than 10,000,000"),
    (fs(answer_stamp="", billsec="3"), "billsec: a call without answer_stamp"),
    (fs(uuid=""), "uuid: empty"),
    (fs(uuid="u" * 129), "uuid: longer than 128"),
    (fs(destination_number=""), "destination_number: empty"),
    (fs(caller_id_number="4" * 65), "caller_id_number: longer than 64"),
    (fs(hangup_cause=""), "hangup_cause: empty"),
    (FS_ANSWERED[:-20], "expected 15 fields (freeswitch), found 13"),
    ('"a","b', "not valid CSV"),
    (fs(caller_id_name="Evil\x1b]52;c;SGVsbG8=\x07"), "control characters are not allowed"),
    (fs(caller_id_name="rtl\u202eoverride"), "control characters are not allowed"),
])
def test_bad_lines_name_the_line_and_field_never_the_content(line, message):
    good, error, also_good = parse("freeswitch", f"{FS_ANSWERED}\n{line}\n{FS_BUSY}\n")
    assert isinstance(good, Raw) and isinstance(also_good, Raw)
    assert error.line == 2 and not error.fatal and message in error.message, error
    for secret in ("yesterday", "SGVsbG8", "Evil", "override", "99999999999"):
        assert secret not in error.message


def test_a_line_too_long_or_not_utf8_ends_the_file():
    long_line = fs(caller_id_name="x" * MAX_LINE)
    out = parse("freeswitch", f"{FS_ANSWERED}\n{long_line}\n{FS_BUSY}\n")
    assert isinstance(out[0], Raw) and out[1].fatal and out[1].line == 2
    assert f"longer than {MAX_LINE} bytes" in out[1].message and len(out) == 2
    f = FORMATS["freeswitch"]()
    items = list(records(io.BytesIO(FS_ANSWERED.encode() + b"\n\xff\xfe\n"), f))
    assert items[-1] == RowError(2, "not UTF-8 text", fatal=True)


def test_blank_lines_are_passed_over_and_line_numbers_stay_true():
    out = parse("freeswitch", f"\n{FS_ANSWERED}\n\n   \n{fs(uuid='')}\n")
    assert out[1].line == 5


def test_generic_reads_times_as_cdr_export_writes_them():
    """`cdr export` writes UTC with a Z (2026-11-02T09:00:03.500000Z) and empty cells for
    no answer and no PDD."""
    text = ("call_id,start,answer,end,duration_ms,dialled,sip_code,pdd_ms\n"
            "e-1,2026-11-02T09:00:00Z,2026-11-02T09:00:03.500000Z,2026-11-02T09:00:12.600000Z,"
            "9100,4412345678,200,\n"
            "e-2,2026-11-02T09:01:00Z,,2026-11-02T09:01:02Z,0,4412345678,486,1200\n")
    answered, busy = parse("generic", text, ZoneInfo("Asia/Tokyo"))
    assert answered.answered_at == datetime(2026, 11, 2, 9, 0, 3, 500000, tzinfo=UTC)
    assert (answered.pdd_ms, busy.answered_at, busy.pdd_ms) == (None, None, 1200)


def test_asterisk_without_uniqueid_has_no_call_id():
    """16 fields: cdr.conf without loguniqueid; nothing could tell a rerun's lines apart."""
    sixteen = AST_ANSWERED.rsplit(",", 2)[0]
    (error,) = parse("asterisk", sixteen + "\n")
    assert error.message == ("expected 18 or 17 fields (asterisk), found 16 (no uniqueid: "
                             "set loguniqueid=yes in cdr.conf)")


@pytest.mark.parametrize("zone", ["UTC", "Europe/London", "Australia/Lord_Howe",
                                  "America/New_York"])
def test_stamps_read_through_the_minute_memo_as_without_it(zone):
    """The switch form goes through a per-minute memo: every second of the minutes around
    each offset change (a gap, a repeated hour, half-hour DST, LMT's odd seconds) reads as
    the full parse does, and second 60 or a bad digit is refused as it is."""
    from connex_tui.feeds.cdr_import import formats

    tz = zone_named(zone)
    minutes = ["2026-03-29 00:59", "2026-03-29 01:00", "2026-03-29 01:59",
               "2026-03-29 02:00", "2026-10-25 00:59", "2026-10-25 01:00",
               "2026-10-25 01:30", "2026-10-25 01:59", "2026-04-05 01:30",
               "2026-04-05 02:00", "2026-10-04 02:00", "2026-03-08 02:00",
               "2026-11-01 01:30", "1883-11-18 12:03", "1883-11-18 12:00"]
    for minute in minutes:
        for second in [*(f"{s:02d}" for s in range(60)), "60", "6a"]:
            text = f"{minute}:{second}"
            try:
                slow = formats._stamp(text, "start_stamp", tz)
            except Bad as exc:
                slow = str(exc)
            for _ in range(2):  # a miss, then a hit
                try:
                    fast = formats.stamp(text, "start_stamp", tz)
                except Bad as exc:
                    fast = str(exc)
                assert fast == slow, text
                assert not isinstance(fast, datetime) or fast.tzinfo is UTC

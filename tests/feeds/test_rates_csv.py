"""Rate CSV import/export (docs/domain.md §3): all-or-nothing with line-numbered errors,
--skip-bad, --effective-from, upsert/replace, round trip. Runs on the `db` fixture
(SQLite, and PostgreSQL when CONNEX_TEST_PG_URL is set)."""
# ruff: noqa: F811

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from connex_tui.data import config_state, rate_rows
from connex_tui.data.access import Actor, NotFound, PermissionDenied
from connex_tui.data.models import AuditEntry, RateCard, RateRow
from connex_tui.feeds.rates_csv import export_csv, import_csv, parse

# the data tests' fixtures (the `db` parameter below shadows the imported fixture)
from tests.data.conftest import NOW, FakeClock, db, db_url, pg_url  # noqa: F401

ADMIN = Actor("alice", "admin")
HEADER = "prefix,destination,rate,connect_fee,increment\n"


async def make_card(db, name: str = "Retail-USD") -> int:
    async with db.sessions() as s, s.begin():
        return await s.scalar(insert(RateCard).values(
            name=name, currency="USD", direction="customer", precision=4, rounding="up",
            version=1, created_at=NOW, updated_at=NOW).returning(RateCard.id))


async def card_rows(db, card_id: int) -> list[tuple]:
    async with db.sessions() as s:
        return [tuple(r) for r in await s.execute(
            select(RateRow.prefix, RateRow.destination, RateRow.rate, RateRow.connect_fee,
                   RateRow.mcd, RateRow.pulse, RateRow.blocked, RateRow.effective_from)
            .where(RateRow.card_id == card_id).order_by(RateRow.prefix, RateRow.id))]


async def card_version(db, card_id: int) -> int:
    async with db.sessions() as s:
        return await s.scalar(select(RateCard.version).where(RateCard.id == card_id))


async def generation(db) -> int:
    async with db.sessions() as s:
        return await config_state.current(s)


def write(tmp_path, text: str, name: str = "rates.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def run_import(db, path, card="Retail-USD", actor=ADMIN, **kw):
    return await import_csv(db, actor, card, path, clock=FakeClock(), **kw)


# -- parsing (no database) ------------------------------------------------------------------
def messages(text: str, **kw) -> list[str]:
    return [str(x) for x in parse(io.StringIO(text), **kw) if not hasattr(x, "prefix")]


def test_errors_name_the_line_and_the_field():
    text = (HEADER + "44,UK,0.0100,0,60/60\n"
            "4420,London,1e-2,0,60/60\n"        # line 3: scientific notation
            "\n"                                 # blank lines are skipped but counted
            "33,France,0.02,0,60\n"              # line 5: increment without a pulse
            "abc,Nowhere,0.01,0,60/60\n"         # line 6: prefix not digits
            "49,Germany,0.02,0\n")               # line 7: a field missing
    assert messages(text) == [
        "line 3: rate: must be a plain number like 12.50",
        "line 5: increment: write MCD/Pulse in seconds, e.g. 60/60 or 30/6",
        "line 6: prefix: only digits",
        "line 7: expected 5 fields (prefix,destination,rate,connect_fee,increment), found 4",
    ]


@pytest.mark.parametrize("value", ["1e-2", "1E2", "0.01e0", "1,5", "-0.01", "0.0000001"])
def test_money_that_is_not_plain_or_negative_is_refused(value):
    text = HEADER + f'44,UK,"{value}",0,60/60\n'
    [msg] = messages(text)
    assert msg.startswith("line 2: rate: ")


def test_duplicate_prefix_and_effective_date_in_one_file():
    text = ("prefix,destination,rate,connect_fee,increment,effective_from\n"
            "44,UK,0.01,0,60/60,\n"
            "44,UK,0.02,0,60/60,2026-12-01\n"    # same prefix, other date: fine
            "44,UK new,0.03,0,60/60,\n")         # same prefix, undated again
    assert messages(text) == ["line 4: prefix 44 is already on line 2"]


def test_effective_from_default_fills_rows_without_their_own():
    text = ("prefix,destination,rate,connect_fee,increment,effective_from\n"
            "44,UK,0.01,0,60/60,\n"
            "33,FR,0.02,0,30/6,2027-01-01T08:00\n")
    default = datetime(2026, 12, 1, tzinfo=UTC)
    rows = list(parse(io.StringIO(text), effective_from=default))
    assert [r.effective_from for r in rows] == [default, datetime(2027, 1, 1, 8, tzinfo=UTC)]
    assert (rows[1].mcd, rows[1].pulse) == (30, 6)


@pytest.mark.parametrize("text, problem", [
    ("", "line 1: empty file: expected the header prefix,destination,rate,connect_fee,"
         "increment"),
    ("44,UK,0.01,0,60/60\n", "line 1: no header row: the first line must be prefix,"
                             "destination,rate,connect_fee,increment"),
    ("prefix,destination,rate,connect_fee\n44,UK,0.01,0\n",
     "line 1: missing column 'increment'"),
    ("prefix,destination,rate,connect_fee,increment,efective_from\n44,UK,0.01,0,60/60,\n",
     "line 1: unknown column 'efective_from'"),
])
def test_a_bad_header_stops_the_file(text, problem):
    found = messages(text)
    assert len(found) == 1 and found[0].startswith(problem)


def test_header_columns_in_any_order_with_a_bom():
    text = "\ufeffRate,Prefix,Increment,Destination,Connect_Fee,Blocked\n0.5,44,1/1,UK,0.1,yes\n"
    lines = io.BytesIO(text.encode("utf-8"))
    from connex_tui.feeds.rates_csv import decoded_lines

    [row] = list(parse(decoded_lines(lines)))
    assert (row.prefix, row.rate, row.connect_fee, row.mcd, row.blocked) == \
        ("44", Decimal("0.5"), Decimal("0.1"), 1, True)


def read_bytes(data: bytes) -> list[str]:
    from connex_tui.feeds.rates_csv import decoded_lines

    return [str(x) for x in parse(decoded_lines(io.BytesIO(data)))
            if not hasattr(x, "prefix")]


class Zeros(io.RawIOBase):
    """/dev/zero as a stream that counts what was read of it."""

    def __init__(self):
        self.read_total = 0

    def readable(self):
        return True

    def readinto(self, b):
        self.read_total += len(b)
        b[:] = bytes(len(b))
        return len(b)


def test_an_endless_line_ends_the_file_after_a_bounded_read():
    from connex_tui.feeds.rates_csv import MAX_LINE, decoded_lines

    zeros = Zeros()
    found = [str(x) for x in parse(decoded_lines(io.BufferedReader(zeros)))]
    assert found == [f"line 1: longer than {MAX_LINE} bytes: not a rate row"]
    assert zeros.read_total < 1 << 20  # read a little, not until MemoryError
    long_row = HEADER.encode() + b"44,UK,0.01,0,60/60\n" + b"4" * 100_000 + b"\n33,F,1,0,1/1\n"
    assert read_bytes(long_row) == [f"line 3: longer than {MAX_LINE} bytes: not a rate row"]


def test_too_many_lines_end_the_file(monkeypatch):
    from connex_tui.feeds import rates_csv

    monkeypatch.setattr(rates_csv, "MAX_LINES", 3)
    found = read_bytes(HEADER.encode() + b"".join(b"%d,UK,0.01,0,60/60\n" % (40 + i)
                                                   for i in range(5)))
    assert len(found) == 1 and found[0].startswith("line 4: the file goes on past 3 lines")


def test_dates_outside_1970_to_2199_are_refused_per_row():
    text = ("prefix,destination,rate,connect_fee,increment,effective_from\n"
            "44,UK,0.01,0,60/60,0001-01-01T00:00:00Z\n"
            "33,FR,0.01,0,60/60,9999-12-31T23:59:59-14:00\n"
            "49,DE,0.01,0,60/60,2199-12-31\n")
    assert messages(text) == [
        "line 2: effective_from: must be between 1970-01-01 and 2199-12-31",
        "line 3: effective_from: must be between 1970-01-01 and 2199-12-31"]


# -- import ---------------------------------------------------------------------------------
async def test_import_writes_every_row_and_records_it(db, tmp_path):
    card = await make_card(db)
    gen = await generation(db)
    path = write(tmp_path, HEADER + "44,UK,0.0100,0,60/60\n4420,London,0.0125,0.01,30/6\n")
    report = await run_import(db, path)
    assert report.written and report.good == 2 and report.bad == 0
    assert str(report.counts) == "2 added, 0 changed, 0 deleted, 0 unchanged"
    assert await card_rows(db, card) == [
        ("44", "UK", Decimal("0.01"), Decimal(0), 60, 60, False, None),
        ("4420", "London", Decimal("0.0125"), Decimal("0.01"), 30, 6, False, None)]
    assert await card_version(db, card) == 2
    assert await generation(db) == gen + 1
    async with db.sessions() as s:
        [entry] = (await s.scalars(select(AuditEntry))).all()
    assert (entry.action, entry.table_name, entry.row_id, entry.operator) == \
        ("import", "rate_cards", card, "alice")
    assert json.loads(entry.changes)["rows"] == [0, 2]
    assert json.loads(entry.changes)["added"] == [None, 2]


async def test_one_bad_row_writes_nothing(db, tmp_path):
    card = await make_card(db)
    # more rows than one write chunk, so earlier chunks have reached the database
    good = "".join(f"{440000 + i},UK,0.01,0,60/60\n" for i in range(rate_rows.CHUNK + 500))
    path = write(tmp_path, HEADER + good + "33,France,1e-2,0,60/60\n")
    report = await run_import(db, path)
    assert not report.written
    assert [str(e) for e in report.errors] == [
        f"line {rate_rows.CHUNK + 502}: rate: must be a plain number like 12.50"]
    assert report.summary() == f"Retail-USD: nothing imported (1 bad row of {rate_rows.CHUNK + 501})"
    assert await card_rows(db, card) == []
    assert await card_version(db, card) == 1
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 0


async def test_skip_bad_writes_the_good_rows_and_reports_the_bad(db, tmp_path):
    card = await make_card(db)
    path = write(tmp_path, HEADER + "44,UK,0.01,0,60/60\n33,France,x,0,60/60\n"
                                    "49,Germany,0.02,0,60/60\n")
    report = await run_import(db, path, skip_bad=True)
    assert report.written and (report.good, report.bad) == (2, 1)
    assert [str(e) for e in report.errors] == ["line 3: rate: must be a plain number like 12.50"]
    assert [r[0] for r in await card_rows(db, card)] == ["44", "49"]
    assert report.summary() == ("Retail-USD: 2 rows imported: 2 added, 0 changed, 0 deleted, "
                                "0 unchanged, 1 bad rows skipped")


async def test_a_file_cut_short_is_not_imported_even_with_skip_bad(db, tmp_path):
    card = await make_card(db)
    path = tmp_path / "cut.csv"
    path.write_bytes(HEADER.encode() + b"44,UK,0.01,0,60/60\n33,Fr\xe4nce,0.01,0,60/60\n")
    report = await run_import(db, path, skip_bad=True)
    assert not report.written and report.stopped == 3
    assert [str(e) for e in report.errors] == ["line 3: not UTF-8 text"]
    assert report.summary() == \
        "Retail-USD: nothing imported (the file stops being readable at line 3)"
    assert await card_rows(db, card) == []


async def test_a_file_over_the_size_limit_is_refused_before_reading(db, tmp_path, monkeypatch):
    from connex_tui.feeds import rates_csv

    await make_card(db)
    monkeypatch.setattr(rates_csv, "MAX_BYTES", 10)
    with pytest.raises(ValueError, match="larger than 0 MiB"):
        await run_import(db, write(tmp_path, HEADER + "44,UK,0.01,0,60/60\n"))


async def test_rows_upsert_by_prefix_and_date_and_replace_deletes_the_rest(db, tmp_path):
    card = await make_card(db)
    first = ("prefix,destination,rate,connect_fee,increment,effective_from\n"
             "44,UK,0.01,0,60/60,\n44,UK,0.02,0,60/60,2026-12-01\n33,France,0.02,0,60/60,\n")
    await run_import(db, write(tmp_path, first))
    second = HEADER + "44,UK,0.015,0,60/60\n33,France,0.02,0,60/60\n1,USA,0.001,0,6/6\n"
    report = await run_import(db, write(tmp_path, second, "b.csv"))
    assert str(report.counts) == "1 added, 1 changed, 0 deleted, 1 unchanged"
    rows = await card_rows(db, card)
    assert [(r[0], r[2], r[7]) for r in rows] == [
        ("1", Decimal("0.001"), None), ("33", Decimal("0.02"), None),
        ("44", Decimal("0.015"), None),
        ("44", Decimal("0.02"), datetime(2026, 12, 1, tzinfo=UTC))]  # dated row kept
    report = await run_import(db, write(tmp_path, HEADER + "44,UK,0.015,0,60/60\n", "c.csv"),
                              replace=True)
    assert str(report.counts) == "0 added, 0 changed, 3 deleted, 1 unchanged"
    assert [r[0] for r in await card_rows(db, card)] == ["44"]


async def test_an_import_that_changes_nothing_leaves_the_card_version(db, tmp_path):
    card = await make_card(db)
    path = write(tmp_path, HEADER + "44,UK,0.01,0,60/60\n")
    await run_import(db, path)
    gen = await generation(db)
    report = await run_import(db, path)
    assert str(report.counts) == "0 added, 0 changed, 0 deleted, 1 unchanged"
    assert (await card_version(db, card), await generation(db)) == (2, gen)


async def test_effective_from_option_reaches_the_rows(db, tmp_path):
    card = await make_card(db)
    path = write(tmp_path, HEADER + "44,UK,0.01,0,60/60\n")
    when = datetime(2026, 12, 1, tzinfo=UTC)
    await run_import(db, path, effective_from=when)
    assert [r[7] for r in await card_rows(db, card)] == [when]


async def test_a_bad_header_writes_nothing_and_says_so(db, tmp_path):
    card = await make_card(db)
    report = await run_import(db, write(tmp_path, "44,UK,0.01,0,60/60\n"))
    assert report.summary() == "Retail-USD: nothing imported (the header is wrong)"
    assert await card_rows(db, card) == []


async def test_card_names_compare_ignoring_case(db, tmp_path):
    card = await make_card(db)
    await run_import(db, write(tmp_path, HEADER + "44,UK,0.01,0,60/60\n"), card="retail-usd")
    assert len(await card_rows(db, card)) == 1
    out = io.StringIO()
    assert await export_csv(db, "RETAIL-USD", out) == 1


async def test_unknown_card_and_roles(db, tmp_path):
    await make_card(db)
    path = write(tmp_path, HEADER + "44,UK,0.01,0,60/60\n")
    with pytest.raises(NotFound, match="unknown rate card 'Nope'"):
        await run_import(db, path, card="Nope")
    with pytest.raises(PermissionDenied):
        await run_import(db, path, actor=Actor("vic", "viewer"))
    with pytest.raises(PermissionDenied):  # --replace deletes rows: admin only
        await run_import(db, path, actor=Actor("olga", "operator"), replace=True)
    assert (await run_import(db, path, actor=Actor("olga", "operator"))).written


async def test_export_then_import_gives_identical_rows(db, tmp_path):
    card = await make_card(db)
    text = ("prefix,destination,rate,connect_fee,increment,effective_from,blocked\n"
            '44,"UK, mobile",0.0125,0.5,60/60,,no\n'
            "44,UK,0.02,0,30/6,2026-12-01,no\n"
            "4420,London,100,0,1/1,2027-01-01T08:30:00Z,yes\n"
            "33,Fr\u00e4nce,0,0,0/1,,no\n")
    await run_import(db, write(tmp_path, text))
    out = io.StringIO()
    assert await export_csv(db, "Retail-USD", out) == 4
    exported = out.getvalue()
    assert exported.splitlines()[1] == "33,Fr\u00e4nce,0,0,0/1,,no"
    other = await make_card(db, "Copy")
    await run_import(db, write(tmp_path, exported, "copy.csv"), card="Copy")
    assert await card_rows(db, other) == await card_rows(db, card)
    again = io.StringIO()
    await export_csv(db, "Copy", again)
    assert again.getvalue() == exported


async def test_export_neutralises_formulas_and_import_takes_the_quote_off(db, tmp_path):
    """OWASP CSV injection: a spreadsheet would run =..., +..., -..., @... as formulas."""
    card = await make_card(db)
    text = (HEADER + '44,"=HYPERLINK(""http://x"",""UK"")",0.01,0,60/60\n'
            "33,+33 mobile,0.01,0,60/60\n"
            "49,-,0.01,0,60/60\n"
            "1,@SUM(A1),0.01,0,60/60\n"
            "7,'=kept as typed,0.01,0,60/60\n"   # a typed quote before = is imported bare
            "8,O'Brien Telecom,0.01,0,60/60\n")
    await run_import(db, write(tmp_path, text))
    assert sorted(r[1] for r in await card_rows(db, card)) == sorted([
        "-", "+33 mobile", "=HYPERLINK(\"http://x\",\"UK\")", "=kept as typed", "@SUM(A1)",
        "O'Brien Telecom"])
    out = io.StringIO()
    await export_csv(db, "Retail-USD", out)
    lines = out.getvalue().splitlines()[1:]
    assert [line.split(",")[1] for line in lines] == [
        "'@SUM(A1)", "'+33 mobile", '"\'=HYPERLINK(""http://x""', "'-", "'=kept as typed",
        "O'Brien Telecom"]
    other = await make_card(db, "Copy")
    await run_import(db, write(tmp_path, out.getvalue(), "copy.csv"), card="Copy")
    assert await card_rows(db, other) == await card_rows(db, card)


def test_formula_quoting_is_one_to_one():
    from connex_tui.feeds.rates_csv import quote_formula, unquote_formula

    for cell in ["=1", "+1", "-1", "@a", "'=1", "''-", "'", "'UK", "UK", "", "44", "a=b"]:
        assert unquote_formula(quote_formula(cell)) == cell
        assert quote_formula(cell)[:1] not in set("=+-@")

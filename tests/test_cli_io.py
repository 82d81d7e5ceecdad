"""`connex-tui rates ...` and `connex-tui config ...`: output and exit codes (0 done,
1 validation errors, 2 bad arguments / unknown card / no permission). SQLite only: the
commands run their own event loop."""

from __future__ import annotations

import sqlite3

import pytest

from connex_tui.cli import main

HEADER = "prefix,destination,rate,connect_fee,increment\n"


@pytest.fixture
def url(sqlite_url) -> str:
    path = sqlite_url.split(":///", 1)[1]
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO rate_cards (name, currency, direction, precision, rounding, "
                     "version, created_at, updated_at) VALUES ('Retail', 'USD', 'customer', "
                     "4, 'up', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')")
    return sqlite_url


def run(url: str, *args: str) -> int:
    return main(["--database-url", url, *args])


def rows(url: str) -> list[tuple]:
    with sqlite3.connect(url.split(":///", 1)[1]) as conn:
        return conn.execute("SELECT prefix, destination, rate FROM rate_rows "
                            "ORDER BY prefix").fetchall()


def test_import_then_export_to_stdout(url, tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text(HEADER + "44,UK,0.0125,0,60/60\n1,USA,0.002,0,6/6\n")
    assert run(url, "rates", "import", "Retail", str(src)) == 0
    out = capsys.readouterr().out
    assert out.startswith("Retail: 2 rows imported: 2 added, 0 changed, 0 deleted, 0 unchanged")
    assert rows(url) == [("1", "USA", 2000), ("44", "UK", 12500)]  # micro-units
    assert run(url, "rates", "export", "Retail") == 0
    assert capsys.readouterr().out == (
        "prefix,destination,rate,connect_fee,increment,effective_from,blocked\n"
        "1,USA,0.002,0,6/6,,no\n44,UK,0.0125,0,60/60,,no\n")


def test_export_to_a_file(url, tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text(HEADER + "44,UK,0.0125,0,60/60\n")
    run(url, "rates", "import", "Retail", str(src))
    dest = tmp_path / "out.csv"
    assert run(url, "rates", "export", "Retail", str(dest)) == 0
    assert dest.read_text().splitlines()[1] == "44,UK,0.0125,0,60/60,,no"
    assert "1 rows written" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bad_rows_exit_1_with_the_report_and_write_nothing(url, tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text(HEADER + "44,UK,0.0125,0,60/60\n33,France,2.5e-3,0,60/60\n")
    assert run(url, "rates", "import", "Retail", str(src)) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"{src}: line 3: rate: must be a plain number like 12.50"
    assert err[1].startswith("Retail: nothing imported (1 bad row of 2)")
    assert rows(url) == []


def test_skip_bad_writes_the_good_rows_but_still_exits_1(url, tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text(HEADER + "44,UK,0.0125,0,60/60\n33,France,2.5e-3,0,60/60\n")
    assert run(url, "rates", "import", "Retail", str(src), "--skip-bad") == 1
    captured = capsys.readouterr()
    assert "line 3: rate" in captured.err
    assert "1 bad rows skipped" in captured.out
    assert rows(url) == [("44", "UK", 12500)]


@pytest.mark.parametrize("args, message", [
    (["rates", "import", "Nope", "{src}"], "unknown rate card 'Nope'"),
    (["rates", "export", "Nope"], "unknown rate card 'Nope'"),
    (["rates", "import", "Retail", "{src}", "--effective-from", "tomorrow"],
     "--effective-from: write an ISO date"),
    (["rates", "import", "Retail", "{missing}"], "cannot read"),
    (["--readonly", "rates", "import", "Retail", "{src}"], "read-only"),
])
def test_bad_arguments_exit_2(url, tmp_path, capsys, args, message):
    src = tmp_path / "in.csv"
    src.write_text(HEADER + "44,UK,0.0125,0,60/60\n")
    args = [a.format(src=src, missing=tmp_path / "missing.csv") for a in args]
    assert run(url, *args) == 2
    assert message in capsys.readouterr().err
    assert rows(url) == []


def test_argparse_errors_exit_2(url, capsys):
    with pytest.raises(SystemExit) as exc:
        run(url, "rates", "import", "Retail")  # FILE missing
    assert exc.value.code == 2

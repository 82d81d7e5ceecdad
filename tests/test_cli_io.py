"""`connex-tui rates ...` and `connex-tui config ...`: output and exit codes (0 done,
1 validation errors, 2 bad arguments / unknown card / no permission). SQLite only: the
commands run their own event loop."""

from __future__ import annotations

import sqlite3
import sys

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


@pytest.mark.skipif(not __import__("os").path.exists("/dev/zero"), reason="no /dev/zero")
def test_import_of_an_endless_file_is_one_line_naming_file_and_line(url, capsys):
    assert run(url, "rates", "import", "Retail", "/dev/zero") == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "/dev/zero: line 1: longer than 4096 bytes: not a rate row"
    assert err[1].startswith("Retail: nothing imported") and len(err) == 2
    assert rows(url) == []


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00"])
def test_dates_out_of_range_are_one_line_never_a_traceback(url, tmp_path, capsys, when):
    src = tmp_path / "in.csv"
    src.write_text(HEADER + "44,UK,0.0125,0,60/60\n")
    assert run(url, "rates", "import", "Retail", str(src), "--effective-from", when) == 2
    assert capsys.readouterr().err == \
        "connex-tui: --effective-from: must be between 1970-01-01 and 2199-12-31\n"
    src.write_text(HEADER.strip() + ",effective_from\n44,UK,0.0125,0,60/60," + when + "\n")
    assert run(url, "rates", "import", "Retail", str(src)) == 1
    assert capsys.readouterr().err.startswith(
        f"{src}: line 2: effective_from: must be between 1970-01-01 and 2199-12-31\n")
    assert run(url, "demo", "seed", "--now", when) == 2
    assert capsys.readouterr().err == \
        "connex-tui: --now: must be between 1970-01-01 and 2199-12-31\n"
    assert rows(url) == []


def test_import_output_escapes_the_file_name(url, tmp_path, capsys):
    src = tmp_path / "in\x1b]0;pwned\x07.csv"
    src.write_text(HEADER + "44,UK\u202e,0.0125,0,60/60\n")
    assert run(url, "rates", "import", "Retail", str(src)) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err
    assert "in\\x1b]0;pwned\\x07.csv: line 2: destination: control characters are not " \
           "allowed" in err


def test_argparse_errors_exit_2(url, capsys):
    with pytest.raises(SystemExit) as exc:
        run(url, "rates", "import", "Retail")  # FILE missing
    assert exc.value.code == 2


# -- config ---------------------------------------------------------------------------------
def example_file(tmp_path):
    from tests.feeds.test_config_yaml import example

    path = tmp_path / "routing.yaml"
    path.write_text(example())
    return path


def test_config_apply_dry_run_then_apply_then_export(url, tmp_path, capsys):
    path = example_file(tmp_path)
    assert run(url, "config", "apply", str(path), "--dry-run") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "create provider Atlas Voice"
    assert out[-1] == "17 changes (dry run: nothing written)"
    assert not any("generated password" in line for line in out)
    assert run(url, "config", "apply", str(path)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "17 changes applied"
    assert out[-2].startswith("SIP user acme-pbx1: generated password ")
    assert run(url, "config", "apply", str(path)) == 0
    assert capsys.readouterr().out == "no changes: the database already matches\n"
    assert run(url, "--readonly", "config", "export") == 0  # reading is a viewer's right
    out = capsys.readouterr().out
    assert "- name: ACME Telecom" in out and "- username: acme-pbx1" in out
    assert "ha1:" not in out and "password_hash:" not in out  # secrets are opt-in
    target = tmp_path / "out.yaml"
    assert run(url, "config", "export", "--with-secrets", str(target)) == 0
    assert target.stat().st_mode & 0o777 == 0o600  # it holds SIP HA1s
    assert "ha1:" in target.read_text()
    assert run(url, "config", "export", "--with-secrets") == 2  # stdout: only if forced
    assert "ha1:" not in capsys.readouterr().out
    assert run(url, "config", "export", "--with-secrets", "--force") == 0
    assert "ha1:" in capsys.readouterr().out


def test_config_export_secrets_are_refused_to_viewers_and_terminals(url, tmp_path, capsys,
                                                                     monkeypatch):
    run(url, "config", "apply", str(example_file(tmp_path)))
    capsys.readouterr()
    target = tmp_path / "out.yaml"
    assert run(url, "--readonly", "config", "export", "--with-secrets", str(target)) == 2
    err = capsys.readouterr().err
    assert err.startswith("connex-tui: --with-secrets: ") and "read-only (viewer)" in err
    assert not target.exists() and list(tmp_path.glob(".out.yaml.*")) == []
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert run(url, "config", "export", "--with-secrets") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "not writing SIP secrets to standard output" in captured.err
    assert run(url, "config", "export") == 0  # without secrets a terminal is fine
    assert "ha1:" not in capsys.readouterr().out


def test_config_apply_errors_exit_1_and_write_nothing(url, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(example_file(tmp_path).read_text().replace("max_duration: 3600",
                                                                "max_duration: 0"))
    assert run(url, "config", "apply", str(path)) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"{path}: customers[0].routes[0].max_duration: must be 1 or more",
                   f"{path}: nothing written (1 error)"]
    with sqlite3.connect(url.split(":///", 1)[1]) as conn:
        assert conn.execute("SELECT count(*) FROM providers").fetchone() == (0,)


def test_config_apply_refuses_a_wide_ingress_ip_unless_allowed(url, tmp_path, capsys):
    path = tmp_path / "wide.yaml"
    path.write_text(example_file(tmp_path).read_text().replace("- host: 192.0.2.10",
                                                               "- host: 0.0.0.0/0"))
    for extra in (["--dry-run"], []):
        assert run(url, "config", "apply", str(path), *extra) == 1
        captured = capsys.readouterr()
        assert captured.err.splitlines() == [
            f"{path}: warning: customers[0].ip_auth[0].host: 0.0.0.0/0 is every IPv4 "
            "address: anyone on the internet could call as this customer",
            f"{path}: nothing written (1 authentication warning: check, then apply with "
            "--allow-wide-auth)"]
        assert captured.out == ""
    with sqlite3.connect(url.split(":///", 1)[1]) as conn:
        assert conn.execute("SELECT count(*) FROM ip_auth").fetchone() == (0,)
    assert run(url, "config", "apply", str(path), "--allow-wide-auth") == 0
    captured = capsys.readouterr()
    assert "warning: customers[0].ip_auth[0].host: 0.0.0.0/0 is every" in captured.err
    assert captured.out.splitlines()[-1] == "17 changes applied"
    assert run(url, "config", "apply", str(path)) == 0  # accepted once: no change, no nag
    assert capsys.readouterr().out == "no changes: the database already matches\n"


@pytest.mark.parametrize("args, message", [
    (["config", "apply", "{missing}"], "cannot read"),
    (["--readonly", "config", "apply", "{doc}"], "read-only"),
    (["config", "export", "--inline-rates", "-1"], "--inline-rates must be 0 or more"),
])
def test_config_bad_arguments_exit_2(url, tmp_path, capsys, args, message):
    doc = example_file(tmp_path)
    args = [a.format(doc=doc, missing=tmp_path / "missing.yaml") for a in args]
    assert run(url, *args) == 2
    assert message in capsys.readouterr().err


def test_export_into_a_reader_that_stops_early_ends_quietly(url, tmp_path):
    """`rates export CARD | head -1`: no error message, exit 0, as Unix tools behave."""
    import subprocess

    src = tmp_path / "in.csv"
    src.write_text(HEADER + "".join(f"{44000 + i},UK {i},0.0125,0,60/60\n"
                                    for i in range(5000)))  # > a pipe's 64 KiB buffer
    assert run(url, "rates", "import", "Retail", str(src)) == 0
    proc = subprocess.Popen([sys.executable, "-m", "connex_tui", "--database-url", url,
                             "rates", "export", "Retail"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout.readline().startswith(b"prefix,")
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (0, b"")


def test_replace_with_a_future_effective_from_is_refused(url, tmp_path, capsys):
    """It would delete today's rates at once, leaving calls unrated until the date."""
    src = tmp_path / "in.csv"
    src.write_text(HEADER + "44,UK,0.0125,0,60/60\n")
    assert run(url, "rates", "import", "Retail", str(src)) == 0
    src.write_text(HEADER + "33,France,0.0100,0,60/60\n")
    capsys.readouterr()
    assert run(url, "rates", "import", "Retail", str(src), "--replace",
               "--effective-from", "2199-01-01") == 2
    assert "delete the rates in force now" in capsys.readouterr().err
    assert rows(url) == [("44", "UK", 12500)]

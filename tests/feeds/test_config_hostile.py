"""`config apply` and `config export` / `rates export` against hostile input: an alias
bomb, an oversized file, duplicate keys, wrong types, tags, control characters, a
rates_csv reaching outside its folder, and export targets that are not regular files.
Each is refused with one line per problem naming its YAML path, nothing written, no
traceback, and nothing raw from the file reaching the terminal. The document checks run
without a database; the command checks on SQLite through `main`."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
import tracemalloc

import pytest

from connex_tui.cli import main
from connex_tui.feeds import config_yaml
from connex_tui.feeds.config_doc import read_document

BOMB = ("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9))
        + "customers: *a8\n")
CUSTOMER = "customers:\n  - name: ACME\n    currency: USD\n"


def run(url: str, *args: str) -> int:
    return main(["--database-url", url, *args])


def customers(url: str) -> list[tuple]:
    with sqlite3.connect(url.split(":///", 1)[1]) as conn:
        return conn.execute("SELECT name, notes_public FROM customers ORDER BY id").fetchall()


def errors_of(tmp_path, content: str) -> list[str]:
    return read_document(content, tmp_path)[1]


# -- the document ---------------------------------------------------------------------------
def test_an_alias_bomb_is_refused_in_bounded_time_and_memory(tmp_path):
    """8 nested anchor levels x10 (10^8 values once expanded) grew to 3.8 GB."""
    tracemalloc.start()
    started = time.perf_counter()
    errors = errors_of(tmp_path, BOMB)
    took = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(errors) == 1 and "anchors and aliases expand to more than 10,000" in errors[0]
    assert took < 2 and peak < 20 << 20


def test_a_few_aliases_are_fine_and_a_recursive_one_is_refused(tmp_path):
    ok = ("customers:\n  - &c {name: A, currency: USD}\n  - name: B\n    currency: USD\n"
          "    notes_public: &n shared\n    notes_private: *n\n")
    assert errors_of(tmp_path, ok) == []
    [error] = errors_of(tmp_path, "customers: &a [*a]\n")
    assert "nested more than 64 levels deep" in error


def test_a_key_given_twice_is_refused_naming_its_path(tmp_path):
    """Two `customers:` keys silently replaced the first list (and wiped notes)."""
    content = CUSTOMER + "    notes_private: keep\n    notes_private: lost\n" + CUSTOMER
    assert errors_of(tmp_path, content) == [
        "customers: given twice (lines 1 and 6): keep one",
        "customers[0].notes_private: given twice (lines 4 and 5): keep one"]


@pytest.mark.parametrize("field, value, error", [
    ("name", "[1, 2]", "customers[0].name: expected one line of text, found a list"),
    ("name", "{a: 1}", "customers[0].name: expected one line of text, found a mapping"),
    ("name", "true", "customers[0].name: expected one line of text, found yes/no"),
    ("portal_access", "[yes]", "customers[0].portal_access: expected yes or no, found a list"),
    ("notes_public", "[a, b]", "customers[0].notes_public: expected text, found a list"),
    ("name", "!!binary QUNNRQ==", "customers[0].name: the tag !!binary is not allowed here"),
    ("channels", "!!int 5", "customers[0].channels: the tag !!int is not allowed here"),
    ("name", "!custom ACME", "customers[0].name: the tag !custom is not allowed here"),
])
def test_wrong_types_and_tags_are_refused_naming_the_path(tmp_path, field, value, error):
    content = f"customers:\n  - currency: USD\n    {field}: {value}\n"
    if field != "name":
        content += "    name: ACME\n"
    errors = errors_of(tmp_path, content)
    assert any(e.startswith(error) for e in errors), errors


def test_a_cli_rule_given_as_a_list_is_not_stored_as_its_python_text(tmp_path):
    errors = errors_of(tmp_path, CUSTOMER + "    cli_rules:\n      - cli: [1, 2]\n")
    assert errors == ["customers[0].cli_rules[0].cli: expected one line of text, found a list"]
    errors = errors_of(tmp_path, CUSTOMER + "    routes:\n      - {rate_card: R, "
                                            "dial_string: [44, [1]]}\n")
    assert errors == ["customers[0].routes[0].dial_string: [1]: expected one line of text, "
                      "found a list"]


@pytest.mark.parametrize("char", ["\\e", "\\x9b", "\\u202e", "\\u2066", "\\x07", "\\r"])
def test_control_and_bidi_characters_are_refused_in_one_line_fields(tmp_path, char):
    content = (f'customers:\n  - name: "AC{char}ME"\n    currency: USD\n'
               f'    cli_rules:\n      - cli: "^44{char}"\n')
    assert errors_of(tmp_path, content) == [
        "customers[0].name: control characters are not allowed",
        "customers[0].cli_rules[0].cli: control characters are not allowed"]


def test_notes_keep_new_lines_but_refuse_escape_sequences(tmp_path):
    ok = CUSTOMER + '    notes_public: "line one\\nline\\ttwo"\n'
    assert errors_of(tmp_path, ok) == []
    [error] = errors_of(tmp_path, CUSTOMER + '    notes_public: "x\\e]0;owned\\a"\n')
    assert error == "customers[0].notes_public: control characters are not allowed"


# -- rates_csv ------------------------------------------------------------------------------
def card_with_csv(path: str) -> str:
    return f"rate_cards:\n  - name: R\n    currency: USD\n    rates_csv: {path}\n"


def test_rates_csv_outside_the_yaml_folder_is_refused_without_reading_it(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("AKIA-SECRET-KEY\n")
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "link.csv").symlink_to(secret)
    for given in ("../secret.csv", str(secret), "link.csv"):
        errors = read_document(card_with_csv(given), folder)[1]
        assert errors == [f"rate_cards[0].rates_csv: {given}: must be a file in the folder "
                          "of this YAML file (or below it)"]


def test_a_bad_csv_header_is_not_echoed(tmp_path):
    (tmp_path / "rates.csv").write_text("AKIA-SECRET-KEY,x\n44,UK\n")
    errors = errors_of(tmp_path, card_with_csv("rates.csv"))
    assert len(errors) == 1 and "SECRET" not in errors[0]
    assert errors[0].startswith("rate_cards[0].rates_csv: rates.csv: line 1: not a rate CSV "
                                "header (expected prefix,destination,rate,connect_fee,")


# -- the command ----------------------------------------------------------------------------
def test_apply_refuses_the_bomb_in_one_line_and_writes_nothing(sqlite_url, tmp_path, capsys):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    assert run(sqlite_url, "config", "apply", str(path), "--dry-run") == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "alias bomb" in err[0] and "nothing written" in err[1]


def test_apply_refuses_an_oversized_file_before_parsing(sqlite_url, tmp_path, capsys,
                                                        monkeypatch):
    monkeypatch.setattr(config_yaml, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.yaml"
    path.write_text(CUSTOMER + "#" * 1000 + "\n")
    assert run(sqlite_url, "config", "apply", str(path)) == 2
    assert capsys.readouterr().err == (f"connex-tui: {path}: larger than 0 MiB: split the "
                                       "document or move big rate decks to rates_csv files\n")
    assert run(sqlite_url, "config", "apply", "/dev/zero") == 2  # read no further either
    assert "larger than" in capsys.readouterr().err
    assert customers(sqlite_url) == []


def test_apply_output_never_carries_raw_controls(sqlite_url, tmp_path, capsys):
    """Unknown keys, file names, values from the database in a dry-run diff: escaped."""
    path = tmp_path / "a\x1b[2Jb.yaml"
    path.write_text(CUSTOMER + '    "\\e]52;c;aGk=\\a\\u202e": 1\n')
    assert run(sqlite_url, "config", "apply", str(path)) == 1
    captured = capsys.readouterr()
    assert "\x1b" not in captured.err + captured.out and "\u202e" not in captured.err
    assert "a\\x1b[2Jb.yaml: customers[0].\\x1b]52;c;aGk=\\x07\\u202e: unknown field" \
        in captured.err
    path.write_text(CUSTOMER)
    assert run(sqlite_url, "config", "apply", str(path)) == 0
    with sqlite3.connect(sqlite_url.split(":///", 1)[1]) as conn:  # older data, say
        conn.execute("UPDATE customers SET notes_public = 'x\x1b[2Jy\u202ez'")
    path.write_text(CUSTOMER + "    notes_public: clean\n")
    assert run(sqlite_url, "config", "apply", str(path), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert "notes_public x\\x1b[2Jy\\u202ez → clean" in out


# -- export targets -------------------------------------------------------------------------
@pytest.fixture
def seeded(sqlite_url, tmp_path, capsys) -> str:
    path = tmp_path / "seed.yaml"
    path.write_text(CUSTOMER + "    sip_users:\n      - {username: pbx1, generate: true}\n"
                    + card_with_csv("seed.csv"))
    (tmp_path / "seed.csv").write_text("prefix,destination,rate,connect_fee,increment\n"
                                       "44,UK,0.01,0,60/60\n")
    assert run(sqlite_url, "config", "apply", str(path)) == 0
    capsys.readouterr()
    return sqlite_url


@pytest.mark.parametrize("command", [("config", "export"), ("rates", "export", "R")])
def test_export_through_a_symlink_rewrites_its_target_and_keeps_the_link(seeded, tmp_path,
                                                                         command):
    target = tmp_path / "real.out"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.out"
    link.symlink_to(target)
    assert run(seeded, *command, str(link)) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() != "old" and "44" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the file's own mode is kept
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("command", [("config", "export"), ("rates", "export", "R")])
def test_export_into_a_fifo_writes_into_it(seeded, tmp_path, command):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert run(seeded, *command, str(fifo)) == 0
    reader.join(10)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and got and b"44" in got[0]


def test_export_to_a_terminal_device_writes_into_it(seeded):
    """A device (as root, /dev/full was replaced by a regular file): a pty's slave here,
    which a broken writer could not replace either (devpts holds no regular files)."""
    master, slave = os.openpty()
    got: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            got.append(chunk)
            if b"cli_rules:" in b"".join(got):  # the last key of the export
                return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert run(seeded, "config", "export", os.ttyname(slave)) == 0
        reader.join(10)
        assert stat.S_ISCHR(os.stat(os.ttyname(slave)).st_mode)
        assert b"- name: ACME" in b"".join(got)
    finally:
        os.close(slave)
        os.close(master)


def test_secrets_go_to_a_0600_file_and_to_stdout_only_when_forced(seeded, tmp_path, capsys):
    target = tmp_path / "backup.yaml"
    target.write_text("")
    target.chmod(0o644)  # an existing world-readable file does not stay so
    assert run(seeded, "config", "export", "--with-secrets", str(target)) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and "ha1:" in target.read_text()
    capsys.readouterr()
    assert run(seeded, "config", "export", "--with-secrets") == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "--force" in captured.err
    assert run(seeded, "config", "export", "--with-secrets", "--force") == 0
    assert "ha1:" in capsys.readouterr().out

"""engine/present: the one way values become text, in the console and on the command line."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from connex_tui.engine import present
from connex_tui.engine.textsafe import safe_text

D = Decimal
HOSTILE = ("\x1b[2J", "\x9b", "\u202e", "\x1b]52;c;aGVsbG8=\x07", "\x7f", "\x00", "\u2066")


@pytest.fixture
def ascii_glyphs():
    present.use_ascii(True)
    yield
    present.use_ascii(False)


def test_safe_text_shows_every_control_and_bidi_character_as_an_escape():
    assert safe_text("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert safe_text("\x9b31m") == "\\x9b31m"
    assert safe_text("evil\u202etxt.exe") == "evil\\u202etxt.exe"
    assert safe_text("\x1b]52;c;aGVsbG8=\x07") == "\\x1b]52;c;aGVsbG8=\\x07"
    assert safe_text("a\tb\nc\x7f") == "a\\x09b\\x0ac\\x7f"
    plain = "Müller Télécom 东方 +44 (0)20 €"
    assert safe_text(plain) is plain


@pytest.mark.parametrize("bad", HOSTILE)
def test_no_text_function_lets_a_control_character_through(bad):
    name = f"Acme{bad}Voice"
    for out in (present.text(name), present.clip(name, 8), present.clip(name, 40, pad=True),
                present.one_line(f"{name}\nline 2"), present.arrow(name, name + "2"),
                present.money(D(1), name), *present.lines(name)):
        assert safe_text(out) == out, out  # nothing left to escape
        assert "Acme\\" in out
    line = present.json_line({"name": name})
    assert safe_text(line) == line
    assert json.loads(line) == {"name": name}  # still the same string for a program


def test_json_line_escapes_every_unsafe_character_even_past_its_printable_fast_path():
    # json_line skips its escaping when the line is printable: that is only sound while
    # every character it escapes is unprintable, all 45 of them
    unsafe = [chr(c) for c in range(0x3000) if present._JSON_UNSAFE.match(chr(c))]
    assert len(unsafe) == 45 and not any(ch.isprintable() for ch in unsafe)
    line = present.json_line({"a": "Müller \u2028 東方", "b": ["x\x9by", "\u202e"]})
    assert line == '{"a": "Müller \u2028 東方", "b": ["x\\u009by", "\\u202e"]}'


def test_clip_cuts_with_an_ellipsis_and_a_dropped_line_shows_one():
    assert present.clip("Granite Signal", 20) == "Granite Signal"
    assert present.clip("Granite Signal Networks", 14) == "Granite Signa…"
    assert present.clip("first\nsecond", 20) == "first…"
    assert present.clip("ab", 5, pad=True) == "ab   "
    assert present.clip(None, 3) == ""
    assert len(present.clip("\x1b" * 10, 6)) == 6  # measured after escaping


def test_money_and_rates_are_exact_and_carry_their_currency():
    assert present.money(D("1950"), "USD") == "1,950.00 USD"
    assert present.money(D("-7.9412"), "EUR") == "-7.9412 EUR"  # nothing rounded away
    assert present.money(D("-0.000"), "EUR") == "0.00 EUR"
    assert present.money_rounded(D("-7.9450"), "EUR") == "-7.95 EUR"
    assert present.rate(D("0.012"), "GBP", 4) == "0.0120 GBP/min"
    assert present.exact(D("0.012"), 4) == "0.0120"
    assert present.exact(D("0.012345"), 4) == "0.012345"
    assert present.exact(D("5"), 2) == "5.00"
    assert present.exact(None, 4) == ""
    assert present.exact(D("-0.01"), 4) == "-0.0100"
    assert [present.plain_decimal(v) for v in (D("0.0125"), D("100.00"), D("-0"), None)] == [
        "0.0125", "100", "0", ""]


def test_durations_and_limits():
    assert present.duration(42) == "42 s"
    assert present.duration(95) == "95 s (1 min 35 s)"
    assert present.duration(7200) == "7200 s (2 h 00 min)"
    assert present.clock(245) == "4:05" and present.clock(3723) == "1:02:03"
    assert present.limit(0) == "∞" and present.channels(3, 0) == "3/∞"
    assert present.channels(1, 10) == "1/10"


def test_ascii_glyphs_on_a_terminal_that_cannot_show_them(ascii_glyphs):
    assert present.clip("Granite Signal Networks", 14) == "Granite Sig..."
    assert present.channels(3, 0) == "3/inf"
    assert present.arrow("44", "0") == "44 -> 0"
    shown = "".join(present.glyphs().__getattribute__(f) for f in present.Glyphs.__slots__)
    assert shown.isascii()


@pytest.mark.parametrize(("env", "ascii_"), [
    ({"TERM": "linux", "LANG": "en_US.UTF-8"}, True),
    ({"TERM": "xterm-256color", "LANG": "C.UTF-8"}, False),
    ({"TERM": "xterm", "LANG": "en_US.ISO-8859-1"}, True),
    ({"TERM": "xterm", "LC_ALL": "de_DE.utf8", "LANG": "C"}, False),  # LC_ALL wins
    ({"TERM": "screen"}, False),  # no locale at all: a bare container keeps Unicode
    ({"TERM": "vt220", "LANG": "C.UTF-8"}, True),
])
def test_the_terminal_decides_the_glyphs(env, ascii_):
    assert present.ascii_terminal(env) is ascii_


def test_live_clock_fits_eight_characters():
    from connex_tui.engine.present import live_clock

    assert [live_clock(s) for s in (0, 65, 3723, 100 * 3600 - 1, 100 * 3600, 40 * 86400)] == [
        "0:00", "1:05", "1:02:03", "99:59:59", "4 d", "40 d"]

"""Values as text, one way for the console and the command line.

Money and rates are exact (never rounded away; a summary column may round, and says so),
durations read as people say them, a long value is clipped with an ellipsis, 0 limits read
as infinity, and every string that came from outside is escaped (engine/textsafe) before a
terminal sees it. The glyphs (ellipsis, infinity, arrows, the palette's and the select's
marks) fall back to ASCII on a terminal that cannot show them (the Linux console, a non
UTF-8 locale): decided once, from the environment, at the first use; `use_ascii()` forces
it (tests, a --ascii switch).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connex_tui.engine.money import format_money
from connex_tui.engine.textsafe import safe_text


# -- glyphs --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Glyphs:
    ellipsis: str
    infinity: str
    arrow: str  # in -> out
    crumb: str  # Customers › name
    empty: str  # an audit value that was empty
    newline: str  # a line break folded into one line
    search: str  # the command palette's mark
    down: str  # a select's drop-down mark
    bar: str  # a scrollbar's thumb
    edge: str  # the footer's key separator
    allow: str
    reject: str


UNICODE = Glyphs("…", "∞", "→", "›", "∅", "⏎", "🔎", "▼", "▇", "▏", "✓", "✗")
ASCII = Glyphs("...", "inf", "->", ">", "-", "/", "/", "v", "#", "|", "+", "x")

_ASCII_TERMS = ("linux", "dumb", "ansi", "cons25")
_ascii: bool | None = None  # None: not decided yet


def ascii_terminal(environ: Mapping[str, str]) -> bool:
    """The Linux console and vt terminals draw few glyphs; a locale that is set and is not
    UTF-8 cannot encode them. No locale at all (a bare container) keeps Unicode."""
    term = environ.get("TERM", "")
    if term in _ASCII_TERMS or term.startswith(("vt", "linux-")):
        return True
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):  # the first one set decides (POSIX order)
        value = environ.get(name)
        if value:
            return re.search(r"utf-?8", value, re.IGNORECASE) is None
    return False


def use_ascii(flag: bool | None) -> None:
    """Force ASCII (True) or Unicode (False) glyphs; None decides again from the environment."""
    global _ascii
    _ascii = flag


def glyphs() -> Glyphs:
    global _ascii
    if _ascii is None:
        _ascii = ascii_terminal(os.environ)
    return ASCII if _ascii else UNICODE


# -- text from outside ---------------------------------------------------------------------
def text(value: Any) -> str:
    """Any value as one escaped string ("" for None); line breaks are escaped too."""
    return "" if value is None else safe_text(str(value))


def lines(value: Any) -> list[str]:
    """A multi-line value (a note, an address) as escaped lines."""
    return [safe_text(line) for line in ("" if value is None else str(value)).split("\n")]


def one_line(value: Any) -> str:
    """A multi-line value folded into one line, each break shown as a glyph."""
    return f" {glyphs().newline} ".join(lines(value))


def clip(value: Any, width: int, *, pad: bool = False) -> str:
    """The first line of `value`, escaped, in at most `width` characters; a cut (or a
    dropped next line) ends with the ellipsis. `pad` fills up to `width` with spaces."""
    first, newline, _ = ("" if value is None else str(value)).partition("\n")
    out = safe_text(first)
    if len(out) > width or newline:
        mark = glyphs().ellipsis
        out = out[: max(width - len(mark), 0)].rstrip() + mark  # no space before it
        out = out[:width] if len(out) > width else out
    return out.ljust(width) if pad else out


def arrow(before: str, after: str) -> str:
    """in -> out; only `in` when unchanged or when the call stopped before the rewrite."""
    if not after or after == before:
        return text(before)
    return f"{text(before) or '-'} {glyphs().arrow} {text(after)}"


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


# One encoder for every line: json.dumps builds a new one per call (a batch writes 100,000).
json_text = json.JSONEncoder(ensure_ascii=False).encode
json_string = json.encoder.encode_basestring  # one str as the encoder writes it (C)


def json_line(obj: Any) -> str:
    """One JSON object on one line, readable UTF-8, but with no raw control or bidi
    character (json escapes C0 itself; C1, DEL and bidi become \\uNNNN, still valid JSON
    that decodes to the same string)."""
    return json_safe(json_text(obj))


def json_safe(raw: str) -> str:
    """JSON text made by this module's encoder (or json_string) as json_line writes it."""
    if raw.isprintable():  # the usual case, 500x cheaper than the search: every unsafe
        return raw  # character is unprintable (Cc or Cf) and json escaped C0 already
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", raw)


# -- numbers -------------------------------------------------------------------------------
def limit(value: int) -> str:
    """A channels / CPS / duration limit: 0 means none."""
    return str(value) if value else glyphs().infinity


def channels(live: int, limit_: int) -> str:
    return f"{live}/{limit(limit_)}"


def _at_least(value: Decimal, places: int) -> Decimal:
    """`places` decimals, or as many as the value has: nothing is ever rounded away."""
    fixed = value.quantize(Decimal(1).scaleb(-places))
    if fixed != value:
        fixed = value.normalize()
    return fixed if fixed else abs(fixed)  # no "-0.00"


def exact(value: Decimal | None, places: int = 4) -> str:
    """A rate or charge as plain text (0.012 -> "0.0120", 0.012345 -> "0.012345");
    "" for None. No grouping: JSON and CSV read it back."""
    return "" if value is None else f"{_at_least(value, places):f}"


def plain_decimal(value: Decimal | None) -> str:
    """Shortest plain text of a stored Decimal (0.0125, 100, 0), as a form reads it back;
    "" for None."""
    if value is None:
        return ""
    out = format(value.normalize(), "f")
    return "0" if out in ("-0", "") else out


def money(value: Decimal, currency: str = "", places: int = 2) -> str:
    """Exact, grouped, with the currency: "1,950.00 USD", "0.0125 EUR"."""
    out = f"{_at_least(value, places):,f}"
    return f"{out} {text(currency)}" if currency else out


def money_rounded(value: Decimal, currency: str = "", places: int = 2) -> str:
    """A summary column (the customer list's credit): rounded half-up to `places`; the
    customer's own screen shows the exact figure."""
    out = format_money(value, places)
    return f"{out} {text(currency)}" if currency else out


def rate(value: Decimal, currency: str = "", places: int = 4) -> str:
    """A per-minute rate, exact: "0.0120 EUR/min" ("0.0120/min" without a currency)."""
    out = exact(value, places)
    return f"{out} {text(currency)}/min" if currency else f"{out}/min"


# -- time ----------------------------------------------------------------------------------
def duration(seconds: int) -> str:
    """A long duration with its reading: "95 s (1 min 35 s)"; under a minute "42 s"."""
    if seconds < 60:
        return f"{seconds} s"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    words = f"{h} h {m:02d} min" if h else f"{m} min"
    return f"{seconds} s ({words}{f' {s:02d} s' if s else ''})"


def clock(seconds: int) -> str:
    """A call's length as a clock: "4:05", "1:02:03"."""
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02}:{rest % 60:02}" if h else f"{rest // 60}:{rest % 60:02}"


def live_clock(seconds: int) -> str:
    """A live call's ticking time in at most 8 characters: a clock up to 99:59:59, then
    whole days ("12 d": a call up that long is stale, its exact minute hardly matters)."""
    return clock(seconds) if seconds < 100 * 3600 else f"{seconds // 86400} d"

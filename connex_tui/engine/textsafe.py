"""Text from outside on its way in and out: control characters refused at validation, and
escaped on output so nothing raw (ESC, CSI, OSC 52, bidi overrides) reaches a terminal.

The characters meant: C0 controls, DEL, C1 controls (\\x9b is a one-byte CSI), bidi
marks, embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), the Unicode line and
paragraph separators (they break a line where none is expected), and lone surrogates (bytes
of a command-line argument that were not UTF-8, kept by surrogateescape).
"""

from __future__ import annotations

import re

CONTROL_MESSAGE = "control characters are not allowed"
UNDECODABLE_MESSAGE = "not valid UTF-8 text"

_UNSAFE_RE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                        "\ud800-\udfff]")
_MULTILINE_OK = frozenset("\n\t")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte surrogateescape kept: show the byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(s, *, multiline: bool = False) -> str:
    """`s` as text fit for a terminal: every control, DEL, bidi control, line separator
    and lone surrogate becomes a visible escape (`\\x1b`, `\\u202e`); printable Unicode
    stays as it is. `multiline` keeps newlines (a dialog's message of several lines)."""
    s = s if isinstance(s, str) else str(s)
    if s.isprintable():  # the usual case: nothing to look for (Cc, Cf, Zl, Zp, Cs fail it)
        return s
    if multiline:
        return "\n".join(_UNSAFE_RE.sub(_escape, line) for line in s.split("\n"))
    return _UNSAFE_RE.sub(_escape, s)


def refuse_controls(value: str, *, multiline: bool = False) -> str:
    """`value` unchanged, or ValueError with the one message the operator sees. A
    multi-line field (notes, address) may hold newlines and tabs, nothing else."""
    if value.isprintable():
        return value
    for ch in _UNSAFE_RE.findall(value):
        if "\ud800" <= ch <= "\udfff":
            raise ValueError(UNDECODABLE_MESSAGE)
        if not (multiline and ch in _MULTILINE_OK):
            raise ValueError(CONTROL_MESSAGE)
    return value

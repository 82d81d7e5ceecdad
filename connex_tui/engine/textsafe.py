"""Text from outside made safe for a terminal: nothing that a terminal acts on (ESC, CSI
\\x9b, OSC sequences, backspace, carriage return) or that reorders what it shows (bidi
overrides and isolates) is printed raw. Validation refuses these characters in one-line
fields (`has_control`); output escapes whatever slipped in (`safe_text`)."""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, and the Unicode Bidi_Control characters (ALM, LRM, RLM,
# the embeddings/overrides U+202A-U+202E and the isolates U+2066-U+2069)
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_MULTILINE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(s: str) -> str:
    """`s` with every control and bidi character written as a visible `\\xNN`/`\\uNNNN`
    escape; printable Unicode (accents, CJK, emoji, `…`) is kept as it is."""
    return _UNSAFE.sub(_escape, s)


def has_control(s: str, *, multiline: bool = False) -> bool:
    """True when `s` holds a character `safe_text` would escape (with `multiline`, newline
    and tab are allowed)."""
    return (_UNSAFE_MULTILINE if multiline else _UNSAFE).search(s) is not None

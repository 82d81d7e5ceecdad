"""Text from outside made safe for a terminal: no raw control character ever reaches one.

A name, CLI, note or YAML key can carry ESC (clear the screen, set the title, write the
clipboard with OSC 52), a C1 control (`\\x9b` is a one-byte CSI) or a bidi override that
reorders what the operator reads. `safe_text` shows each of them as a visible escape
(`\\x1b`, `\\x9b`, `\\u202e`) and leaves every other character as it is.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls; the bidi marks, embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(s: str) -> str:
    """`s` with every control and bidi character replaced by a visible `\\xNN`/`\\uNNNN`."""
    return _UNSAFE.sub(_escape, s) if _UNSAFE.search(s) else s

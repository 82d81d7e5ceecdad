"""The one error line every command prints: `connex-tui COMMAND: message`, escaped (names
and messages can come from files, switches and the database), and exit code 2."""

from __future__ import annotations

import sys

from connex_tui.engine.textsafe import safe_text


def refuse(command: str, message: str) -> int:
    print(f"connex-tui {command}: {safe_text(message)}", file=sys.stderr)
    return 2

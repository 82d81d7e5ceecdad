"""Operator regexes (dial strings, CLI rules, routing scripts) that cannot hang the console.

Python's `re` cannot be interrupted once a match starts, and a pattern like `(a|aa)+$`
backtracks exponentially. So operator patterns are compiled with the `regex` module (the
same syntax as `re` in its default VERSION0 mode) and every evaluation runs with its
`timeout=`; inputs are bounded to MAX_INPUT characters and patterns to MAX_PATTERN. A timed
out evaluation raises RegexTimeout, which callers treat as "no match" and say so in the
trace. See docs/decisions.md ("Engine").
"""

from __future__ import annotations

from functools import lru_cache

import regex

MAX_PATTERN = 256  # characters of a pattern
MAX_INPUT = 64  # characters of a number or CLI a pattern is run against
TIMEOUT = 0.05  # seconds for one evaluation


class RegexTimeout(ValueError):
    """An evaluation ran past TIMEOUT (or its input was longer than MAX_INPUT)."""


class GuardedPattern:
    """A compiled operator pattern whose evaluations are bounded in input and time."""

    __slots__ = ("pattern", "_compiled", "groups")

    def __init__(self, pattern: str, compiled: regex.Pattern) -> None:
        self.pattern = pattern
        self._compiled = compiled
        self.groups: int = compiled.groups

    def search(self, text: str) -> regex.Match | None:
        """First match anywhere in text (plain digits are therefore unanchored)."""
        _check_input(text)
        try:
            return self._compiled.search(text, timeout=TIMEOUT)
        except TimeoutError as exc:
            raise RegexTimeout(f"pattern {self.pattern!r} timed out") from exc

    def __repr__(self) -> str:
        return f"GuardedPattern({self.pattern!r})"


def _check_input(text: str) -> None:
    if len(text) > MAX_INPUT:
        raise RegexTimeout(f"input longer than {MAX_INPUT} characters")


@lru_cache(maxsize=4096)
def compile_guarded(pattern: str) -> GuardedPattern:
    """Compile an operator's pattern; ValueError with a readable message if it is unusable.

    Cached by pattern text, so a snapshot's dial strings and rules compile once."""
    if not isinstance(pattern, str):
        raise ValueError("pattern must be text")
    if not pattern:
        raise ValueError("pattern is empty")
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"pattern longer than {MAX_PATTERN} characters")
    if any(ord(c) < 32 for c in pattern):
        raise ValueError("pattern contains control characters")
    try:
        compiled = regex.compile(pattern)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return GuardedPattern(pattern, compiled)


_GROUP_REF = regex.compile(r"\\(\d{1,2})|\$\{(\d{1,2})\}|\$(\d{1,2})")


def expand(template: str, match: regex.Match | None) -> str:
    """Fill `\\1`, `$1` and `${1}` in template with the match's groups (empty when the group
    did not take part or there is no match). Everything else is copied as written."""
    if "\\" not in template and "$" not in template:
        return template

    def group(m: regex.Match) -> str:
        n = int(m.group(1) or m.group(2) or m.group(3))
        if match is None or n > match.re.groups:
            return ""
        return match.group(n) or ""

    return _GROUP_REF.sub(group, template)

"""Operator regexes (dial strings, CLI rules, routing scripts) that cannot hang the console.

Python's `re` cannot be interrupted once a match starts, and a pattern like `(a|aa)+$`
backtracks exponentially. So:
- inputs are bounded to MAX_INPUT characters and patterns to MAX_PATTERN;
- compiling is bounded too: the `regex` module writes repeats out (`x{3}` as three copies
  of x, `x+` as two), so `((4{1000}){1000}){1000}` or forty nested `(...)+` would take
  gigabytes and minutes to compile. Every pattern is first read with the stdlib parser
  (cheap) and refused when a repeat count exceeds MAX_INPUT, written-out repeats exceed
  MAX_UNROLLED positions or multiplying repeats nest deeper than MAX_NESTING (the cost of
  one position grows with the depth); syntax the stdlib cannot read (the `regex` module's
  extras such as Unicode properties) is refused too, as it cannot be measured;
- a pattern whose backtracking is provably small (no nested quantifiers, no
  backreferences or lookarounds, and at most CHEAP_PATHS ways to match at one position)
  runs on the stdlib `re` directly: it cannot take long on 64 characters;
- every other pattern runs on the `regex` module (the same syntax in its default VERSION0
  mode) with `timeout=`, which costs ~3 us an evaluation but can always be stopped.
A timed-out evaluation raises RegexTimeout, which callers treat as "no match" and say so in
the trace. The timeout bounds one evaluation, not a call: a call that tries many slow-engine
patterns (100 CLI rules of `^(1|11)+5$`) shares one RegexBudget of CALL_BUDGET seconds, and
once that is spent its remaining slow patterns are not run (RegexBudgetSpent, again "no
match"). needs_slow_engine() tells forms and config apply which patterns those are;
check_slow_patterns() caps how many one customer may have. See docs/decisions.md ("Engine").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# The stdlib's own pattern parser (re._parser since 3.11): it measures every pattern before
# the `regex` module compiles it, and proves the cheap ones cheap.
from re import _parser as _sre_parse  # type: ignore[attr-defined]
from time import perf_counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import regex  # imported on first compile: not needed to start the app

MAX_PATTERN = 256  # characters of a pattern
MAX_INPUT = 64  # characters of a number or CLI a pattern is run against
TIMEOUT = 0.05  # seconds for one evaluation
CALL_BUDGET = 0.1  # seconds of slow-engine evaluations for one call (all its patterns)
MAX_SLOW_PER_CUSTOMER = 10  # slow-engine patterns of one customer (CLI rules, dial strings)
CHEAP_PATHS = 1024  # backtracking paths per start position that run without a timeout
# Positions a pattern may take once `regex` has written its repeats out, and how deep
# repeats that copy their body may nest: together they keep one compiled pattern under
# ~0.5 MB and a few milliseconds (measured). Real dial strings and CLI rules need tens of
# positions (`^44\d{6,12}$` is 15) and a depth of one or two (`(\d+)+$` is 2).
MAX_UNROLLED = 1024
MAX_NESTING = 4
_REPEATS = (_sre_parse.MAX_REPEAT, _sre_parse.MIN_REPEAT, _sre_parse.POSSESSIVE_REPEAT)


class RegexTimeout(ValueError):
    """An evaluation ran past TIMEOUT (or its input was longer than MAX_INPUT)."""


class RegexBudgetSpent(RegexTimeout):
    """The call's regex budget was used up before this pattern ran."""


class RegexBudget:
    """Seconds of slow-engine evaluation left for one call. Proven-cheap patterns do not
    draw on it (they cannot take long); a timed one gets at most what is left."""

    __slots__ = ("left", "skipped")

    def __init__(self, seconds: float = CALL_BUDGET) -> None:
        self.left = seconds
        self.skipped = 0  # patterns not run because the budget was spent

    @property
    def spent(self) -> bool:
        return self.left <= 0


class GuardedPattern:
    """A compiled operator pattern whose evaluations are bounded in input and time."""

    __slots__ = ("pattern", "_compiled", "_cheap", "groups")

    def __init__(self, pattern: str, compiled: regex.Pattern,
                 cheap: re.Pattern | None) -> None:
        self.pattern = pattern
        self._compiled = compiled
        self._cheap = cheap  # the stdlib pattern when proven cheap, else None
        self.groups: int = compiled.groups

    @property
    def timed(self) -> bool:
        """True when evaluations run under the timeout (not proven cheap)."""
        return self._cheap is None

    def search(self, text: str, budget: RegexBudget | None = None
               ) -> regex.Match | re.Match | None:
        """First match anywhere in text (plain digits are therefore unanchored). A timed
        pattern runs for at most TIMEOUT and what is left of `budget` (the call's)."""
        if len(text) > MAX_INPUT:
            raise RegexTimeout(f"input longer than {MAX_INPUT} characters")
        if self._cheap is not None:
            return self._cheap.search(text)
        if budget is None:
            budget = RegexBudget()
        if budget.left <= 0:
            budget.skipped += 1
            raise RegexBudgetSpent(f"the call's regex budget ({CALL_BUDGET * 1000:.0f} ms) "
                                   "is used up")
        started = perf_counter()
        try:
            return self._compiled.search(text, timeout=min(TIMEOUT, budget.left))
        except TimeoutError as exc:
            raise RegexTimeout(f"pattern {self.pattern!r} timed out") from exc
        finally:
            budget.left -= perf_counter() - started

    def __repr__(self) -> str:
        return f"GuardedPattern({self.pattern!r})"


@lru_cache(maxsize=1024)  # x at most ~0.5 MB a pattern; in practice a few KB each
def compile_guarded(pattern: str) -> GuardedPattern:
    """Compile an operator's pattern; ValueError with a readable message if it is unusable
    (including one too big to compile: see MAX_UNROLLED and MAX_NESTING).

    Cached by pattern text, so a snapshot's dial strings and rules compile once."""
    if not isinstance(pattern, str):
        raise ValueError("pattern must be text")
    if not pattern:
        raise ValueError("pattern is empty")
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"pattern longer than {MAX_PATTERN} characters")
    if any(ord(c) < 32 for c in pattern):
        raise ValueError("pattern contains control characters")
    try:  # first the stdlib's parser, which only reads: it never unrolls a repeat
        parsed = _sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    positions, depth = _written_out(parsed)
    if depth > MAX_NESTING:
        raise ValueError(f"repeats are nested {depth} deep (at most {MAX_NESTING})")
    if positions > MAX_UNROLLED:
        raise ValueError(f"written out, the repeats in this pattern come to {positions:,} "
                         f"positions (at most {MAX_UNROLLED:,}): simplify it")
    import regex

    try:
        compiled = regex.compile(pattern)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return GuardedPattern(pattern, compiled, _cheap_pattern(pattern, parsed))


def needs_slow_engine(pattern: str) -> bool:
    """True when `pattern` compiles but is not provably cheap, so every evaluation runs on
    the timed engine and draws on the call's budget: worth a warning where it is saved.
    False for plain digits, cheap patterns and patterns that do not compile (their own
    error says why)."""
    if not pattern or pattern.isdigit():
        return False
    try:
        return compile_guarded(pattern).timed
    except ValueError:
        return False


def check_slow_patterns(patterns: Iterable[str]) -> list[str]:
    """The slow-engine patterns among one customer's (CLI rules and dial-string lines);
    ValueError when there are more than MAX_SLOW_PER_CUSTOMER of them (each is evaluated on
    its own, so a repeated pattern counts every time)."""
    slow = [p for p in patterns if needs_slow_engine(p)]
    if len(slow) > MAX_SLOW_PER_CUSTOMER:
        raise ValueError(_too_many(slow))
    return slow


def slow_pattern_report(labelled: Iterable[tuple[str, str]]) -> tuple[list[str], str]:
    """For one customer's (where, pattern) pairs: a warning line per slow-engine pattern,
    and the error of check_slow_patterns ("" if none)."""
    slow = [(where, p) for where, p in labelled if needs_slow_engine(p)]
    warnings = [f"{where}: /{p}/ needs the slow regex engine (every evaluation is timed; "
                f"{CALL_BUDGET * 1000:.0f} ms a call for all of them)" for where, p in slow]
    too_many = len(slow) > MAX_SLOW_PER_CUSTOMER
    return warnings, _too_many([p for _, p in slow]) if too_many else ""


def _too_many(slow: list[str]) -> str:
    return (f"{len(slow)} patterns need the slow regex engine (at most "
            f"{MAX_SLOW_PER_CUSTOMER} per customer): simplify some, e.g. /{slow[0]}/")


def _written_out(items) -> tuple[int, int]:
    """(positions, depth) of the pattern as `regex` compiles it: a repeat holds `{n,m}` m
    copies of its body (`x?` and `x*` one, `x{n,}` and `x+` n + 1: the required copies and a
    loop), everything else is one position plus what it holds; depth counts the repeats of
    two or more copies around one another. ValueError for a repeat count above MAX_INPUT,
    which no input of at most MAX_INPUT characters needs."""
    positions = depth = 0
    for op, arg in items:
        if op in _REPEATS:
            low, high, body = arg
            for count in (low, high):
                if count != _sre_parse.MAXREPEAT and count > MAX_INPUT:
                    raise ValueError(f"repeat count {{{count}}} is larger than a number can "
                                     f"be ({MAX_INPUT})")
            copies = high if high != _sre_parse.MAXREPEAT else low + 1
            inner, inner_depth = _written_out(body)
            positions += max(copies, 1) * inner
            depth = max(depth, inner_depth + (copies > 1))
        else:  # groups, alternatives, lookarounds, ...: themselves plus what they hold
            positions += 1
            for sub in _subpatterns(arg):
                inner, inner_depth = _written_out(sub)
                positions += inner
                depth = max(depth, inner_depth)
    return positions, depth


def _subpatterns(arg):
    """The nested sequences inside an opcode's argument (a group's body, each alternative,
    a lookaround's body, ...), wherever in the argument the parser put them."""
    if isinstance(arg, _sre_parse.SubPattern):
        yield arg
    elif isinstance(arg, (tuple, list)):
        for part in arg:
            yield from _subpatterns(part)


def _cheap_pattern(pattern: str, parsed) -> re.Pattern | None:
    """The stdlib pattern if backtracking on MAX_INPUT characters is provably small."""
    try:
        paths = _paths(parsed.data)
        if paths is None or paths > CHEAP_PATHS:
            return None
        return re.compile(pattern)
    except Exception:  # anything the stdlib reads differently goes the timed way
        return None


def _paths(items) -> int | None:
    """Upper bound on the ways a pattern can match from one position (None = unbounded or
    not analysed): alternatives add, sequences multiply, a quantifier over a single
    character contributes its range of counts (capped at MAX_INPUT); a quantifier over
    anything with choices inside, backreferences and lookarounds are refused."""
    c = _sre_parse  # it re-exports the opcode constants
    total = 1
    for op, arg in items:
        if op in (c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN, c.AT):
            continue
        if op is c.SUBPATTERN:
            inner = _paths(arg[-1])
        elif op is c.BRANCH:
            alternatives = [_paths(branch) for branch in arg[1]]
            if any(a is None for a in alternatives):
                return None
            inner = sum(alternatives)  # type: ignore[arg-type]
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            low, high, body = arg
            if _paths(body) != 1 or not _single_width(body, c):
                return None  # nested quantifier or alternation under a quantifier
            inner = min(high, MAX_INPUT) - min(low, MAX_INPUT) + 1
        else:  # backreference, lookaround, conditional, atomic/possessive, ...: timed
            return None
        if inner is None:
            return None
        total *= max(inner, 1)
        if total > CHEAP_PATHS:
            return total
    return total


def _single_width(body, c) -> bool:
    """A body that always consumes exactly one character (a literal or a class)."""
    while len(body) == 1 and body[0][0] is c.SUBPATTERN:
        body = body[0][1][-1]
    return len(body) == 1 and body[0][0] in (c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN)


_GROUP_REF = re.compile(r"\\(\d{1,2})|\$\{(\d{1,2})\}|\$(\d{1,2})")


@lru_cache(maxsize=4096)
def _template(template: str) -> tuple[str | int, ...]:
    """A rewrite template split into literal text and group numbers, once per template."""
    parts: list[str | int] = []
    last = 0
    for m in _GROUP_REF.finditer(template):
        parts.append(template[last:m.start()])
        parts.append(int(m.group(1) or m.group(2) or m.group(3)))
        last = m.end()
    parts.append(template[last:])
    return tuple(p for p in parts if p != "")


def expand(template: str, match: regex.Match | re.Match | None) -> str:
    """Fill `\\1`, `$1` and `${1}` in template with the match's groups (empty when the group
    did not take part or there is no match). Everything else is copied as written."""
    if "\\" not in template and "$" not in template:
        return template
    groups = match.re.groups if match is not None else -1
    return "".join(
        part if part.__class__ is str
        else (match.group(part) or "" if match is not None and part <= groups else "")
        for part in _template(template))

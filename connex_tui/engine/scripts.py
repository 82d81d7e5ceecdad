"""Routing scripts (ScriptForge, docs/domain.md §4.2): declarative YAML rules, never code.

A script is a YAML list of rules, tried in order after the providers are chosen:

    - match: {number: '^44(7|8)', cli: '^0'}   # optional; every pattern given must match
      reject: "403 No UK mobiles from national CLIs"
    - match: {number: '^49'}
      remove_provider: Carrier-B
    - prefer_provider: Carrier-A                 # no match = every call
      stop: true                                 # optional: no further rules after this one

Each rule has exactly one action: `reject: "<code> <reason>"` (code 400-699; ends the
script), `set_cli: <value>`, `remove_provider: <name>` or `prefer_provider: <name>` (provider
names, case-insensitive). Patterns are searched (unanchored) with the regex guard. Values are
literal: there is no templating and no code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import yaml

from connex_tui.engine.regex_guard import GuardedPattern, RegexBudget, compile_guarded
from connex_tui.engine.snapshot import ProviderChoice

ACTIONS = ("reject", "set_cli", "remove_provider", "prefer_provider")
MAX_BODY = 20_000  # characters
MAX_RULES = 200
_REJECT = re.compile(r"([4-6][0-9][0-9])\s+(\S.*)")  # ASCII digits: int() reads any
_CLI = re.compile(r"[A-Za-z0-9+*#._-]{1,64}")
_EXAMPLE = "e.g.\n- match: {number: '^44'}\n  reject: \"403 No UK calls\""


@dataclass(frozen=True, slots=True)
class ScriptRule:
    number: GuardedPattern | None
    cli: GuardedPattern | None
    action: str  # one of ACTIONS
    value: str  # reject: the reason text; else the CLI or provider name
    code: int = 0  # reject only
    stop: bool = False


class ScriptOutcome(NamedTuple):
    reject: tuple[int, str] | None  # (SIP code, reason)
    cli: str
    providers: tuple[ProviderChoice, ...]
    trace: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Script:
    rules: tuple[ScriptRule, ...]
    name: str = ""

    def apply(self, number: str, cli: str,
              providers: Sequence[ProviderChoice],
              budget: RegexBudget | None = None) -> ScriptOutcome:
        """Run the rules against the call; what changed is in the trace, one line a rule.
        `budget`: the call's regex budget (a fresh one when None)."""
        budget = budget or RegexBudget()
        chosen = tuple(providers)
        trace: list[str] = []
        for i, rule in enumerate(self.rules, 1):
            matched, why = _matches(rule, number, cli, budget)
            if not matched:
                if why:
                    trace.append(f"rule {i}: {why}")
                continue
            if rule.action == "reject":
                trace.append(f"rule {i}{why}: reject {rule.code} {rule.value}")
                return ScriptOutcome((rule.code, rule.value), cli, chosen, tuple(trace))
            if rule.action == "set_cli":
                trace.append(f"rule {i}{why}: CLI {cli!r} -> {rule.value!r}")
                cli = rule.value
            else:
                name = rule.value.casefold()
                hit = tuple(p for p in chosen if p.name.casefold() == name)
                if not hit:
                    trace.append(f"rule {i}{why}: {rule.action} {rule.value}: not among the "
                                 f"providers")
                elif rule.action == "remove_provider":
                    chosen = tuple(p for p in chosen if p.name.casefold() != name)
                    trace.append(f"rule {i}{why}: removed {rule.value}")
                else:
                    chosen = hit + tuple(p for p in chosen if p.name.casefold() != name)
                    trace.append(f"rule {i}{why}: {rule.value} moved first")
            if rule.stop:
                trace.append(f"rule {i}: stop")
                break
        return ScriptOutcome(None, cli, chosen, tuple(trace))


def _matches(rule: ScriptRule, number: str, cli: str,
             budget: RegexBudget) -> tuple[bool, str]:
    """(matched, note): the note names what matched, or why a pattern could not run."""
    parts = []
    for label, pattern, text in (("number", rule.number, number), ("cli", rule.cli, cli)):
        if pattern is None:
            continue
        try:
            if pattern.search(text, budget) is None:
                return False, ""
        except ValueError as exc:  # RegexTimeout: counts as no match, and says so
            return False, f"{label} /{pattern.pattern}/ skipped: {exc}"
        parts.append(f"{label} /{pattern.pattern}/")
    return True, (" (" + ", ".join(parts) + ")") if parts else ""


def parse_script(body: str, name: str = "") -> Script:
    """YAML text -> Script. ValueError names the rule (1-based) and what is wrong."""
    if not isinstance(body, str) or not body.strip():
        raise ValueError(f"the script is empty: write a YAML list of rules, {_EXAMPLE}")
    if len(body) > MAX_BODY:
        raise ValueError(f"the script is longer than {MAX_BODY} characters")
    try:
        doc = yaml.safe_load(body)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise ValueError(f"not valid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(doc, list) or not doc:
        raise ValueError(f"the script must be a YAML list of rules, {_EXAMPLE}")
    if len(doc) > MAX_RULES:
        raise ValueError(f"at most {MAX_RULES} rules")
    return Script(tuple(_rule(i, raw) for i, raw in enumerate(doc, 1)), name)


def _rule(i: int, raw: object) -> ScriptRule:
    def fail(message: str) -> ValueError:
        return ValueError(f"rule {i}: {message}")

    if not isinstance(raw, dict):
        raise fail("must be a mapping with `match` and one action")
    unknown = sorted(str(k) for k in raw if k not in {"match", "stop", *ACTIONS})
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (keys: match, {', '.join(ACTIONS)}, stop)")
    actions = [k for k in ACTIONS if k in raw]
    if len(actions) != 1:
        raise fail(f"needs exactly one action of {', '.join(ACTIONS)}"
                   + (f", has {', '.join(actions)}" if actions else ""))
    action = actions[0]
    value = raw[action]
    if not isinstance(value, str) or not value.strip():
        raise fail(f"{action} needs a text value (quote numbers: {action}: '4420')")
    value = value.strip()

    match = raw.get("match") or {}
    if not isinstance(match, dict):
        raise fail("match must be a mapping like {number: '^44', cli: '^0'}")
    patterns: dict[str, GuardedPattern | None] = {"number": None, "cli": None}
    for key, pattern in match.items():
        if key not in patterns:
            raise fail(f"match: unknown key {key!r} (number, cli)")
        if not isinstance(pattern, str):
            raise fail(f"match.{key} must be a quoted pattern, e.g. {key}: '^44'")
        try:
            patterns[key] = compile_guarded(pattern)
        except ValueError as exc:
            raise fail(f"match.{key}: {exc}") from None

    stop = raw.get("stop", False)
    if not isinstance(stop, bool):
        raise fail("stop must be true or false")

    code = 0
    if action == "reject":
        m = _REJECT.fullmatch(value)
        if not m:
            raise fail('reject must be "<code> <reason>" with a SIP code 400-699, '
                       'e.g. "403 No UK calls"')
        code, value = int(m.group(1)), m.group(2).strip()
    elif action == "set_cli" and not _CLI.fullmatch(value):
        raise fail("set_cli must be 1-64 characters of digits, letters, + * # . _ -")
    return ScriptRule(patterns["number"], patterns["cli"], action, value, code, stop)

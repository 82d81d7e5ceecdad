"""CLI rules of docs/domain.md §5: a whitelist of CLI patterns with rewrites, and forced CLIs.

- No rules: every CLI passes unchanged.
- Non-forced rules form a whitelist, tried in order; the first whose regex finds a match is
  applied: rewrite_cli (if set) becomes the CLI, with `\\1`/`$1` filled from the match, and
  p_asserted_id (if set, same groups) becomes the P-Asserted-Identity.
- No whitelist rule matches (or there are only forced rules): the first forced rule applies,
  its rewrite value replacing the CLI; with no forced rule the call is refused.

A rewrite is the whole new CLI (groups let it keep parts of the old one), not a search and
replace inside it. A pattern that does not compile or times out counts as "no match" and the
note says so; the validator keeps such patterns out in the first place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from connex_tui.engine.regex_guard import (
    CALL_BUDGET,
    RegexBudget,
    RegexBudgetSpent,
    compile_guarded,
    expand,
)
from connex_tui.engine.snapshot import CliRuleS

REJECT_REASON = "CLI Restriction In Effect"


@dataclass(frozen=True, slots=True)
class CliOutcome:
    allowed: bool
    cli: str
    pai: str = ""
    rule_id: int | None = None
    note: str = ""  # one line for the trace


def apply_cli_rules(rules: Sequence[CliRuleS], cli: str,
                    budget: RegexBudget | None = None) -> CliOutcome:
    """`budget`: the call's regex budget (a fresh one when None)."""
    if not rules:
        return CliOutcome(True, cli, note="no CLI rules: CLI passes unchanged")
    problems = _Problems(budget or RegexBudget())
    whitelist = 0
    for number, rule in enumerate(rules, 1):
        if rule.forced:
            continue
        whitelist += 1
        match = _search(rule, cli, problems)
        if match is not None:
            new_cli = expand(rule.rewrite_cli, match) if rule.rewrite_cli else cli
            pai = expand(rule.p_asserted_id, match) if rule.p_asserted_id else ""
            return CliOutcome(True, new_cli, pai, rule.id,
                              f"rule {number} /{rule.cli}/ matches {cli!r}"
                              + _changes(cli, new_cli, pai) + _problems(problems))
    for number, rule in enumerate(rules, 1):
        if rule.forced:  # an empty pattern is the usual forced rule: nothing to search
            match = _search(rule, cli, problems) if rule.cli else None
            new_cli = expand(rule.rewrite_cli, match) if rule.rewrite_cli else cli
            pai = expand(rule.p_asserted_id, match) if rule.p_asserted_id else ""
            lead = (f"no whitelist rule matches {cli!r}" if whitelist
                    else f"only forced rules for {cli!r}")
            return CliOutcome(True, new_cli, pai, rule.id,
                              f"{lead}; forced rule {number} applies"
                              + _changes(cli, new_cli, pai) + _problems(problems))
    return CliOutcome(False, cli, note=f"no rule of {whitelist} matches {cli!r} and none is "
                                       f"forced" + _problems(problems))


class _Problems(list):
    """Skipped patterns for the note; those skipped on a spent budget are only counted."""

    def __init__(self, budget: RegexBudget) -> None:
        super().__init__()
        self.budget = budget
        self.unrun = 0


def _search(rule: CliRuleS, cli: str, problems: _Problems):
    try:
        return compile_guarded(rule.cli).search(cli, problems.budget)
    except RegexBudgetSpent:
        problems.unrun += 1
    except ValueError as exc:  # RegexTimeout included
        problems.append(f"/{rule.cli}/ skipped: {exc}")
    return None


def _changes(old: str, new: str, pai: str) -> str:
    text = f": CLI {old!r} -> {new!r}" if new != old else ": CLI unchanged"
    return text + (f", PAID {pai!r}" if pai else "")


def _problems(problems: _Problems) -> str:
    notes = list(problems)
    if problems.unrun:
        notes.append(f"{problems.unrun} rule(s) not tried: the call's regex budget "
                     f"({CALL_BUDGET * 1000:.0f} ms) is used up")
    return f" ({'; '.join(notes)})" if notes else ""

"""Alerts (docs/domain.md §10): the one validator, and the state machine the evaluator runs.

States: `ready` -> `fired` (or `penalty` when the alert has a penalty) -> `ready`.
- ready: the condition holds (and, for a rate area, the sample has `min_attempts`
  attempts) -> fire.
- fired: the value crossed back over the reset threshold (no reset threshold: the
  condition no longer holds) -> re-arm (ready); else, the condition still holding and the
  repeat interval (hourly, daily) gone by since the last firing -> fire again. `always`
  never re-arms: with repeat `none` it fires once (a one-off notice), with `hourly` /
  `daily` once an hour or a day (docs/decisions.md, Alerts).
- penalty: until `penalty_until` nothing happens; then the penalty ends (the customer goes
  back to `active`) and the alert is ready again.
An alert fires at most once a minute (MIN_GAP), whatever runs the evaluator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from connex_tui.engine import present
from connex_tui.engine.validation import (
    MAX_INT,
    _Collector,
    boolean,
    choice,
    email,
    integer,
    money,
    text,
)

AREAS = ("balance", "asr", "acd", "pdd", "cps", "channels", "attempts", "profit")
AREA_LABELS = {"balance": "Balance", "asr": "ASR", "acd": "ACD", "pdd": "PDD", "cps": "CPS",
               "channels": "Channels", "attempts": "Attempts", "profit": "Profit"}
AREA_UNITS = {"asr": "%", "acd": "s", "pdd": "ms"}  # balance and profit: the currency
MONEY_AREAS = frozenset({"balance", "profit"})
# Rates over the sample: meaningless on a handful of calls, so min_attempts gates them.
GATED_AREAS = frozenset({"asr", "acd", "pdd"})
OPERATORS = ("<", "<=", "=", ">", ">=", "always")
REPEATS = ("none", "hourly", "daily")
REPEAT_EVERY = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}
STATES = ("ready", "fired", "penalty")
MAX_SAMPLE = 31 * 24 * 60  # a month of minutes
MAX_PENALTY = 31 * 24 * 60
MAX_RECIPIENTS = 20
MIN_GAP = timedelta(seconds=60)  # one evaluation interval
_E164 = re.compile(r"\+?[1-9][0-9]{6,14}")
_SPLIT = re.compile(r"[,;\s]+")


@dataclass(frozen=True, slots=True)
class AlertInput:
    title: str
    recipients: str = ""
    area: str = "balance"
    operator: str = "<"
    threshold: Decimal = Decimal(0)
    reset_threshold: Decimal | None = None
    sample_minutes: int = 60
    min_attempts: int = 0
    penalty_minutes: int | None = None
    repeat: str = "none"
    enabled: bool = True


def split_recipients(value: str) -> tuple[list[str], list[str]]:
    """(emails, numbers) of a stored recipients line."""
    emails, numbers = [], []
    for item in _SPLIT.split(value or ""):
        if item:
            (emails if "@" in item else numbers).append(item)
    return emails, numbers


def recipients(value: str) -> str:
    """Emails and/or E.164 numbers, separated by commas, semicolons or spaces; stored as
    "a@b.example, +4930123456"."""
    value = text(value, max_len=2000)
    out: list[str] = []
    for item in _SPLIT.split(value):
        if not item:
            continue
        if "@" in item:
            try:
                item = email(item)
            except ValueError as exc:
                raise ValueError(f"{item}: {exc}") from None
        elif _E164.fullmatch(item):
            item = item if item.startswith("+") else f"+{item}"
        else:
            raise ValueError(f"{item}: neither an email nor an E.164 number like +4930123456")
        if item not in out:
            out.append(item)
    if len(out) > MAX_RECIPIENTS:
        raise ValueError(f"at most {MAX_RECIPIENTS} recipients")
    return ", ".join(out)


def _optional_minutes(value, maximum: int) -> int | None:
    n = integer(value, minimum=0, maximum=maximum)
    return n or None


def _optional_money(value) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return money(value)


def validate_alert(raw: dict) -> AlertInput:
    """The form's, the command line's and the tests' one check of an alert."""
    c = _Collector()
    area = c.check("area", choice, str(raw.get("area", "") or "").strip().lower(), AREAS)
    op = c.check("operator", choice, str(raw.get("operator", "") or "").strip().lower(),
                 OPERATORS)
    threshold = c.check("threshold", money, raw.get("threshold", "0"))
    reset = c.check("reset_threshold", _optional_money, raw.get("reset_threshold", ""))
    if area is not None and area not in MONEY_AREAS and threshold is not None \
            and threshold < 0:
        c.errors.setdefault("threshold", f"{AREA_LABELS[area]} is never below 0")
    if area == "asr" and threshold is not None and threshold > 100:
        c.errors.setdefault("threshold", "ASR is a percentage: 0 to 100")
    if reset is not None and threshold is not None and op is not None:
        if op in ("=", "always"):
            c.errors.setdefault("reset_threshold",
                                f"leave empty with operator {op} (it re-arms when the "
                                "condition no longer holds)")
        elif op in ("<", "<=") and reset < threshold:
            c.errors.setdefault("reset_threshold",
                                f"must be {present.plain_decimal(threshold)} or more: the "
                                "alert re-arms once the value rises back to it")
        elif op in (">", ">=") and reset > threshold:
            c.errors.setdefault("reset_threshold",
                                f"must be {present.plain_decimal(threshold)} or less: the "
                                "alert re-arms once the value falls back to it")
    out = AlertInput(
        title=c.check("title", text, raw.get("title", ""), required=True, max_len=100,
                      single_line=True),
        recipients=c.check("recipients", recipients, str(raw.get("recipients", "") or "")),
        area=area,
        operator=op,
        threshold=threshold,
        reset_threshold=reset,
        sample_minutes=c.check("sample_minutes", integer, raw.get("sample_minutes", "60"),
                               minimum=1, maximum=MAX_SAMPLE),
        min_attempts=c.check("min_attempts", integer, raw.get("min_attempts", "0"),
                             maximum=MAX_INT),
        penalty_minutes=c.check("penalty_minutes", _optional_minutes,
                                raw.get("penalty_minutes", ""), MAX_PENALTY),
        repeat=c.check("repeat", choice, str(raw.get("repeat", "") or "none").strip().lower(),
                       REPEATS),
        enabled=c.check("enabled", boolean, raw.get("enabled", True)),
    )
    c.raise_if_any()
    return out


# -- the state machine ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Rule:
    """What the state machine needs of an alert."""

    area: str
    operator: str
    threshold: Decimal
    reset_threshold: Decimal | None = None
    min_attempts: int = 0
    penalty_minutes: int | None = None
    repeat: str = "none"
    state: str = "ready"
    last_fired_at: datetime | None = None
    penalty_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """action: fire | repeat | rearm | end_penalty | stay. The other fields are the
    alert's state after it (unchanged for stay)."""

    action: str
    state: str
    last_fired_at: datetime | None
    penalty_until: datetime | None
    reason: str

    @property
    def writes(self) -> bool:
        return self.action != "stay"

    @property
    def fires(self) -> bool:
        return self.action in ("fire", "repeat")


def compare(op: str, value: Decimal, threshold: Decimal) -> bool:
    return {"<": value < threshold, "<=": value <= threshold, "=": value == threshold,
            ">": value > threshold, ">=": value >= threshold, "always": True}[op]


def gated(rule: Rule, attempts: int) -> bool:
    """Too few attempts in the sample to judge a rate area."""
    return rule.area in GATED_AREAS and attempts < rule.min_attempts


def holds(rule: Rule, value: Decimal | None, attempts: int) -> bool:
    if rule.operator == "always":
        return True
    if value is None or gated(rule, attempts):
        return False
    return compare(rule.operator, value, rule.threshold)


def rearms(rule: Rule, value: Decimal | None, attempts: int) -> bool:
    """The value crossed back over the reset threshold (without one: the condition no
    longer holds). Unknown (no value, too few attempts) never re-arms."""
    if rule.operator == "always" or value is None or gated(rule, attempts):
        return False
    reset = rule.reset_threshold
    if reset is None or rule.operator == "=":
        return not compare(rule.operator, value, rule.threshold)
    if rule.operator in ("<", "<="):
        return value >= reset
    return value <= reset


def decide(rule: Rule, value: Decimal | None, attempts: int, now: datetime) -> Decision:
    """What the evaluator does with an alert at `now`, given its area's value over the
    sample (None: nothing to measure) and the sample's attempts."""
    def stay(reason: str) -> Decision:
        return Decision("stay", rule.state, rule.last_fired_at, rule.penalty_until, reason)

    def fire(action: str, reason: str) -> Decision:
        if rule.last_fired_at is not None and now - rule.last_fired_at < MIN_GAP:
            return stay("fired less than a minute ago")
        if rule.penalty_minutes:
            until = now + timedelta(minutes=rule.penalty_minutes)
            return Decision(action, "penalty", now, until,
                            f"{reason}; penalty for {rule.penalty_minutes} min")
        return Decision(action, "fired", now, None, reason)

    if rule.state == "penalty":
        if rule.penalty_until is None or now >= rule.penalty_until:
            return Decision("end_penalty", "ready", rule.last_fired_at, None,
                            "penalty over")
        return stay("in penalty")
    if gated(rule, attempts) and rule.operator != "always":
        return stay(f"{attempts} attempts, fewer than the {rule.min_attempts} needed")
    if rule.state == "fired":
        if rearms(rule, value, attempts):
            return Decision("rearm", "ready", rule.last_fired_at, None, "re-armed")
        if not holds(rule, value, attempts):
            return stay("fired; waiting to re-arm")
        every = REPEAT_EVERY.get(rule.repeat)
        if every is not None and (rule.last_fired_at is None
                                  or now - rule.last_fired_at >= every):
            return fire("repeat", f"still holds ({rule.repeat} repeat)")
        return stay("fired; condition still holds")
    if holds(rule, value, attempts):
        return fire("fire", "condition holds")
    return stay("condition does not hold" if value is not None else "no value to compare")


# -- text -----------------------------------------------------------------------------------
def value_text(area: str, value: Decimal | None, currency: str = "") -> str:
    """A measured value with its unit ("12.5 %", "1,200.00 USD", "-" for none)."""
    if value is None:
        return "-"
    if area in MONEY_AREAS:
        return present.money(value, currency)
    unit = AREA_UNITS.get(area)
    plain = present.plain_decimal(value)
    return f"{plain} {unit}" if unit else plain


def condition_text(area: str, op: str, threshold: Decimal, currency: str = "") -> str:
    """"ASR < 20 %", "Balance always"."""
    label = AREA_LABELS.get(area, present.text(area))
    if op == "always":
        return f"{label} always"
    return f"{label} {op} {value_text(area, threshold, currency)}"


def mail_text(*, customer: str, title: str, condition: str, value: str, attempts: int,
              sample_minutes: int, at: datetime, reason: str,
              penalty_until: datetime | None) -> tuple[str, str]:
    """(subject, body) of the mail a firing sends."""
    subject = present.clip(f"Alert: {customer}: {title}", 200)
    lines = [
        f"Customer:  {present.text(customer)}",
        f"Alert:     {present.text(title)}",
        f"Condition: {condition}",
        f"Value:     {value} (over the last {sample_minutes} min, {attempts} attempts)",
        f"At:        {at:%Y-%m-%d %H:%M} UTC",
        f"Why:       {reason}",
    ]
    if penalty_until is not None:
        lines.append(f"Penalty:   the customer cannot place calls until "
                     f"{penalty_until:%Y-%m-%d %H:%M} UTC")
    return subject, "\n".join(lines) + "\n"


def report_lines(out) -> list[str]:
    """The Test report (the command and the tab's dialog) of an evaluator outcome
    (data.alerts.Outcome): plain text, escaped by the caller."""
    d = out.decision
    what = {"fire": "would FIRE", "repeat": "would fire again (repeat)",
            "rearm": "would re-arm (back to ready)",
            "end_penalty": "would end the penalty (customer back to active)",
            "stay": "would do nothing"}[d.action]
    lines = [f"Alert #{out.alert_id} of {out.customer}: {out.title}",
             f"Condition: {out.condition}",
             f"Value now: {out.value} ({out.attempts} attempts in the sample)",
             f"Decision:  {what}: {d.reason}"]
    if out.note:
        lines.append(f"Also:      {out.note}")
    if out.mail is not None:
        to = ", ".join(out.mail.to) or "(no email recipients)"
        lines += ["", f"Mail to {to}", f"Subject: {out.mail.subject}", "",
                  *out.mail.body.rstrip("\n").split("\n")]
        if out.mail.numbers:
            lines.append(f"(no SMS gateway: {', '.join(out.mail.numbers)} would not be told)")
    return lines

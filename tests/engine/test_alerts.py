"""engine.alerts: the validator and the state machine's transitions (docs/domain.md §10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connex_tui.engine.alerts import (
    MIN_GAP,
    OPERATORS,
    REPEATS,
    Rule,
    condition_text,
    decide,
    validate_alert,
)
from connex_tui.engine.validation import ValidationError

NOW = datetime(2025, 3, 14, 12, 30, tzinfo=UTC)
D = Decimal
LOW_ASR = Rule("asr", "<", D(20), D(30), min_attempts=10)


def errors(**raw) -> dict[str, str]:
    with pytest.raises(ValidationError) as exc:
        validate_alert({"title": "t", "area": "asr", "operator": "<", **raw})
    return exc.value.errors


def test_validator_accepts_and_normalises():
    a = validate_alert({"title": " Low balance ", "area": "Balance", "operator": "<",
                        "threshold": "-5.5", "reset_threshold": "10",
                        "recipients": "NOC@Acme.example; 4930123456 noc@acme.example",
                        "penalty_minutes": "0", "repeat": "daily"})
    assert (a.title, a.area, a.threshold, a.reset_threshold, a.penalty_minutes) == (
        "Low balance", "balance", D("-5.5"), D(10), None)
    assert a.recipients == "noc@acme.example, +4930123456"  # one mailbox, once


def test_validator_messages_per_field():
    assert set(errors(title="", threshold="1,000", recipients="bob")) == {
        "title", "threshold", "recipients"}
    assert "at most 6 decimals" in errors(threshold="0.0000001")["threshold"]
    assert "0 to 100" in errors(threshold="101")["threshold"]
    assert "never below 0" in errors(area="pdd", threshold="-1")["threshold"]
    assert "or more" in errors(threshold="20", reset_threshold="10")["reset_threshold"]
    assert "or less" in errors(operator=">", threshold="20",
                               reset_threshold="30")["reset_threshold"]
    assert "leave empty" in errors(operator="always", reset_threshold="3")["reset_threshold"]
    assert set(errors(area="mood", operator="~", sample_minutes="0", repeat="weekly",
                      title="a\x1bb")) == {"area", "operator", "sample_minutes", "repeat",
                                           "title"}


def test_ready_fires_when_condition_holds_with_enough_attempts():
    assert decide(LOW_ASR, D(10), 9, NOW).action == "stay"  # 9 < 10 attempts: gated
    d = decide(LOW_ASR, D(10), 10, NOW)
    assert (d.action, d.state, d.last_fired_at, d.penalty_until) == ("fire", "fired", NOW,
                                                                      None)
    assert decide(LOW_ASR, D(25), 50, NOW).action == "stay"
    assert decide(LOW_ASR, None, 50, NOW).action == "stay"


def test_penalty_starts_and_ends():
    rule = Rule("balance", "<", D(0), penalty_minutes=30)
    d = decide(rule, D(-1), 0, NOW)
    assert (d.state, d.penalty_until) == ("penalty", NOW + timedelta(minutes=30))
    during = Rule(**{**_fields(rule), "state": "penalty", "last_fired_at": NOW,
                     "penalty_until": d.penalty_until})
    assert decide(during, D(-1), 0, NOW + timedelta(minutes=29)).action == "stay"
    end = decide(during, D(-1), 0, NOW + timedelta(minutes=30))
    assert (end.action, end.state, end.penalty_until) == ("end_penalty", "ready", None)


def test_fired_rearms_over_reset_and_repeats():
    fired = Rule(**{**_fields(LOW_ASR), "state": "fired", "last_fired_at": NOW,
                    "repeat": "hourly"})
    assert decide(fired, D(25), 50, NOW + timedelta(hours=2)).action == "stay"  # < reset 30
    assert decide(fired, D(30), 50, NOW + timedelta(minutes=5)).action == "rearm"
    assert decide(fired, D(10), 50, NOW + timedelta(minutes=59)).action == "stay"
    assert decide(fired, D(10), 50, NOW + timedelta(hours=1)).action == "repeat"
    once = Rule(**{**_fields(fired), "repeat": "none"})
    assert decide(once, D(10), 50, NOW + timedelta(days=9)).action == "stay"


def test_always_fires_once_or_at_each_repeat():
    always = Rule("balance", "always", D(0))
    assert decide(always, D(5), 0, NOW).action == "fire"
    fired = Rule(**{**_fields(always), "state": "fired", "last_fired_at": NOW})
    assert decide(fired, D(5), 0, NOW + timedelta(seconds=30)).action == "stay"  # MIN_GAP
    # repeat none: a one-off notice, not a mail every minute for ever
    assert decide(fired, D(5), 0, NOW + timedelta(days=30)).action == "stay"
    hourly = Rule(**{**_fields(fired), "repeat": "hourly"})
    assert decide(hourly, D(5), 0, NOW + timedelta(minutes=59)).action == "stay"
    assert decide(hourly, D(5), 0, NOW + timedelta(hours=1)).action == "repeat"
    daily = Rule(**{**_fields(fired), "repeat": "daily"})
    assert decide(daily, D(5), 0, NOW + timedelta(hours=23)).action == "stay"
    assert decide(daily, D(5), 0, NOW + timedelta(days=1)).action == "repeat"


def test_condition_text():
    assert condition_text("balance", "<", D("50"), "USD") == "Balance < 50.00 USD"
    assert condition_text("pdd", ">=", D("6000")) == "PDD >= 6000 ms"
    assert condition_text("cps", "always", D(0)) == "CPS always"


def _fields(rule: Rule) -> dict:
    return {f: getattr(rule, f) for f in Rule.__dataclass_fields__}


@given(op=st.sampled_from(OPERATORS), repeat=st.sampled_from(REPEATS),
       state=st.sampled_from(("ready", "fired", "penalty")),
       value=st.one_of(st.none(), st.decimals(-1000, 1000, places=2)),
       attempts=st.integers(0, 100), minutes=st.integers(0, 3000),
       penalty=st.one_of(st.none(), st.integers(1, 600)))
def test_transitions_are_consistent(op, repeat, state, value, attempts, minutes, penalty):
    last = NOW - timedelta(minutes=minutes) if state != "ready" or minutes % 2 else None
    until = (last + timedelta(minutes=penalty or 60)) if state == "penalty" else None
    rule = Rule("asr", op, D(20), None, 10, penalty, repeat, state, last, until)
    d = decide(rule, value, attempts, NOW)
    if d.action == "stay":  # nothing changes
        assert (d.state, d.last_fired_at, d.penalty_until) == (state, last, until)
    if d.fires:  # a firing is never less than a minute after the last, nor in a penalty
        assert state != "penalty" and d.last_fired_at == NOW
        assert last is None or NOW - last >= MIN_GAP
        assert (d.state == "penalty") == bool(penalty)
        assert d.penalty_until == (NOW + timedelta(minutes=penalty) if penalty else None)
    if state == "penalty":
        assert d.action in ("stay", "end_penalty")
    if d.action == "rearm":
        assert state == "fired" and d.state == "ready" and op != "always"
    if attempts < 10 and op != "always":  # too few attempts: a rate area never fires
        assert not d.fires

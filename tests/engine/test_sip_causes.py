"""Hangup causes and dispositions -> SIP codes: the table of docs/domain.md §7."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connex_tui.engine.sip_causes import Q850, sip_for_cause, sip_for_disposition


@pytest.mark.parametrize(("cause", "answered", "code"), [
    ("NORMAL_CLEARING", True, 200), ("NORMAL_CLEARING", False, 487), ("16", False, 487),
    ("USER_BUSY", False, 486), ("17", False, 486), ("NO_USER_RESPONSE", False, 408),
    ("NO_ANSWER", False, 480), ("SUBSCRIBER_ABSENT", False, 480),
    ("CALL_REJECTED", False, 603), ("UNALLOCATED_NUMBER", False, 404),
    ("NO_ROUTE_DESTINATION", False, 404), ("INVALID_NUMBER_FORMAT", False, 484),
    ("NORMAL_CIRCUIT_CONGESTION", False, 503), ("NORMAL_TEMPORARY_FAILURE", False, 503),
    ("DESTINATION_OUT_OF_ORDER", False, 502), ("RECOVERY_ON_TIMER_EXPIRE", False, 504),
    ("INCOMPATIBLE_DESTINATION", False, 488), ("ORIGINATOR_CANCEL", False, 487),
    ("user_busy", False, 486), ("USER_BUSY", True, 200),
])
def test_causes(cause, answered, code):
    assert sip_for_cause(cause, answered)[0] == code


def test_an_unknown_cause_is_500_keeping_the_cause_as_reason():
    assert sip_for_cause("MANDATORY_IE_MISSING", False) == (500, "MANDATORY_IE_MISSING")
    assert sip_for_cause("96", False) == (500, "96")


@pytest.mark.parametrize(("disposition", "code", "reason"), [
    ("ANSWERED", 200, "OK"), ("BUSY", 486, "Busy Here"),
    ("NO ANSWER", 480, "Temporarily Unavailable"), ("no  answer", 480,
                                                    "Temporarily Unavailable"),
    ("CONGESTION", 503, "Service Unavailable"), ("FAILED", 502, "Bad Gateway"),
    ("CANCEL", 500, "CANCEL"),
])
def test_dispositions(disposition, code, reason):
    assert sip_for_disposition(disposition) == (code, reason)


def test_the_docs_table_is_this_table():
    """docs/domain.md §7 prints the mapping: every named cause there maps as the code does."""
    doc = (Path(__file__).parents[2] / "docs" / "domain.md").read_text()
    rows = re.findall(r"^  \| ([A-Za-z_ (),0-9/]+?) \| (\d+)(?: / (\d+))? \|$", doc, re.M)
    named = {}
    for causes, first, second in rows:
        for name in re.findall(r"[A-Z_]{4,}", causes):
            named[name] = int(second or first)  # "answered / not answered": the second
    assert named.keys() == Q850.keys()
    for name, code in named.items():
        assert sip_for_cause(name, False)[0] == code, name

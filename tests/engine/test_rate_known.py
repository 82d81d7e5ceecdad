"""rate_known: the pipeline's route, rate and provider steps for a call that already took
place, the customer given (CDR import)."""

from __future__ import annotations

from decimal import Decimal

from connex_tui.engine.pipeline import decide, rate_known
from tests.engine.builders import World, call, r

D = Decimal


def world():
    w = World()
    acme = w.customer("Acme", balance="-50", status="inactive", channels=1)
    retail = w.card("Retail", [r("44", "0.0200"), r("447", "0.0500", inc="1/1"),
                               r("449", "0.9000", blocked=True)])
    premium = w.card("Premium", [r("44", "0.1000")])
    w.provider("Carrier-A", [r("44", "0.0100")], parent_of=retail)
    w.route(acme, retail, dial_string="44\n", capped_rate=D("0.5"))
    w.route(acme, premium, tech_prefix="77#")
    return w, acme


def test_what_judges_a_new_call_does_not_apply_to_one_that_happened():
    w, acme = world()
    assert decide(w.snap, call("447700900123")).allowed is False  # no auth, inactive
    result = rate_known(w.snap, acme.id, call("447700900123", source_ip=""))
    assert (result.allowed, result.prefix, result.rate, result.mcd, result.pulse) == (
        True, "447", D("0.05"), 1, 1)
    assert [p.name for p in result.providers] == ["Carrier-A"]
    assert result.trace[0] == "1. Customer: Acme, given by the CDR"


def test_route_by_tech_prefix_and_the_longest_prefix():
    w, acme = world()
    result = rate_known(w.snap, acme.id, call("77#4420123"))
    assert (result.route, result.number_out, result.prefix, result.rate) == (
        "77#", "4420123", "44", D("0.1"))


def test_a_row_the_switch_would_refuse_still_rates_a_call_it_carried():
    w, acme = world()
    result = rate_known(w.snap, acme.id, call("449123"))
    assert (result.allowed, result.rate, result.providers) == (True, D("0.9"), ())


def test_no_rate_is_a_reject():
    w, acme = world()
    assert rate_known(w.snap, acme.id, call("3312345")).reason == "Blocked by Dial Plan"
    assert rate_known(w.snap, 999, call("4412345")).reason == "Unknown Customer"
    unchecked = rate_known(w.snap, acme.id, call("447700900123"), providers=False)
    assert unchecked.rate == D("0.05") and unchecked.providers == ()

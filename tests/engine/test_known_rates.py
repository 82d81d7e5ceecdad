"""KnownRates: rate_known() memoised per class of calls (CDR import) gives the rating of
rate_known() for every call: rates changing mid-file, effective_from boundaries to the
second, another customer, tech prefixes, dial strings, parent cards, strategies."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from connex_tui.engine.known_rates import KnownRates
from connex_tui.engine.live_call import rated
from connex_tui.engine.pipeline import rate_known
from connex_tui.engine.snapshot import CallInput, StrategyCardS, StrategyS
from tests.engine.builders import AT, World, r

D = Decimal
CHANGE = AT + timedelta(hours=2)  # the new rates take effect mid-file
LATER = AT + timedelta(hours=5)


def world():
    w = World()
    acme = w.customer("Acme")
    bolt = w.customer("Bolt", currency="EUR")
    retail = w.card("Retail", [
        r("44", "0.0200"), r("447", "0.0500", inc="1/1"),
        r("447", "0.0700", inc="30/6", eff=CHANGE),  # a new rate mid-file
        r("4479", "0.0900", eff=LATER),  # a longer prefix that only exists later
        r("33", "0.0300", fee="0.0100")])
    premium = w.card("Premium", [r("44", "0.1000"), r("4420", "0.1500", eff=CHANGE)])
    carrier = w.provider("Carrier-A", [r("44", "0.0100"), r("447", "0.0300", eff=CHANGE)],
                         parent_of=retail)
    w.provider("Carrier-B", [r("4", "0.0150", inc="6/6")], parent_of=retail)
    w.route(acme, retail, dial_string="44\n33\n", strategies=(
        StrategyS("447", "priority", (StrategyCardS(carrier.id, priority=1),)),))
    w.route(acme, premium, tech_prefix="77#")
    w.route(bolt, premium)  # another customer: another card for the same numbers
    return w, acme, bolt


def rating(result, duration_ms: int, at):
    """What a CDR keeps of a result: every rating field and the money of the call (the
    provider side rated on the result's number_out, as the import does)."""
    provider = result.providers[0] if result.providers else None
    money = (rated(_snap[0], result, provider, duration_ms, at)
             if result.rate is not None else None)
    return (result.decision, result.sip_code, result.reason, result.customer_id,
            result.route_id, result.card_id, result.currency, result.prefix,
            result.destination, result.rate, result.connect_fee, result.mcd, result.pulse,
            result.precision, result.providers, money)


_snap: list = [None]


def test_every_call_rates_as_rate_known_does():
    w, acme, bolt = world()
    _snap[0] = w.snap
    known = KnownRates(w.snap)
    rng = random.Random(5)
    heads = ("44", "447", "4479", "4420", "33", "49", "77#44", "77#4420", "77#447", "4")
    edges = [AT, CHANGE - timedelta(seconds=1), CHANGE, CHANGE + timedelta(seconds=1),
             LATER - timedelta(seconds=1), LATER]
    calls = 0
    for _ in range(3000):
        number = rng.choice(heads) + "".join(rng.choice("0123456789")
                                             for _ in range(rng.randrange(0, 9)))
        at = rng.choice(edges) if rng.random() < 0.5 else AT + timedelta(
            seconds=rng.randrange(6 * 3600))
        customer = rng.choice((acme.id, bolt.id))
        duration = rng.randrange(0, 400_000)
        expected = rate_known(w.snap, customer, CallInput(number, "", "", at=at))
        got = known.rate(customer, number, at)
        assert rating(got, duration, at) == rating(expected, duration, at), (number, at)
        calls += 1
    assert known.runs < calls / 5  # the memo answered most of them


def test_effective_from_to_the_second_and_a_different_customer():
    w, acme, bolt = world()
    known = KnownRates(w.snap)
    before = known.rate(acme.id, "447700900123", CHANGE - timedelta(seconds=1))
    at = known.rate(acme.id, "447700900999", CHANGE)
    assert (before.rate, before.mcd, at.rate, at.mcd) == (D("0.05"), 1, D("0.07"), 30)
    assert known.rate(acme.id, "447912", LATER - timedelta(seconds=1)).prefix == "447"
    assert known.rate(acme.id, "447912", LATER).prefix == "4479"
    other = known.rate(bolt.id, "447700900123", CHANGE)
    assert (other.rate, other.currency, other.route_id) == (D("0.1"), "USD",
                                                            w.snap.routes[bolt.id][0].id)
    assert known.rate(bolt.id, "33123", AT).reason == "No Routes Available (Pre)"
    assert known.rate(acme.id, "49123", AT).reason == "Blocked by Dial Plan"


def test_a_regex_dial_string_runs_the_pipeline_for_every_call():
    w = World()
    acme = w.customer("Acme")
    card = w.card("Retail", [r("44", "0.0200")])
    w.route(acme, card, dial_string=r"^44\d{6}$")
    known = KnownRates(w.snap)
    assert known.rate(acme.id, "44123456", AT).rate == D("0.02")
    assert known.rate(acme.id, "441234567", AT).reason == "Blocked by Dial Plan"
    assert known.rate(acme.id, "44123457", AT).rate == D("0.02")
    assert known.runs == 3


def test_the_memo_is_bounded_and_rates_the_same_after_it_starts_afresh(monkeypatch):
    from connex_tui.engine import known_rates

    monkeypatch.setattr(known_rates, "_MAX_MEMO", 2)
    w, acme, bolt = world()
    known = KnownRates(w.snap)
    numbers = ("4412", "44712", "3312", "4412", "44712")
    rates = [known.rate(acme.id, n, AT).rate for n in numbers]
    assert rates == [D("0.02"), D("0.05"), D("0.03"), D("0.02"), D("0.05")]
    assert len(known._memo) <= 2 and known.runs == 5


def test_customers_on_one_card_share_its_classes_and_a_full_budget_starts_afresh(
        monkeypatch):
    from connex_tui.engine import known_rates

    w, acme, bolt = world()
    cleo = w.customer("Cleo")
    w.route(cleo, w.snap.cards[w.snap.routes[bolt.id][0].rate_card_id])
    known = KnownRates(w.snap)
    assert known.rate(bolt.id, "4420", CHANGE).rate == known.rate(cleo.id, "4420",
                                                                   CHANGE).rate == D("0.15")
    assert known._classes[bolt.id] is known._classes[cleo.id]
    monkeypatch.setattr(known_rates, "_MAX_HELD", 3)  # every new customer starts afresh
    known = KnownRates(w.snap)
    for customer, number, rate in ((acme.id, "447", "0.05"), (bolt.id, "4420", "0.1"),
                                   (acme.id, "4471", "0.05"), (bolt.id, "4421", "0.1")):
        assert known.rate(customer, number, AT).rate == D(rate)
    assert len(known._shared) == 1

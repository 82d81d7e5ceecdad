"""The call pipeline of docs/domain.md §4.1: every step, every rejection code, in order."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from connex_tui.engine.pipeline import decide
from connex_tui.engine.snapshot import Usage
from tests.engine.builders import AT, PASSWORD, Standard, call, r, standard, strategy

D = Decimal


def sip(**kw):
    return {"sip_user": "alice", "sip_password": PASSWORD, "source_ip": "", **kw}


# Each case: (id, setup(s) -> call kwargs or None, expected sip code, reason, step that
# rejects). setup edits the standard world (see builders.standard) and may return the call.
def _two_customers_on_one_ip(s: Standard, tech: tuple[str, str]):
    other = s.world.customer("Other")
    s.world.ip(other, "10.0.0.0/24")
    s.world.update_route(s.route, tech_prefix=tech[0])
    s.world.route(other, s.retail, tech_prefix=tech[1])


def _deactivate(s: Standard, card) -> None:
    providers = s.world.snap.providers
    providers[card.provider_id] = replace(providers[card.provider_id], status="inactive")


def _auth_channels(s: Standard):
    s.world.snap.ip_auth = ()
    entry = s.world.ip(s.acme, "10.0.0.0/24", channels=2)
    return {"usage": Usage(live={("auth", entry.id): 2})}


def _sip_channels(s: Standard):
    user = s.world.sip_user(s.acme, "carol", channels=1)
    return sip(sip_user="carol", usage=Usage(live={("sip_user", user.id): 1}))


def _profit_assurance_drops_all(s: Standard):
    cheap = s.world.card("Cheap", [r("44", "0.0050")], parents=(s.a.id, s.b.id, s.c.id))
    s.world.update_route(s.route, rate_card_id=cheap.id, profit_assurance=True)


def _only_provider_inactive(s: Standard):
    _deactivate(s, s.a)  # the only one with prefix 1
    return {"number": "1555"}


REJECTIONS = [
    ("unknown sip user", lambda s: sip(sip_user="mallory"), 404, "Unknown User", 1),
    ("wrong password", lambda s: sip(sip_password="wrong-password!"), 403, "Forbidden", 1),
    ("no password", lambda s: sip(sip_password=None), 403, "Forbidden", 1),
    ("unknown ip", lambda s: {"source_ip": "10.0.1.7"}, 403, "IP Not Authorised", 1),
    ("not an ip", lambda s: {"source_ip": "carrier.example"}, 403, "IP Not Authorised", 1),
    ("egress entry does not authenticate", lambda s: (
        s.world.ip(s.acme, "192.0.2.1", direction="egress"), {"source_ip": "192.0.2.1"})[1],
     403, "IP Not Authorised", 1),
    ("sip user outside its whitelist", lambda s: (
        s.world.sip_user(s.acme, "bob", ip_whitelist=("192.0.2.0/24",)),
        sip(sip_user="bob", source_ip="198.51.100.1"))[1], 403, "IP Not Authorised", 1),
    ("shared ip, no tech prefixes", lambda s: _two_customers_on_one_ip(s, ("", "")),
     403, "IP Not Authorised (ambiguous, use a tech prefix)", 1),
    ("shared ip, both tech prefixes match", lambda s: (
        _two_customers_on_one_ip(s, ("44", "447")), {})[1],
     403, "IP Not Authorised (ambiguous, use a tech prefix)", 1),
    ("inactive", lambda s: s.world.update_customer(s.acme, status="inactive") and {},
     403, "Account Inactive", 3),
    ("pending approval",
     lambda s: s.world.update_customer(s.acme, status="pending_approval") and {},
     403, "Account Pending Approval", 3),
    ("penalty", lambda s: s.world.update_customer(s.acme, status="penalty") and {},
     403, "Account Penalty", 3),
    ("no credit", lambda s: s.world.update_customer(s.acme, balance="0") and {},
     402, "Payment Required", 3),
    ("debit limit exhausted",
     lambda s: s.world.update_customer(s.acme, balance="-5", debit_limit="5") and {},
     402, "Payment Required", 3),
    ("no route", lambda s: s.world.update_route(s.route, tech_prefix="99#") and {},
     580, "No Route Available", 4),
    ("route disabled", lambda s: s.world.update_route(s.route, enabled=False) and {},
     580, "No Route Available", 4),
    ("dial string", lambda s: s.world.update_route(s.route, dial_string="33\n^1") and {},
     503, "Blocked by Dial Plan", 4),
    ("channels customer", lambda s: {"usage": Usage(live={("customer", s.acme.id): 10})},
     503, "Channel Limit (customer)", 5),
    ("channels auth", _auth_channels, 503, "Channel Limit (auth)", 5),
    ("channels sip user", _sip_channels, 503, "Channel Limit (auth)", 5),
    ("channels route", lambda s: (
        s.world.update_route(s.route, channels=3),
        {"usage": Usage(live={("route", s.route.id): 3})})[1],
     503, "Channel Limit (route)", 5),
    ("cps customer", lambda s: {"usage": Usage(last_second={("customer", s.acme.id): 5})},
     503, "CPS Limit (customer)", 5),
    ("cps route", lambda s: (
        s.world.update_route(s.route, flow_speed=1),
        {"usage": Usage(last_second={("route", s.route.id): 1})})[1],
     503, "CPS Limit (route)", 5),
    ("cli whitelist", lambda s: s.world.cli_rule(s.acme, "^1") and {},
     403, "CLI Restriction In Effect", 6),
    ("no rate", lambda s: {"number": "8612345"}, 503, "No Routes Available (Pre)", 7),
    ("blocked row", lambda s: {"number": "447012345"}, 503, "Destination Blocked", 7),
    ("capped rate", lambda s: s.world.update_route(s.route, capped_rate=D("0.04")) and {},
     503, "Capped Rate", 7),
    ("connect cost", lambda s: (
        s.world.update_route(s.route, block_connect_cost=True), {"number": "33123"})[1],
     503, "Connect Cost Blocked", 7),
    ("lock to a card that is no parent",
     lambda s: s.world.update_route(s.route, lock_cards=frozenset({999})) and {},
     503, "No Routes Available (Lock)", 8),
    ("a card with no parent cards at all", lambda s: s.world.snap.cards[
        s.route.rate_card_id].__setattr__("parents", ()) or {},
     503, "No Routes Available", 8),
    ("exclude every parent", lambda s: s.world.update_route(
        s.route, exclude_cards=frozenset({s.a.id, s.b.id, s.c.id})) and {},
     503, "No Routes Available (Lock)", 8),
    ("profit assurance drops all", _profit_assurance_drops_all,
     503, "No Routes Available (Profit Assurance)", 8),
    ("provider cap drops all", lambda s: s.world.update_route(
        s.route, provider_capped_rate=D("0.02")) and {},
     503, "No Routes Available (Profit Assurance)", 8),
    ("strategy drop", lambda s: s.world.update_route(
        s.route, strategies=(strategy("", "lcr"), strategy("447", "drop"))) and {},
     503, "Dropping Call (Strategy)", 8),
    ("only provider with the prefix inactive", _only_provider_inactive,
     503, "No Routes Available", 8),
    ("script rejects", lambda s: s.world.update_route(s.route, script_id=s.world.script(
        "- match: {number: '^447'}\n  reject: '486 Busy Here'")) and {},
     486, "Busy Here", 9),
    ("script removes the only provider", lambda s: (
        s.world.update_route(s.route, lock_cards=frozenset({s.a.id}), script_id=s.world.script(
            "- remove_provider: carrier-a")), {})[1],
     503, "No Routes Available", 9),
    ("connect fee beyond credit", lambda s: (
        s.world.update_customer(s.acme, balance="0.005"), {"number": "33123"})[1],
     402, "Payment Required", 9),
]


@pytest.mark.parametrize(("setup", "code", "reason", "step"),
                         [case[1:] for case in REJECTIONS], ids=[c[0] for c in REJECTIONS])
def test_every_rejection(setup, code, reason, step):
    s = standard()
    kw = setup(s) or {}
    usage = kw.pop("usage", None)
    result = decide(s.snap, call(**kw), usage)
    assert (result.decision, result.sip_code, result.reason) == ("reject", code, reason), \
        result.trace
    assert not result.allowed
    # one trace line per step reached; the last one names the rejection
    assert [line.split(".")[0] for line in result.trace] == [str(i) for i in range(1, step + 1)]
    assert result.trace[-1].endswith(f"-> {code} {reason}")


def test_a_call_that_passes_every_step():
    s = standard()
    result = decide(s.snap, call("447700900123", "441632960000"))
    assert (result.decision, result.sip_code, result.reason) == ("allow", 200, "OK")
    assert result.allowed
    assert len(result.trace) == 9
    assert [t.split(".")[0] for t in result.trace] == [str(i) for i in range(1, 10)]
    assert (result.customer, result.customer_id) == ("Acme", s.acme.id)
    assert (result.auth, result.auth_id) == ("IP 10.0.0.0/24", s.acme_ip.id)
    assert (result.route_id, result.route) == (s.route.id, "(no tech prefix)")
    assert (result.card, result.currency, result.precision) == ("Retail", "USD", 4)
    assert (result.prefix, result.destination) == ("447", "UK Mobile")
    assert (result.rate, result.connect_fee, result.increment) == (D("0.05"), D(0), "60/60")
    assert [(p.name, p.rate, p.margin) for p in result.providers] == [
        ("Carrier-A", D("0.03"), D("0.02")),
        ("Carrier-B", D("0.04"), D("0.01")),
        ("Carrier-C", D("0.06"), D("-0.01")),
    ]
    assert result.providers[0].card == "Carrier-A-card"
    assert result.providers[0].prefix == "447"
    assert (result.number_out, result.cli_out, result.pai) == ("447700900123",
                                                              "441632960000", "")
    assert result.max_duration == 7200


def test_sip_user_authenticates_by_digest_and_whitelist():
    s = standard()
    s.world.sip_user(s.acme, "bob", "another-password", ip_whitelist=("192.0.2.0/24",))
    ok = decide(s.snap, call(sip_user="bob", sip_password="another-password",
                             source_ip="192.0.2.9"))
    assert ok.allowed, ok.trace
    assert ok.auth == "SIP user bob"
    assert ok.sip_user_id == s.snap.sip_users["bob"].id and ok.auth_id is None
    assert "no password given" in decide(s.snap, call(**sip(sip_password=""))).trace[0]
    # no whitelist = any source, even none
    assert decide(s.snap, call(**sip())).allowed


def test_ip_auth_longest_match_wins():
    s = standard()
    other = s.world.customer("Other")
    s.world.ip(other, "10.0.0.7")  # /32 inside Acme's /24
    s.world.route(other, s.retail)
    assert decide(s.snap, call(source_ip="10.0.0.7")).customer == "Other"
    assert decide(s.snap, call(source_ip="10.0.0.8")).customer == "Acme"


def test_ipv6_and_cidr_entries():
    s = standard()
    s.world.ip(s.acme, "2001:db8::/32")
    assert decide(s.snap, call(source_ip="2001:db8::1")).allowed
    assert decide(s.snap, call(source_ip="2001:db9::1")).reason == "IP Not Authorised"
    # an IPv4 peer seen on a dual-stack socket
    assert decide(s.snap, call(source_ip="::ffff:10.0.0.7")).customer == "Acme"


def test_shared_ip_is_resolved_by_the_tech_prefix_that_starts_the_number():
    s = standard()
    _two_customers_on_one_ip(s, ("", "77#"))
    result = decide(s.snap, call("77#447700900123"))
    assert result.customer == "Other", result.trace
    assert "shared by Acme, Other" in result.trace[0]
    assert result.number_out == "447700900123"  # the tech prefix is stripped at step 4


def test_auth_entry_rewrite_strip_tech_prefix_and_cli_prefix():
    s = standard()
    s.world.snap.ip_auth = ()
    s.world.ip(s.acme, "10.0.0.0/24", strip_digits=2, tech_prefix="55#", cli_prefix="00")
    s.world.update_route(s.route, tech_prefix="55#")
    result = decide(s.snap, call("00447700900123", "441632960000"))
    assert result.allowed, result.trace
    assert result.number_out == "447700900123"
    assert result.cli_out == "00441632960000"
    assert "stripped 2 digit(s)" in result.trace[1]
    assert "55#447700900123" in result.trace[1]


def test_longest_tech_prefix_wins_and_is_stripped():
    s = standard()
    s.world.route(s.acme, s.retail, tech_prefix="12")
    long = s.world.route(s.acme, s.retail, tech_prefix="123")
    result = decide(s.snap, call("123447700900123"))
    assert result.route_id == long.id
    assert result.route == "123"
    assert result.number_out == "447700900123"


def test_same_tech_prefix_routes_are_tried_in_order_by_dial_string():
    s = standard()
    s.world.update_route(s.route, tech_prefix="9", dial_string="33")
    second = s.world.route(s.acme, s.retail, tech_prefix="9", dial_string="^44(7|8)")
    s.world.route(s.acme, s.retail, tech_prefix="9", dial_string="")  # catch-all, last
    assert decide(s.snap, call("9447700900123")).route_id == second.id
    assert decide(s.snap, call("933123")).route_id == s.route.id
    # the longest tech prefix is not abandoned for a shorter one when its dial strings fail
    s.world.route(s.acme, s.retail, tech_prefix="", dial_string="")
    s.world.update_route(second, enabled=False)
    only = s.world.snap.routes[s.acme.id]
    s.world.snap.routes[s.acme.id] = tuple(x for x in only if x.dial_string != ())
    assert decide(s.snap, call("9447700900123")).reason == "Blocked by Dial Plan"


def test_limits_below_the_line_pass_and_zero_is_unlimited():
    s = standard()
    usage = Usage(live={("customer", s.acme.id): 9, ("route", s.route.id): 10_000},
                  last_second={("customer", s.acme.id): 4})
    result = decide(s.snap, call(), usage)
    assert result.allowed
    assert "customer 9/10" in result.trace[4] and "route 10000/∞" in result.trace[4]


def test_cli_rules_rewrite_and_pai_reach_the_result():
    s = standard()
    s.world.cli_rule(s.acme, r"^44(\d+)$", rewrite_cli=r"0\1", p_asserted_id="+44$1")
    result = decide(s.snap, call(cli="441632960000"))
    assert (result.cli_in, result.cli_out, result.pai) == ("441632960000", "01632960000",
                                                           "+441632960000")


def test_capped_rate_equal_passes_and_connect_fee_without_block_passes():
    s = standard()
    s.world.update_route(s.route, capped_rate=D("0.05"))
    assert decide(s.snap, call()).allowed
    france = decide(s.snap, call("33123"))
    assert france.allowed and france.connect_fee == D("0.01")


def test_rate_row_in_effect_at_call_time():
    s = standard()
    later = AT + timedelta(days=1)
    card = s.world.card("Dated", [r("44", "0.0200"), r("44", "0.0900", eff=later)],
                        parents=(s.a.id,))
    s.world.update_route(s.route, rate_card_id=card.id)
    assert decide(s.snap, call(at=AT)).rate == D("0.02")
    assert decide(s.snap, call(at=later)).rate == D("0.09")
    assert decide(s.snap, call(at=None)).rate == D("0.09")  # no time filter: newest
    naive = decide(s.snap, call(at=later.replace(tzinfo=None)))  # naive = UTC
    assert naive.rate == D("0.09")
    # the moment of the last call is remembered (a batch has one): a new one is read anew
    for at, rate in ((AT, "0.02"), (AT, "0.02"), (later, "0.09"), (AT, "0.02")):
        assert decide(s.snap, call(at=at)).rate == D(rate)


# -- step 8 ------------------------------------------------------------------------------
def providers(result):
    return [p.name for p in result.providers]


def test_lock_and_exclude():
    s = standard()
    s.world.update_route(s.route, lock_cards=frozenset({s.b.id, s.c.id}))
    assert providers(decide(s.snap, call())) == ["Carrier-B", "Carrier-C"]
    s.world.update_route(s.route, exclude_cards=frozenset({s.c.id}))
    assert providers(decide(s.snap, call())) == ["Carrier-B"]


def test_inactive_providers_and_blocked_rows_are_skipped():
    s = standard()
    _deactivate(s, s.c)
    s.world.provider("Carrier-D", [r("44", "0.001"), r("447", "0.001", blocked=True)],
                     parent_of=s.retail)
    result = decide(s.snap, call())
    assert providers(result) == ["Carrier-A", "Carrier-B"]
    assert "Carrier-C-card inactive" in result.trace[7]
    assert "Carrier-D-card blocked" in result.trace[7]


def test_profit_assurance_and_provider_cap():
    s = standard()
    s.world.update_route(s.route, profit_assurance=True)
    result = decide(s.snap, call())  # customer 0.05: C at 0.06 loses money
    assert providers(result) == ["Carrier-A", "Carrier-B"]
    assert "profit assurance drops Carrier-C" in result.trace[7]
    s.world.update_route(s.route, profit_assurance=False, provider_capped_rate=D("0.035"))
    assert providers(decide(s.snap, call())) == ["Carrier-A"]
    # a provider at exactly the customer rate is kept (margin 0)
    s.world.update_route(s.route, provider_capped_rate=None, profit_assurance=True)
    assert providers(decide(s.snap, call("1555"))) == ["Carrier-A"]


@pytest.mark.parametrize(("rows", "expected"), [
    ((), ["Carrier-A", "Carrier-B", "Carrier-C"]),  # no row = lcr
    ((("*", "lcr"),), ["Carrier-A", "Carrier-B", "Carrier-C"]),
    ((("", "reverse_lcr"),), ["Carrier-C", "Carrier-B", "Carrier-A"]),
    ((("", "priority", ("c", 1, 0), ("b", 2, 0)),), ["Carrier-C", "Carrier-B", "Carrier-A"]),
    ((("", "priority", ("b", 1, 0)),), ["Carrier-B", "Carrier-A", "Carrier-C"]),
    ((("", "weighted", ("a", 0, 10), ("c", 0, 70), ("b", 0, 20)),),
     ["Carrier-C", "Carrier-B", "Carrier-A"]),
    ((("", "round_robin"),), ["Carrier-A", "Carrier-B", "Carrier-C"]),
    # the row with the longest matching prefix wins
    ((("", "reverse_lcr"), ("44", "lcr")), ["Carrier-A", "Carrier-B", "Carrier-C"]),
    ((("", "lcr"), ("44", "reverse_lcr"), ("33", "drop")),
     ["Carrier-C", "Carrier-B", "Carrier-A"]),
])
def test_strategy_orderings(rows, expected):
    s = standard()
    cards = {"a": s.a, "b": s.b, "c": s.c}
    built = tuple(strategy(prefix, mode, *((cards[k], p, w) for k, p, w in extra))
                  for prefix, mode, *extra in rows)
    s.world.update_route(s.route, strategies=built)
    result = decide(s.snap, call())
    assert providers(result) == expected
    assert "strategy" in result.trace[7]


def test_lcr_ties_are_broken_by_name():
    s = standard()
    s.world.provider("Aardvark", [r("447", "0.0300")], parent_of=s.retail)
    assert providers(decide(s.snap, call()))[:2] == ["Aardvark", "Carrier-A"]


# -- step 9 ------------------------------------------------------------------------------
def test_script_changes_cli_and_provider_order_and_shows_in_the_trace():
    s = standard()
    sid = s.world.script("- match: {number: '^447'}\n  set_cli: '4420000000'\n"
                         "- prefer_provider: Carrier-C\n", name="uk")
    s.world.update_route(s.route, script_id=sid)
    result = decide(s.snap, call())
    assert result.cli_out == "4420000000"
    assert providers(result) == ["Carrier-C", "Carrier-A", "Carrier-B"]
    assert "script uk" in result.trace[8]
    assert "Carrier-C moved first" in result.trace[8]


def test_max_duration_is_what_credit_pays_when_below_the_route_max():
    s = standard()
    s.world.update_customer(s.acme, balance="1.00")
    result = decide(s.snap, call("4420"))  # 0.02/min, 60/60: 1.00 pays 50 minutes
    assert result.max_duration == 3000
    s.world.update_route(s.route, max_duration=600)
    assert decide(s.snap, call("4420")).max_duration == 600
    s.world.update_customer(s.acme, balance="0.50", debit_limit="0.50")
    assert decide(s.snap, call("4420")).max_duration == 600


def test_max_duration_respects_increments_and_connect_fee():
    s = standard()
    s.world.update_customer(s.acme, balance="0.0150")
    # France 0.03/min + 0.01 fee, 60/60: the first minute costs 0.04 > 0.015
    assert decide(s.snap, call("33123")).reason == "Payment Required"
    # USA 0.01/min, 6/6: 0.015 pays 90 s (0.0150)
    assert decide(s.snap, call("1555")).max_duration == 90


def test_a_free_destination_is_limited_by_the_route_only():
    s = standard()
    card = s.world.card("Free", [r("44", "0")], parents=(s.a.id,))
    s.world.update_route(s.route, rate_card_id=card.id, max_duration=3600)
    result = decide(s.snap, call())
    assert result.max_duration == 3600
    assert "credit 100.00 covers it" in result.trace[8]


def test_decide_reuses_derived_lookups_but_sees_a_new_snapshot_part():
    s = standard()
    assert decide(s.snap, call(source_ip="10.9.9.9")).reason == "IP Not Authorised"
    s.world.ip(s.acme, "10.9.9.0/24")  # a new ip_auth tuple
    assert decide(s.snap, call(source_ip="10.9.9.9")).allowed


def test_memoised_outcomes_follow_every_change_to_the_snapshot():
    # decide() memoises step outcomes per snapshot value: a world edited between two calls
    # must decide the second call on what it holds now, never on the first call's memo
    s = standard()
    first = decide(s.snap, call("4420123"))
    assert [c.name for c in first.providers] == ["Carrier-B", "Carrier-A", "Carrier-C"]
    assert first.max_duration == 7200
    assert decide(s.snap, call("4420999")).trace[2:] == first.trace[2:]  # a memo hit
    s.world.update_customer(s.acme, balance="1", name="Acme Two")
    _deactivate(s, s.b)
    s.world.provider("Carrier-D", [r("442", "0.0010")], parent_of=s.retail)
    second = decide(s.snap, call("4420123"))
    assert [c.name for c in second.providers] == ["Carrier-D", "Carrier-A", "Carrier-C"]
    assert second.max_duration == 3000 and "available 1.00 USD" in second.trace[2]
    assert second.customer == "Acme Two" and second.trace[0].endswith("-> Acme Two")
    assert "4 parent card(s); skipped Carrier-B-card inactive" in second.trace[7]
    s.world.update_route(s.route, capped_rate=D("0.01"))
    third = decide(s.snap, call("4420123"))
    assert (third.sip_code, third.reason, third.prefix) == (503, "Capped Rate", "44")


def test_a_usage_reading_counted_up_between_calls_is_read_again():
    """The demo history adds each admitted call to the same Usage before the next decision
    in that second: the limits step must see the new counts (not a memo of the old ones)."""
    from tests.engine.builders import World

    w = World()
    acme = w.customer("Acme", balance="50", flow_speed=2, channels=3)
    w.ip(acme, "10.0.0.0/24")
    card = w.card("Retail", [r("44", "0.0200")])
    w.provider("A", [r("44", "0.0100")], parent_of=card)
    w.route(acme, card)
    usage = Usage({}, {})
    seen = []
    for _ in range(4):
        res = decide(w.snap, call("447700900123"), usage)
        seen.append((res.sip_code, res.reason))
        if res.decision == "allow":
            for key in (("customer", res.customer_id), ("auth", res.auth_id),
                        ("route", res.route_id)):
                usage.last_second[key] = usage.last_second.get(key, 0) + 1
                usage.live[key] = usage.live.get(key, 0) + 1
    assert seen == [(200, "OK"), (200, "OK"), (503, "CPS Limit (customer)"),
                    (503, "CPS Limit (customer)")]

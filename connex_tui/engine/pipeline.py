"""The call pipeline of docs/domain.md §4.1: one implementation for Simulate, the `simulate`
command, live traffic and CDR rating.

`decide(snapshot, call, usage)` runs steps 1-9 in order and stops at the first rejection.
Every step it reaches adds one trace line saying what it checked and what matched. Nothing
here does I/O; derived lookups (the IP-auth index, compiled dial strings) are built once per
snapshot part and reused while that part is unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from connex_tui.engine import present
from connex_tui.engine.cli_rules import REJECT_REASON as CLI_REJECT
from connex_tui.engine.cli_rules import apply_cli_rules
from connex_tui.engine.money import (
    billed_seconds,
    call_charge,
    max_seconds_affordable,
)
from connex_tui.engine.present import exact
from connex_tui.engine.rating import RateMatch
from connex_tui.engine.regex_guard import (
    GuardedPattern,
    RegexBudget,
    RegexBudgetSpent,
    compile_guarded,
)
from connex_tui.engine.snapshot import (
    REALM,
    CallInput,
    CardS,
    CustomerS,
    IpAuthS,
    ProviderChoice,
    ProviderS,
    Result,
    RouteS,
    Snapshot,
    StrategyS,
    Usage,
)

_NO_USAGE = Usage()
_STATUS_REASONS = {
    "inactive": "Account Inactive",
    "pending_approval": "Account Pending Approval",
    "penalty": "Account Penalty",
}


class _Reject(Exception):
    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


def decide(snap: Snapshot, call: CallInput, usage: Usage | None = None) -> Result:
    """What the switch would do with `call` against `snap` and live load `usage`.

    call.at None means no time filter on rate rows (the newest row of a prefix wins); the
    caller supplies the UTC time of the call otherwise."""
    if snap is not _MEMO_OWNER[0]:  # another configuration: the memos let the old one go
        _MEMO.clear()
        _MEMO_OWNER[0] = snap
    run = _Run(snap, call, usage or _NO_USAGE)
    try:
        run.steps()
    except _Reject as rejection:
        return run.result("reject", rejection.code, rejection.reason)
    return run.result("allow", 200, "OK")


def rate_known(snap: Snapshot, customer_id: int, call: CallInput, *,
               providers: bool = True) -> Result:
    """Steps 4, 7 and 8 for a call that already took place (CDR import, rerate): the
    customer comes with the CDR, not from authentication, and the steps that judge a call
    yet to be placed (rewrite by auth entry, admission, limits, CLI rules, max duration)
    do not apply. A reject means no rate: no route (580, 503 Blocked by Dial Plan) or no
    row (503 No Routes Available (Pre)); a row step 7 would refuse (blocked, capped,
    connect cost) still gives the rate it holds. A step 8 rejection leaves no provider;
    `providers` False skips step 8 (a check that the call can be rated at all)."""
    if snap is not _MEMO_OWNER[0]:  # as in decide()
        _MEMO.clear()
        _MEMO_OWNER[0] = snap
    run = _Run(snap, call, _NO_USAGE)
    customer = snap.customers.get(customer_id)
    if customer is None:
        run.note(1, "Customer", f"customer #{customer_id} is not loaded")
        return run.result("reject", 404, "Unknown Customer")
    run.set_customer(customer)
    run.note(1, "Customer", f"{customer.name}, given by the CDR")
    try:
        run.pick_route()
        run.rate_call()
    except _Reject as rejection:
        if run.rate is None:
            return run.result("reject", rejection.code, rejection.reason)
        return run.result("allow", 200, "OK")
    if providers:
        with suppress(_Reject):  # the trace says why no provider would have taken it
            run.pick_providers()
    return run.result("allow", 200, "OK")


# -- derived, per snapshot part --------------------------------------------------------
_DERIVED: dict[tuple[str, int], tuple[object, Any]] = {}


def _derived(kind: str, source: object, build: Callable[[Any], Any]) -> Any:
    """build(source), memoised while `source` (an immutable tuple of the snapshot) is the
    same object. The entry holds the source, so its id cannot be reused meanwhile."""
    key = (kind, id(source))
    hit = _DERIVED.get(key)
    if hit is not None and hit[0] is source:
        return hit[1]
    if len(_DERIVED) >= 64:  # old snapshots: start afresh (clear is safe across threads)
        _DERIVED.clear()
    value = build(source)
    _DERIVED[key] = (source, value)
    return value


# -- memoised step outcomes -------------------------------------------------------------
# A step's outcome (its trace line, a rejection, what it picked) is a function of the frozen
# snapshot values it read (customer, route, card, rate row, provider...) and a few call
# values. Batches and live traffic repeat a few thousand such combinations, so outcomes are
# memoised under the ids of those values. Each entry holds the values themselves, so no
# other object can take their ids while it exists: a hit is always the same inputs.
_Outcome = tuple[str, "tuple[int, str] | None", Any]  # trace line, (code, reason), payload
_MEMO: dict[tuple, tuple[Any, tuple]] = {}
_MEMO_MAX = 50_000
_MEMO_OWNER: list[Snapshot | None] = [None]  # the snapshot the memos were made against
_LIMITS: tuple[Usage | None, dict[tuple, tuple[_Outcome, tuple]]] = (None, {})


def _memo(key: tuple, refs: tuple, build: Callable[[], Any]) -> Any:
    hit = _MEMO.get(key)
    if hit is not None:
        return hit[0]
    value = build()
    if len(_MEMO) >= _MEMO_MAX:  # a huge configuration or a long day: start afresh
        _MEMO.clear()
    _MEMO[key] = (value, refs)
    return value


def _outcome(step: int, title: str, text: str, reject: tuple[int, str] | None = None,
             payload: Any = None) -> _Outcome:
    if reject is not None:
        text = f"{text} -> {reject[0]} {reject[1]}"
    return f"{step}. {title}: {text}", reject, payload


class _IpIndex:
    """Ingress IP-auth entries by network, for longest-match lookups."""

    def __init__(self, entries: Sequence[IpAuthS]) -> None:
        tables: dict[tuple[int, int], dict[int, list[IpAuthS]]] = {}
        for entry in entries:
            net = entry.network
            if net is None or entry.direction != "ingress":
                continue
            bits = net.max_prefixlen
            key = int(net.network_address) >> (bits - net.prefixlen)
            tables.setdefault((bits, net.prefixlen), {}).setdefault(key, []).append(entry)
        # longest prefix first, per address family
        self.tables = sorted(tables.items(), key=lambda kv: -kv[0][1])
        self.by_source: dict[str, list[IpAuthS] | None] = {}  # source text -> find()
        self.outcomes: dict[str, tuple] = {}  # source text -> _Run.ip_auth() (one entry)

    def find_source(self, source: str) -> list[IpAuthS] | None:
        """find() of a source address as the call gives it (None: not an IP address),
        memoised: a batch or a busy customer repeats a few source IPs many times."""
        found = self.by_source.get(source, False)
        if found is False:
            addr = _address(source)
            found = None if addr is None else self.find(addr)
            if len(self.by_source) >= 65_536:
                self.by_source.clear()
            self.by_source[source] = found
        return found  # type: ignore[return-value]

    def find(self, addr: IPv4Address | IPv6Address) -> list[IpAuthS]:
        """The entries of the longest network containing addr (several = shared IP)."""
        value, bits = int(addr), addr.max_prefixlen
        for (family_bits, length), table in self.tables:
            if family_bits != bits:
                continue
            found = table.get(value >> (bits - length))
            if found:
                return found
        return []


_Matcher = tuple[str, str, "GuardedPattern | None", str]  # kind, line, compiled, note


@lru_cache(maxsize=4096)
def _dial_matchers(lines: tuple[str, ...]) -> tuple[_Matcher, ...]:
    """Dial-string lines: plain digits = prefix, anything else = regex (searched)."""
    out: list[_Matcher] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if line.isdigit():
            out.append(("prefix", line, None, f"dial string {line!r} matches"))
            continue
        try:
            out.append(("regex", line, compile_guarded(line), f"dial string /{line}/ matches"))
        except ValueError:
            out.append(("bad", line, None, f"/{line}/ skipped: does not compile"))
    return tuple(out)


def _dial_match(route: RouteS, number: str, budget: RegexBudget) -> tuple[bool, str]:
    matchers = _dial_matchers(route.dial_string)
    if not matchers:
        return True, "empty dial string matches everything"
    notes = []
    for kind, line, pattern, note in matchers:
        if kind == "prefix":
            if number.startswith(line):
                return True, note
        elif kind == "regex":
            try:
                if pattern.search(number, budget) is not None:  # type: ignore[union-attr]
                    return True, note
            except RegexBudgetSpent as exc:
                notes.append(f"/{line}/ and the rest not tried: {exc}")
                break
            except ValueError as exc:
                notes.append(f"/{line}/ skipped: {exc}")
        else:
            notes.append(note)
    return False, "; ".join(notes)


def _epoch(at: datetime | None) -> int | None:
    global _LAST_EPOCH
    if at is None:
        return None
    last = _LAST_EPOCH
    if at is last[0]:  # a batch decides every call at one moment
        return last[1]
    epoch = int((at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp())
    _LAST_EPOCH = (at, epoch)  # the datetime is held: its id is not reused meanwhile
    return epoch


_LAST_EPOCH: tuple[datetime | None, int | None] = (None, None)


# A pure function of small, much repeated arguments (balances, rates): memoised.
_affordable = lru_cache(maxsize=8192)(max_seconds_affordable)


@lru_cache(maxsize=8192)
def _whole_charge(seconds: int, mcd: int, pulse: int, rate: Decimal, connect_fee: Decimal,
                  precision: int, rounding: str) -> Decimal:
    """The charge of a call of `seconds` (the route's limit): the same few per rate row."""
    return call_charge(billed_seconds(seconds, mcd, pulse), rate, connect_fee, answered=True,
                       precision=precision, rounding=rounding)


# -- the run ---------------------------------------------------------------------------
class _Run:
    def __init__(self, snap: Snapshot, call: CallInput, usage: Usage) -> None:
        self.snap = snap
        self.call = call
        self.usage = usage
        self.trace: list[str] = []
        self.fields: dict[str, Any] = {}
        self.number = call.number
        self.cli = call.cli
        self.pai = ""
        self.customer: CustomerS | None = None
        self.auth_level: tuple[str, int, int, int] | None = None  # level, id, channels, cps
        self.ip_entry: IpAuthS | None = None
        self.route: RouteS | None = None
        self.card: CardS | None = None
        self.rate: RateMatch | None = None
        self.providers: tuple[ProviderChoice, ...] = ()
        self.places = 4
        self.at_epoch: int | None = None
        self.budget = RegexBudget()  # the call's slow-engine regex time, all steps

    def result(self, decision: str, code: int, reason: str) -> Result:
        f = self.fields
        return Result(
            decision=decision, sip_code=code, reason=reason,
            number_in=self.call.number, cli_in=self.call.cli,
            number_out=self.number if self.customer else "",
            cli_out=self.cli if self.customer else "", pai=self.pai,
            providers=self.providers, trace=tuple(self.trace), precision=self.places, **f,
        )

    def note(self, step: int, title: str, text: str) -> None:
        self.trace.append(f"{step}. {title}: {text}")

    def reject(self, step: int, title: str, text: str, code: int, reason: str) -> _Reject:
        self.note(step, title, f"{text} -> {code} {reason}")
        return _Reject(code, reason)

    def apply(self, outcome: _Outcome) -> Any:
        """A (memoised) step outcome: its trace line, then its rejection or its payload."""
        line, reject, payload = outcome
        self.trace.append(line)
        if reject is not None:
            raise _Reject(*reject)
        return payload

    def steps(self) -> None:
        self.authenticate()
        self.rewrite()
        self.admit()
        self.pick_route()
        self.limits()
        self.cli_rules()
        self.rate_call()
        self.pick_providers()
        self.finish()

    # 1 ---------------------------------------------------------------------------------
    def authenticate(self) -> None:
        call, snap = self.call, self.snap
        title = "Authenticate"
        if call.sip_user:
            user = snap.sip_users.get(call.sip_user)
            customer = snap.customers.get(user.customer_id) if user else None
            if user is None or customer is None:
                raise self.reject(1, title, f"SIP user {call.sip_user!r} is not known",
                                  404, "Unknown User")
            digest = hashlib.md5(
                f"{user.username}:{REALM}:{call.sip_password or ''}".encode(),
                usedforsecurity=False).hexdigest()
            if not call.sip_password or not hmac.compare_digest(digest, user.ha1.lower()):
                why = "wrong password" if call.sip_password else "no password given"
                raise self.reject(1, title, f"SIP user {user.username}: {why}",
                                  403, "Forbidden")
            if user.ip_whitelist:
                addr = _address(call.source_ip)
                if addr is None or not any(addr in net for net in user.ip_whitelist):
                    raise self.reject(
                        1, title, f"SIP user {user.username}: source {call.source_ip or '-'} "
                        f"is not in its IP whitelist", 403, "IP Not Authorised")
            self.auth_level = ("sip_user", user.id, user.channels, user.flow_speed)
            self.fields.update(sip_user_id=user.id, auth=f"SIP user {user.username}")
            self.set_customer(customer)
            self.note(1, title, f"SIP user {user.username} (digest ok) of {customer.name}")
            return

        index: _IpIndex = _derived("ip", snap.ip_auth, _IpIndex)
        known = index.outcomes.get(call.source_ip)
        if known is None or snap.customers.get(known[0].customer_id) is not known[1]:
            known = self.ip_auth(index)
        entry, customer, self.auth_level, fields, line = known
        self.ip_entry, self.customer = entry, customer
        self.fields.update(fields)
        self.trace.append(line)

    def ip_auth(self, index: _IpIndex) -> tuple[IpAuthS, CustomerS, Any, dict, str]:
        """Step 1 by source IP: the entry, its customer, the auth level, the result fields
        and the trace line; memoised in the index for a source only one entry covers."""
        call, snap = self.call, self.snap
        title = "Authenticate"
        entries = found = index.find_source(call.source_ip)
        if entries is None:
            raise self.reject(1, title, f"source {call.source_ip or '-'} is not an IP address",
                              403, "IP Not Authorised")
        if len(entries) != 1 or entries[0].customer_id not in snap.customers:
            entries = [e for e in entries if e.customer_id in snap.customers]
        if not entries:
            raise self.reject(1, title, f"no ingress IP-auth entry covers "
                              f"{_address(call.source_ip)}", 403, "IP Not Authorised")
        entry = entries[0]
        how = f"source {call.source_ip} matched {entry.host}"
        customer_ids = list(dict.fromkeys(e.customer_id for e in entries)) \
            if len(entries) > 1 else ()
        if len(customer_ids) > 1:
            keep = [cid for cid in customer_ids if any(
                r.enabled and r.tech_prefix and call.number.startswith(r.tech_prefix)
                for r in snap.routes.get(cid, ()))]
            names = ", ".join(snap.customers[c].name for c in customer_ids)
            if len(keep) != 1:
                raise self.reject(
                    1, title, f"{how}, shared by {names}; {len(keep)} of them have a route "
                    f"whose tech prefix starts {call.number!r}", 403,
                    "IP Not Authorised (ambiguous, use a tech prefix)")
            how += f", shared by {names}; tech prefix picks one"
            entry = next(e for e in entries if e.customer_id == keep[0])
        customer = snap.customers[entry.customer_id]
        outcome = (entry, customer, ("auth", entry.id, entry.channels, entry.flow_speed),
                   {"auth_id": entry.id, "auth": f"IP {entry.host}",
                    "customer_id": customer.id, "customer": customer.name,
                    "currency": customer.currency},
                   f"1. {title}: {how} -> {customer.name}")
        if len(found) == 1:  # the number plays no part: the same for every call from here
            if len(index.outcomes) >= 65_536:
                index.outcomes.clear()
            index.outcomes[call.source_ip] = outcome
        return outcome

    def set_customer(self, customer: CustomerS) -> None:
        self.customer = customer
        self.fields.update(customer_id=customer.id, customer=customer.name,
                           currency=customer.currency)

    # 2 ---------------------------------------------------------------------------------
    def rewrite(self) -> None:
        entry = self.ip_entry
        if entry is None:
            self.trace.append(_SIP_USER_REWRITE)
            return
        if not (entry.strip_digits or entry.tech_prefix or entry.cli_prefix):
            self.trace.append(_NO_REWRITE)
            return
        changes = []
        if entry.strip_digits:
            self.number = self.number[entry.strip_digits:]
            changes.append(f"stripped {entry.strip_digits} digit(s)")
        if entry.tech_prefix:
            self.number = entry.tech_prefix + self.number
            changes.append(f"prepended tech prefix {entry.tech_prefix!r}")
        if changes:
            changes[-1] += f" -> number {self.number!r}"
        if entry.cli_prefix:
            self.cli = entry.cli_prefix + self.cli
            changes.append(f"CLI prefix {entry.cli_prefix!r} -> CLI {self.cli!r}")
        self.note(2, "Rewrite", "; ".join(changes))

    # 3 ---------------------------------------------------------------------------------
    def admit(self) -> None:
        c = self.customer
        assert c is not None
        self.apply(_memo(("admit", id(c)), (c,), lambda: _admission(c)))

    # 4 ---------------------------------------------------------------------------------
    def pick_route(self) -> None:
        number = self.number
        assert self.customer is not None
        routes = self.snap.routes.get(self.customer.id, ())
        groups = _memo(("routes", id(routes)), (routes,), lambda: _route_groups(routes))
        for group in groups:
            if number.startswith(group[0]):
                tech, tried = group
                break
        else:
            raise self.reject(4, "Route", f"no enabled route's tech prefix starts {number!r}",
                              580, "No Route Available")
        rest = number[len(tech):]
        label = f"tech prefix {tech!r}" if tech else "(no tech prefix)"
        notes = []
        for route in tried:
            ok, why = _dial_match(route, rest, self.budget)
            if ok:
                self.route = route
                self.number = rest
                self.fields.update(route_id=route.id, route=tech or "(no tech prefix)")
                stripped = f", stripped -> {rest!r}" if tech else ""
                self.note(4, "Route", f"route #{route.id} {label}{stripped}; {why}")
                return
            if why:
                notes.append(why)
        extra = f" ({'; '.join(notes)})" if notes else ""
        raise self.reject(4, "Route", f"{label}: {len(tried)} route(s), no dial string "
                          f"matches {rest!r}{extra}", 503, "Blocked by Dial Plan")

    # 5 ---------------------------------------------------------------------------------
    def limits(self) -> None:
        c, route, auth, usage = self.customer, self.route, self.auth_level, self.usage
        assert c is not None and route is not None and auth is not None
        # Memoised per usage reading (a batch has one; live traffic reads a new one per
        # call), so old readings never pile up; the counts are in the key because a caller
        # may add to a reading between calls (the demo history counts its own admissions).
        global _LIMITS
        reading, table = _LIMITS
        if reading is not usage:
            table = {}
            _LIMITS = (usage, table)
        live, last = usage.live, usage.last_second
        if live or last:
            levels = (("customer", c.id), (auth[0], auth[1]), ("route", route.id))
            key = (id(c), id(route), *auth, *(live.get(k, 0) for k in levels),
                   *(last.get(k, 0) for k in levels))
        else:  # no live load (a quiet switch, most batches): every count is 0
            key = (id(c), id(route), *auth)
        hit = table.get(key)
        if hit is None:
            hit = table[key] = (_limits(usage, c, auth, route), (c, route))
        self.apply(hit[0])

    # 6 ---------------------------------------------------------------------------------
    def cli_rules(self) -> None:
        assert self.customer is not None
        rules = self.snap.cli_rules.get(self.customer.id)
        if not rules:
            self.trace.append(_NO_CLI_RULES)
            return
        outcome = apply_cli_rules(rules, self.cli, self.budget)
        if not outcome.allowed:
            raise self.reject(6, "CLI", outcome.note, 403, CLI_REJECT)
        self.cli, self.pai = outcome.cli, outcome.pai
        self.note(6, "CLI", outcome.note)

    # 7 ---------------------------------------------------------------------------------
    def rate_call(self) -> None:
        route = self.route
        assert route is not None
        card = self.snap.cards.get(route.rate_card_id)
        if card is None:
            raise self.reject(7, "Rate", f"route's rate card #{route.rate_card_id} is not "
                              "loaded", 503, "No Routes Available (Pre)")
        self.card = card
        self.places = card.precision
        self.fields.update(card_id=card.id, card=card.name, currency=card.currency)
        self.at_epoch = _epoch(self.call.at)
        found = card.index.locate(self.number, self.at_epoch)
        if found is None:
            raise self.reject(7, "Rate", f"card {card.name}: no prefix of {self.number!r}",
                              503, "No Routes Available (Pre)")
        line, reject, (self.rate, fields) = _memo(
            ("rate", id(card), found[1], id(route)), (card, route),
            lambda: _rating(card, card.index.lookup(self.number, self.at_epoch), route))
        self.fields.update(fields)  # a rejected call shows the row too
        self.apply((line, reject, None))

    # 8 ---------------------------------------------------------------------------------
    def pick_providers(self) -> None:
        snap, route, card, rate = self.snap, self.route, self.card, self.rate
        assert route is not None and card is not None and rate is not None
        number, at = self.number, self.at_epoch
        strategy = _strategy(route.strategies, number) if route.strategies else None
        # The key: every value the outcome reads, each parent card with the row it matched
        # (the customer's rate row fixes the sell rate, the route lock, exclude and caps).
        key: list[Any] = ["providers", id(route), id(card), rate.row, id(strategy)]
        refs: list[Any] = [route, card]
        cards, providers = snap.cards, snap.providers
        lock, exclude = route.lock_cards, route.exclude_cards
        parents: list[tuple[CardS, ProviderS | None]] = []
        for cid in card.parents:
            pc = cards.get(cid)
            if pc is None:
                continue
            provider = providers.get(pc.provider_id) if pc.provider_id else None
            row = -1
            if (provider is not None and provider.status == "active"
                    and (not lock or cid in lock) and cid not in exclude):
                found = pc.index.locate(number, at)
                row = -1 if found is None else found[1]
            key += (id(pc), id(provider), row)
            refs += (pc, provider)
            parents.append((pc, provider))
        self.providers = self.apply(_memo(tuple(key), tuple(refs), lambda: _choose_providers(
            route, card, rate, parents, strategy, number, at)))

    # 9 ---------------------------------------------------------------------------------
    def finish(self) -> None:
        route, card, rate, c = self.route, self.card, self.rate, self.customer
        assert route is not None and card is not None and rate is not None and c is not None
        if route.script_id is None:
            self.fields["max_duration"] = self.apply(_memo(
                ("finish", id(route), id(card), rate.row, id(c)), (route, card, c),
                lambda: _duration(["no script"], route, card, rate, c)))
            return
        parts = []
        script = self.snap.scripts.get(route.script_id)
        if script is None:
            parts.append(f"script #{route.script_id} is not loaded: skipped")
        else:
            label = f"script {script.name or '#' + str(route.script_id)}"
            out = script.apply(self.number, self.cli, self.providers, self.budget)
            self.cli, self.providers = out.cli, out.providers
            parts.append(f"{label}: " + ("; ".join(out.trace) or "no rule matches"))
            if out.reject is not None:
                raise self.reject(9, _FINISH, "; ".join(parts), *out.reject)
            if not self.providers:
                raise self.reject(9, _FINISH, "; ".join(parts) + "; no provider left",
                                  503, "No Routes Available")
        self.fields["max_duration"] = self.apply(_duration(parts, route, card, rate, c))


# -- step outcomes (memoised by the steps above) -----------------------------------------
_SIP_USER_REWRITE = "2. Rewrite: SIP user: no auth-entry rewrite"
_NO_REWRITE = "2. Rewrite: none (entry has no strip digits, tech prefix or CLI prefix)"
_NO_CLI_RULES = "6. CLI: no CLI rules: CLI passes unchanged"
_FINISH = "Script and duration"


def _admission(c: CustomerS) -> _Outcome:
    if c.status != "active":
        reason = _STATUS_REASONS.get(c.status, "Account Inactive")
        return _outcome(3, "Account", f"status {c.status}", (403, reason))
    available = c.available
    text = (f"active; available {exact(available, 2)} {c.currency} (balance "
            f"{exact(c.balance, 2)} + debit limit {exact(c.debit_limit, 2)})")
    if available <= 0:
        return _outcome(3, "Account", text, (402, "Payment Required"))
    return _outcome(3, "Account", text)


def _route_groups(routes: Sequence[RouteS]) -> list[tuple[str, list[RouteS]]]:
    """Enabled routes by tech prefix, longest first: the first group whose prefix starts
    the number holds the routes tried, in their order."""
    groups: dict[str, list[RouteS]] = {}
    for r in routes:
        if r.enabled:
            groups.setdefault(r.tech_prefix, []).append(r)
    return sorted(groups.items(), key=lambda g: -len(g[0]))


def _limits(usage: Usage, c: CustomerS, auth: tuple[str, int, int, int],
            route: RouteS) -> _Outcome:
    levels = (("customer", "customer", c.id, c.channels, c.flow_speed),
              ("auth", auth[0], auth[1], auth[2], auth[3]),
              ("route", "route", route.id, route.channels, route.flow_speed))
    live, last = usage.live, usage.last_second
    seen_ch, seen_cps = [], []
    for label, key, ident, channels, _cps in levels:
        now = live.get((key, ident), 0)
        seen_ch.append(f"{label} {present.channels(now, channels)}")
        if channels and now >= channels:
            return _outcome(5, "Limits", f"live calls {', '.join(seen_ch)}",
                            (503, f"Channel Limit ({label})"))
    for label, key, ident, _channels, cps in levels:
        now = last.get((key, ident), 0)
        seen_cps.append(f"{label} {present.channels(now, cps)}")
        if cps and now >= cps:
            return _outcome(5, "Limits", f"calls in the last second {', '.join(seen_cps)}",
                            (503, f"CPS Limit ({label})"))
    return _outcome(5, "Limits", f"live calls {', '.join(seen_ch)}; calls in the last second "
                    f"{', '.join(seen_cps)}")


def _rating(card: CardS, match: RateMatch | None, route: RouteS) -> _Outcome:
    """Step 7 once the card's row is found: blocked, capped, connect fee."""
    assert match is not None
    p = card.precision
    fields = dict(prefix=match.prefix, destination=match.destination, rate=match.rate,
                  connect_fee=match.connect_fee, mcd=match.mcd, pulse=match.pulse)
    text = (f"card {card.name} prefix {match.prefix} {match.destination}: "
            f"{exact(match.rate, p)}/min, connect {exact(match.connect_fee, p)}, "
            f"{match.mcd}/{match.pulse}")
    found = match, fields
    if match.blocked:
        return _outcome(7, "Rate", text + ", blocked", (503, "Destination Blocked"), found)
    if route.capped_rate is not None and match.rate > route.capped_rate:
        return _outcome(7, "Rate", f"{text}; above the route's cap "
                        f"{exact(route.capped_rate, p)}", (503, "Capped Rate"), found)
    if route.block_connect_cost and match.connect_fee > 0:
        return _outcome(7, "Rate", f"{text}; the route blocks connection fees",
                        (503, "Connect Cost Blocked"), found)
    return _outcome(7, "Rate", text, payload=found)


def _choose_providers(route: RouteS, card: CardS, rate: RateMatch,
                      parents: list[tuple[CardS, ProviderS | None]],
                      strategy: StrategyS | None, number: str,
                      at: int | None) -> _Outcome:
    """Step 8: the parent cards the route allows, their providers' rows, the strategy."""
    p = card.precision
    title = "Providers"
    lock, exclude = route.lock_cards, route.exclude_cards
    notes = [f"{len(parents)} parent card(s)"]
    if lock:
        parents = [(c, pr) for c, pr in parents if c.id in lock]
        notes.append(f"lock keeps {len(parents)}")
    if exclude:
        parents = [(c, pr) for c, pr in parents if c.id not in exclude]
        notes.append(f"exclude keeps {len(parents)}")
    if not parents:  # "(Lock)" only when lock/exclude took the last ones away
        reason = "No Routes Available (Lock)" if card.parents else "No Routes Available"
        return _outcome(8, title, "; ".join(notes), (503, reason))

    sell = rate.rate
    cap = route.provider_capped_rate
    assurance = route.profit_assurance
    kept: list[ProviderChoice] = []
    skipped, over, losing = [], [], []
    for pc, provider in parents:
        if provider is None or provider.status != "active":
            skipped.append(f"{pc.name} inactive")
            continue
        m = pc.index.lookup(number, at)
        if m is None or m.blocked:
            skipped.append(f"{pc.name} {'blocked' if m else 'no prefix'}")
            continue
        buy = m.rate
        if cap is not None and buy > cap:
            over.append(provider.name)
        elif assurance and buy > sell:
            losing.append(provider.name)
        else:
            kept.append(ProviderChoice(provider.id, provider.name, pc.id, pc.name,
                                       m.prefix, buy, m.connect_fee, sell - buy))
    if skipped:
        notes.append("skipped " + ", ".join(skipped))
    if over:
        notes.append(f"provider cap {exact(cap, p)} drops " + ", ".join(over))
    if losing:
        notes.append("profit assurance drops " + ", ".join(losing))
    if not kept and (over or losing):
        return _outcome(8, title, "; ".join(notes),
                        (503, "No Routes Available (Profit Assurance)"))

    mode = strategy.mode if strategy else "lcr"
    row = f"row {strategy.prefix or '*'!r}" if strategy else "default"
    if mode == "drop":
        return _outcome(8, title, "; ".join(notes) + f"; strategy drop ({row})",
                        (503, "Dropping Call (Strategy)"))
    if not kept:
        return _outcome(8, title, "; ".join(notes), (503, "No Routes Available"))
    ordered, how = _order(mode, kept, strategy)
    order = ", ".join([f"{c.name} {exact(c.rate, p)}" for c in ordered])
    notes.append(f"strategy {mode} ({row}{how}): {order}")
    return _outcome(8, title, "; ".join(notes), payload=tuple(ordered))


def _duration(parts: list[str], route: RouteS, card: CardS, rate: RateMatch,
              c: CustomerS) -> _Outcome:
    """Step 9 after the script: the longest call the route allows and the credit pays."""
    # Most calls can afford the route's whole limit: one charge settles that; only
    # otherwise search the longest duration the credit pays for.
    available, route_max, p = c.available, route.max_duration, card.precision
    whole = _whole_charge(route_max, rate.mcd, rate.pulse, rate.rate, rate.connect_fee,
                          card.precision, card.rounding)
    if whole <= available:
        limit = route_max
        parts.append(f"route max {route_max} s costs {exact(whole, p)}, "
                     f"credit {exact(available, 2)} covers it")
    else:
        credit = _affordable(available, rate.rate, rate.connect_fee, rate.mcd, rate.pulse,
                             card.precision, card.rounding)
        parts.append(f"route max {route_max} s costs {exact(whole, p)}, "
                     f"credit {exact(available, 2)} pays for {credit} s")
        if not credit:
            return _outcome(9, _FINISH, "; ".join(parts), (402, "Payment Required"))
        limit = min(route_max, credit)
    return _outcome(9, _FINISH, "; ".join(parts) + f" -> max duration {limit} s",
                    payload=limit)


@lru_cache(maxsize=4096)
def _address(text: str) -> IPv4Address | IPv6Address | None:
    """The source address; an IPv4-mapped IPv6 one (::ffff:a.b.c.d) as the IPv4 it is."""
    try:
        addr = ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(addr, IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _strategy(rows: Sequence[StrategyS], number: str) -> StrategyS | None:
    """The row with the longest prefix starting the number ("" and "*" match all)."""
    best: StrategyS | None = None
    best_len = -1
    for row in rows:
        prefix = "" if row.prefix == "*" else row.prefix
        if len(prefix) > best_len and number.startswith(prefix):
            best, best_len = row, len(prefix)
    return best


def _order(mode: str, choices: list[ProviderChoice],
           strategy: StrategyS | None) -> tuple[list[ProviderChoice], str]:
    """Providers in the order the switch tries them, and a note on how for the trace.

    Simulation is deterministic: weighted shows the heaviest first (live traffic shares calls
    by weight); round_robin shows the rotation from the cheapest (live calls move one on)."""

    def cost(c: ProviderChoice) -> tuple[Decimal, str, str]:
        return (c.rate, c.name, c.card)

    listed = {sc.card_id: sc for sc in strategy.cards} if strategy else {}
    if mode == "reverse_lcr":
        return sorted(choices, key=lambda c: (-c.rate, c.name, c.card)), ""
    if mode == "priority":
        big = 1 << 30  # cards the row does not list go after the listed ones
        return sorted(choices, key=lambda c: (
            listed[c.card_id].priority if c.card_id in listed else big, *cost(c))), ""
    if mode == "weighted":
        return sorted(choices, key=lambda c: (
            -(listed[c.card_id].weight if c.card_id in listed else 0), *cost(c))), \
            "; heaviest first, live calls are shared by weight"
    if mode == "round_robin":
        return sorted(choices, key=cost), "; rotation from the cheapest, live calls move on"
    return sorted(choices, key=cost), ""

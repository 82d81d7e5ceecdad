"""A pipeline Result as people and programs read it: headline, text block, stable JSON.

The JSON keys are a contract (`connex-tui simulate --json`, stored simulations): add keys,
never rename them. Money is written as strings with the customer card's decimals (more
when a value has more, so nothing is ever rounded away).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from connex_tui.engine import present
from connex_tui.engine.present import exact
from connex_tui.engine.snapshot import ProviderChoice, Result


class ViewRow(NamedTuple):
    """One line of the result: its section ("" = the summary), a label and the value
    (escaped, ready to print); `alert` marks a value to show in red (a negative margin)."""

    section: str
    label: str
    value: str
    alert: bool = False


PROVIDERS, TRACE = "Providers", "Trace"
# Provider columns: label and width; the money columns line up on the right.
PROVIDER_COLUMNS = (("Provider", 18), ("Card", 18), ("Cost/min", 10), ("Connect", 8),
                    ("Margin/min", 10))


def verdict(result: Result) -> str:
    return "ALLOW" if result.allowed else "REJECT"


def headline(result: Result) -> str:
    if not result.allowed:
        return f"rejected: {result.sip_code} {present.text(result.reason)}"
    n = len(result.providers)
    via = f"{n} provider{'' if n == 1 else 's'}"
    return (f"would connect via {via} at "
            f"{present.rate(result.rate, result.currency, result.precision)}")


def result_view(r: Result) -> list[ViewRow]:
    """The result as rows, in the order both the CLI and the Simulate dialog show them:
    the summary, the providers in the order they are tried, the trace."""
    p, cur = r.precision, r.currency
    route = present.text(r.route) or "-"
    if r.card:
        route += f" · card {present.text(r.card)}"
    rate = "-"
    if r.prefix:
        rate = (f"{present.text(r.prefix)} {present.text(r.destination)} · "
                f"{present.rate(r.rate, cur, p)} · connect fee "
                f"{present.money(r.connect_fee, cur, p)} · {r.increment or '-'}")
    summary = [("Customer", present.text(r.customer)), ("Auth", present.text(r.auth)),
               ("Route", route), ("Number", present.arrow(r.number_in, r.number_out)),
               ("CLI", present.arrow(r.cli_in, r.cli_out)),
               ("P-Asserted-ID", present.text(r.pai)), ("Rate", rate),
               ("Max duration", "" if r.max_duration is None
                else present.duration(r.max_duration))]
    rows = [ViewRow("", label, value or "-") for label, value in summary]
    if r.providers:
        head = [label.rjust(w) if i >= 2 else label.ljust(w)
                for i, (label, w) in enumerate(PROVIDER_COLUMNS)]
        rows.append(ViewRow(PROVIDERS, "", f"in the order they are tried, money in "
                                           f"{present.text(cur) or 'the card currency'}"))
        rows.append(ViewRow(PROVIDERS, "#", " ".join(head)))
        widths = [w for _, w in PROVIDER_COLUMNS]
        for n, c in enumerate(r.providers, 1):
            cells = [present.clip(c.name, widths[0], pad=True),
                     present.clip(c.card, widths[1], pad=True),
                     exact(c.rate, p).rjust(widths[2]), exact(c.connect_fee, p).rjust(widths[3]),
                     exact(c.margin, p).rjust(widths[4])]
            rows.append(ViewRow(PROVIDERS, f"{n}.", " ".join(cells), alert=c.margin < 0))
    else:
        rows.append(ViewRow(PROVIDERS, "", "none"))
    for line in r.trace:  # the pipeline writes "4. Route: ..."
        step, dot, rest = line.partition(". ")
        if dot and step.isdigit():
            rows.append(ViewRow(TRACE, f"{step}.", present.text(rest)))
        else:
            rows.append(ViewRow(TRACE, "", present.text(line)))
    return rows


def result_lines(result: Result) -> list[str]:
    """The block the CLI prints: the headline, then the view's rows under their sections."""
    lines = [f"{verdict(result)}  {headline(result)}", ""]
    section = ""
    for row in result_view(result):
        if row.section != section:
            section = row.section
            lines.append(section)
        if section:
            lines.append(f"  {row.label:<3} {row.value}".rstrip())
        else:
            lines.append(f"{row.label:<14}{row.value}")
    return lines


# Rates and margins repeat across calls (a card has a few thousand): memoised, the JSON of
# a batch line costs a third less. Equal Decimals format alike, so the cache is exact.
_exact = lru_cache(maxsize=8192)(exact)


_STR, _INT = present.json_string, int.__repr__
# The object's keys in their order, then how each value is read from a Result (money as
# exact text with the card's decimals, None when there is none): result_to_json (the dict)
# and result_json (its text, _scalar_text) are both made in this order.
_SCALAR_KEYS = (
    "decision", "sip_code", "reason", "customer", "customer_id", "auth", "auth_id",
    "sip_user_id", "route", "route_id", "number_in", "cli_in", "number_out", "cli_out", "pai",
    "card", "card_id", "currency", "precision", "prefix", "destination", "rate",
    "connect_fee", "increment", "max_duration")


def _scalars(r: Result) -> tuple[Any, ...]:
    p = r.precision
    return (r.decision, r.sip_code, r.reason, r.customer, r.customer_id, r.auth, r.auth_id,
            r.sip_user_id, r.route, r.route_id, r.number_in, r.cli_in, r.number_out,
            r.cli_out, r.pai, r.card, r.card_id, r.currency, p, r.prefix, r.destination,
            _exact(r.rate, p) or None, _exact(r.connect_fee, p) or None, r.increment,
            r.max_duration)


def _provider(c: ProviderChoice, p: int) -> dict[str, Any]:
    return {"name": c.name, "card": c.card, "rate": _exact(c.rate, p),
            "margin": _exact(c.margin, p), "connect_fee": _exact(c.connect_fee, p),
            "prefix": c.prefix, "provider_id": c.provider_id, "card_id": c.card_id}


def result_to_json(result: Result) -> dict[str, Any]:
    obj = dict(zip(_SCALAR_KEYS, _scalars(result), strict=True))
    obj["providers"] = [_provider(c, result.precision) for c in result.providers]
    obj["trace"] = list(result.trace)
    return obj


# The providers' text per providers tuple: decide() hands out the same tuple for the same
# choice (see pipeline's memos), so a batch encodes each choice once. The entry holds the
# tuple, so its id stays its own while the entry lives.
_PROVIDERS_TEXT: dict[tuple[int, int], tuple[str, tuple[ProviderChoice, ...]]] = {}


def _providers_text(providers: tuple[ProviderChoice, ...], p: int) -> str:
    if not providers:
        return "[]"
    hit = _PROVIDERS_TEXT.get((id(providers), p))
    if hit is None:
        if len(_PROVIDERS_TEXT) >= 16_384:
            _PROVIDERS_TEXT.clear()
        text = present.json_line([_provider(c, p) for c in providers])  # made safe once
        hit = _PROVIDERS_TEXT[id(providers), p] = (text, providers)
    return hit[0]


# JSON text (json_safe'd) of the strings a batch writes again and again: names, reasons,
# trace lines the pipeline memoises, rates. The pieces of a line are each made safe, which is
# the same as making the line safe (the escaping is one character at a time), and a known
# string costs one dict lookup instead of an encoding and a scan.
class _SafeText(dict):
    """str -> its JSON text, made safe; a miss (only) runs Python."""

    def __missing__(self, value: str) -> str:
        text = present.json_safe(_STR(value))  # TypeError for a value that is no str
        if len(self) >= 65_536:  # the per-call strings pass through: start afresh
            self.clear()
        self[value] = text
        return text


_SAFE_TEXT = _SafeText()
_text = _SAFE_TEXT.__getitem__  # a hit is one C call, no Python frame


def _once(value: str) -> str:
    """A string of this call only (a number, a CLI): not worth remembering."""
    return present.json_safe(_STR(value))


def _scalar_text(r: Result) -> str:
    """The scalars of result_to_json as JSON object members, written key by key (TypeError
    for a value of another type, as the encoder-free writers give)."""
    p, t, i = r.precision, _text, _INT
    cid, aid, sid, rid, kid, md = (r.customer_id, r.auth_id, r.sip_user_id, r.route_id,
                                   r.card_id, r.max_duration)
    rate, fee = _exact(r.rate, p) or None, _exact(r.connect_fee, p) or None
    return (f'"decision": {t(r.decision)}, "sip_code": {i(r.sip_code)}, '
            f'"reason": {t(r.reason)}, "customer": {t(r.customer)}, '
            f'"customer_id": {"null" if cid is None else i(cid)}, "auth": {t(r.auth)}, '
            f'"auth_id": {"null" if aid is None else i(aid)}, '
            f'"sip_user_id": {"null" if sid is None else i(sid)}, "route": {t(r.route)}, '
            f'"route_id": {"null" if rid is None else i(rid)}, '
            f'"number_in": {_once(r.number_in)}, "cli_in": {_once(r.cli_in)}, '
            f'"number_out": {_once(r.number_out)}, "cli_out": {_once(r.cli_out)}, '
            f'"pai": {t(r.pai)}, "card": {t(r.card)}, '
            f'"card_id": {"null" if kid is None else i(kid)}, "currency": {t(r.currency)}, '
            f'"precision": {i(p)}, "prefix": {t(r.prefix)}, '
            f'"destination": {t(r.destination)}, "rate": {"null" if rate is None else t(rate)}, '
            f'"connect_fee": {"null" if fee is None else t(fee)}, '
            f'"increment": {t(r.increment)}, '
            f'"max_duration": {"null" if md is None else i(md)}')


def result_json(result: Result, call_id: str | None, line: int | None = None) -> str:
    """present.json_line({"line": line, **result_to_json(result), "call_id": call_id})
    (no "line" when None), byte for byte, at a third of its cost: a batch writes one a
    line."""
    try:  # every value written by its own kind, key by key
        body = _scalar_text(result)
    except TypeError:  # a value of another type (a hand-made Result): the general way
        body = present.json_line(
            dict(zip(_SCALAR_KEYS, _scalars(result), strict=True)))[1:-1]
    head = "{" if line is None else f'{{"line": {line!r}, '
    return (f'{head}{body}, "providers": '
            f"{_providers_text(result.providers, result.precision)}, "
            f'"trace": [{", ".join(map(_text, result.trace))}], "call_id": '
            f'{"null" if call_id is None else _once(call_id)}}}')


def _dec(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def result_from_json(d: dict[str, Any]) -> Result:
    """Inverse of result_to_json (ids and extras optional, for older stored objects)."""
    mcd = pulse = None
    if d.get("increment"):
        mcd_s, _, pulse_s = str(d["increment"]).partition("/")
        mcd, pulse = int(mcd_s), int(pulse_s)
    providers = tuple(
        ProviderChoice(
            provider_id=int(c.get("provider_id") or 0), name=c["name"],
            card_id=int(c.get("card_id") or 0), card=c.get("card", ""),
            prefix=c.get("prefix", ""), rate=Decimal(c["rate"]),
            connect_fee=_dec(c.get("connect_fee")) or Decimal(0),
            margin=_dec(c.get("margin")) or Decimal(0))
        for c in d.get("providers", ()))
    return Result(
        decision=d["decision"], sip_code=int(d["sip_code"]), reason=d["reason"],
        number_in=d.get("number_in", ""), cli_in=d.get("cli_in", ""),
        number_out=d.get("number_out", ""), cli_out=d.get("cli_out", ""),
        pai=d.get("pai", ""), customer_id=d.get("customer_id"), customer=d.get("customer", ""),
        auth_id=d.get("auth_id"), sip_user_id=d.get("sip_user_id"), auth=d.get("auth", ""),
        route_id=d.get("route_id"), route=d.get("route", ""), card_id=d.get("card_id"),
        card=d.get("card", ""), currency=d.get("currency", ""), prefix=d.get("prefix", ""),
        destination=d.get("destination", ""), rate=_dec(d.get("rate")),
        connect_fee=_dec(d.get("connect_fee")), mcd=mcd, pulse=pulse, providers=providers,
        max_duration=d.get("max_duration"), trace=tuple(d.get("trace", ())),
        precision=int(d.get("precision", 4)),
    )

"""A pipeline Result as people and programs read it: headline, text block, stable JSON.

The JSON keys are a contract (`connex-tui simulate --json`, stored simulations): add keys,
never rename them. Money is written as strings with the customer card's decimals (more
when a value has more, so nothing is ever rounded away).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from operator import add, call
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


def _or_null(encode):
    return lambda v: "null" if v is None else encode(v)


_STR, _INT = present.json_string, int.__repr__
_STR_OR_NULL, _INT_OR_NULL = _or_null(_STR), _or_null(_INT)
# The object's keys in their order with how each value is written, then how each value is
# read from a Result (money as exact text with the card's decimals, None when there is
# none): result_to_json (the dict) and result_json (its text) are both made from these.
_SCALARS = (
    ("decision", _STR), ("sip_code", _INT), ("reason", _STR), ("customer", _STR),
    ("customer_id", _INT_OR_NULL), ("auth", _STR), ("auth_id", _INT_OR_NULL),
    ("sip_user_id", _INT_OR_NULL), ("route", _STR), ("route_id", _INT_OR_NULL),
    ("number_in", _STR), ("cli_in", _STR), ("number_out", _STR), ("cli_out", _STR),
    ("pai", _STR), ("card", _STR), ("card_id", _INT_OR_NULL), ("currency", _STR),
    ("precision", _INT), ("prefix", _STR), ("destination", _STR), ("rate", _STR_OR_NULL),
    ("connect_fee", _STR_OR_NULL), ("increment", _STR), ("max_duration", _INT_OR_NULL))
_SCALAR_KEYS = tuple(key for key, _ in _SCALARS)


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


_KEY_TEXT = tuple(f'{", " if n else ""}"{key}": ' for n, (key, _) in enumerate(_SCALARS))
_WRITE = tuple(write for _, write in _SCALARS)
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
        text = present.json_text([_provider(c, p) for c in providers])
        hit = _PROVIDERS_TEXT[id(providers), p] = (text, providers)
    return hit[0]


def result_json(result: Result, call_id: str | None, line: int | None = None) -> str:
    """present.json_line({"line": line, **result_to_json(result), "call_id": call_id})
    (no "line" when None), byte for byte, at a third of its cost: a batch writes one a
    line."""
    try:  # every value written by its own kind, key by key, in C loops
        body = "".join(map(add, _KEY_TEXT, map(call, _WRITE, _scalars(result))))
    except TypeError:  # a value of another type (a hand-made Result): the general way
        body = present.json_text(dict(zip(_SCALAR_KEYS, _scalars(result), strict=True)))[1:-1]
    head = "{" if line is None else f'{{"line": {line!r}, '
    raw = (f'{head}{body}, "providers": '
           f'{_providers_text(result.providers, result.precision)}, "trace": '
           f'[{", ".join(map(present.json_string, result.trace))}], "call_id": '
           f'{"null" if call_id is None else present.json_string(call_id)}}}')
    return present.json_safe(raw)


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

"""A pipeline Result as people and programs read it: headline, text block, stable JSON.

The JSON keys are a contract (`connex-tui simulate --json`, stored simulations): add keys,
never rename them. Money is written as strings with the customer card's decimals (more
when a value has more, so nothing is ever rounded away).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from connex_tui.engine.money import format_exact
from connex_tui.engine.snapshot import ProviderChoice, Result


def headline(result: Result) -> str:
    if not result.allowed:
        return f"rejected: {result.sip_code} {result.reason}"
    n = len(result.providers)
    via = f"{n} provider{'' if n == 1 else 's'}"
    return f"would connect via {via} at {format_exact(result.rate, result.precision)}/min"


def result_lines(result: Result) -> list[str]:
    """The block the CLI prints and the Simulate dialog shows."""
    p = result.precision
    lines = [headline(result), ""]

    def add(label: str, value: object) -> None:
        if value not in ("", None):
            lines.append(f"{label:<14}{value}")

    add("Customer", result.customer)
    add("Auth", result.auth)
    add("Route", result.route)
    add("Number", _arrow(result.number_in, result.number_out))
    add("CLI", _arrow(result.cli_in, result.cli_out))
    add("P-Asserted-ID", result.pai)
    if result.prefix:
        add("Rate", f"{result.prefix} {result.destination}: {format_exact(result.rate, p)}/min"
                    f" {result.currency}, connect {format_exact(result.connect_fee, p)}, "
                    f"{result.increment} (card {result.card})")
    if result.max_duration is not None:
        add("Max duration", duration_text(result.max_duration))
    if result.providers:
        lines.append("Providers")
        for i, choice in enumerate(result.providers, 1):
            lines.append(f"  {i}. {choice.name:<16} {choice.card:<16} "
                         f"{format_exact(choice.rate, p):>10}/min  margin "
                         f"{format_exact(choice.margin, p)}")
    lines.append("Trace")
    lines.extend(f"  {line}" for line in result.trace)
    return lines


def _arrow(before: str, after: str) -> str:
    if not after or after == before:
        return before
    return f"{before} -> {after}"


def duration_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    text = f"{h} h {m:02d} min" if h else f"{m} min"
    return f"{seconds} s ({text}{f' {s:02d} s' if s else ''})"


# Rates and margins repeat across calls (a card has a few thousand): memoised, the JSON of
# a batch line costs a third less. Equal Decimals format alike, so the cache is exact.
_exact = lru_cache(maxsize=8192)(format_exact)


def result_to_json(result: Result) -> dict[str, Any]:
    p = result.precision
    money = _exact
    return {
        "decision": result.decision,
        "sip_code": result.sip_code,
        "reason": result.reason,
        "customer": result.customer,
        "customer_id": result.customer_id,
        "auth": result.auth,
        "auth_id": result.auth_id,
        "sip_user_id": result.sip_user_id,
        "route": result.route,
        "route_id": result.route_id,
        "number_in": result.number_in,
        "cli_in": result.cli_in,
        "number_out": result.number_out,
        "cli_out": result.cli_out,
        "pai": result.pai,
        "card": result.card,
        "card_id": result.card_id,
        "currency": result.currency,
        "precision": p,
        "prefix": result.prefix,
        "destination": result.destination,
        "rate": money(result.rate, p) or None,
        "connect_fee": money(result.connect_fee, p) or None,
        "increment": result.increment,
        "max_duration": result.max_duration,
        "providers": [
            {"name": c.name, "card": c.card, "rate": money(c.rate, p),
             "margin": money(c.margin, p), "connect_fee": money(c.connect_fee, p),
             "prefix": c.prefix, "provider_id": c.provider_id, "card_id": c.card_id}
            for c in result.providers
        ],
        "trace": list(result.trace),
    }


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

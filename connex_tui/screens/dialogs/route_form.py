"""The ingress route add/edit form: every field of docs/domain.md §4, in five sections."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from textual.app import App
from textual.content import Content
from textual.markup import escape

from connex_tui.engine.regex_guard import needs_slow_engine
from connex_tui.screens.dialogs.cli_rule_form import slow_regex
from connex_tui.widgets.form import FieldSpec, FormScreen, reusable

STRATEGY_HELP = ("a line: <prefix|*> <mode> [card[:priority[:weight]]…]\n"
                 "e.g. 44 priority UK-A:1 UK-B:2    * lcr\n"
                 "modes: lcr reverse_lcr priority weighted\n"
                 "round_robin drop; none = lcr")
MEDIA_MODES = (("relaxed", "relaxed"), ("strict", "strict"))


def options(names: Sequence[str], current: str = "", *, none: str | None = None
            ) -> tuple[tuple[Content, str], ...]:
    """Select options of some names; the current value stays choosable even when it is
    no longer listed, and `none` (if given) is the label of the empty choice."""
    out = [(none, "")] if none is not None else []
    out += [(n, n) for n in names]
    if current and current not in names:
        out.append((current, current))
    return tuple((Content(label), value) for label, value in out)  # names are not markup


def _known(names: Sequence[str]) -> str:
    shown = ", ".join(names[:6]) + (f" (+{len(names) - 6} more)" if len(names) > 6 else "")
    return escape(f"provider cards, one a line; known: {shown or 'none yet'}")


def route_fields(values: dict[str, Any], cards: Sequence[str], provider_cards: Sequence[str],
                 scripts: Sequence[str], currency: str = "") -> list[FieldSpec]:
    return [
        FieldSpec("rate_card", "Rate card", kind="select", section="Basic",
                  options=options(cards, values.get("rate_card", "")),
                  help=f"customer cards in {currency}, the customer's currency"
                  if currency else ""),
        FieldSpec("tech_prefix", "Tech prefix", section="Basic",
                  help="digits * #; stripped; empty = matches every call"),
        FieldSpec("dial_string", "Dial string", kind="textarea", section="Basic",
                  help="a line each: digit prefix or regex; empty = all"),
        FieldSpec("enabled", "Enabled", kind="switch", section="Basic"),
        FieldSpec("channels", "Channels", section="Capacity",
                  help="concurrent calls; 0 = unlimited"),
        FieldSpec("flow_speed", "Flow speed (CPS)", section="Capacity",
                  help="new calls per second; 0 = unlimited"),
        FieldSpec("max_duration", "Max duration (s)", section="Capacity",
                  help="longest call; empty = 7200"),
        FieldSpec("capped_rate", "Capped rate", section="Price",
                  help="block calls rated above it (per min); empty = none"),
        FieldSpec("provider_capped_rate", "Provider capped rate", section="Price",
                  help="skip providers costing more; empty = no cap"),
        FieldSpec("profit_assurance", "Profit assurance", kind="switch", section="Price",
                  help="skip providers costing more than the rate"),
        FieldSpec("block_connect_cost", "Block connect cost", kind="switch", section="Price",
                  help="block calls whose rate has a connect fee"),
        FieldSpec("strategy", "Strategy", kind="textarea", section="Strategy",
                  help=STRATEGY_HELP),
        FieldSpec("lock_cards", "Lock cards", kind="textarea", section="Strategy",
                  help="only these " + _known(provider_cards)),
        FieldSpec("exclude_cards", "Exclude cards", kind="textarea", section="Strategy",
                  help="never these " + _known(provider_cards)),
        FieldSpec("script", "Script", kind="select", section="Strategy",
                  options=options(scripts, values.get("script", ""), none="none")),
        FieldSpec("rtp_media_proxy", "RTP media proxy", section="Media",
                  help="auto, direct or a zone name"),
        FieldSpec("rtp_proxy_mode", "RTP proxy mode", kind="select", section="Media",
                  options=MEDIA_MODES),
    ]


def new_route(cards: Sequence[str]) -> dict[str, Any]:
    return {"rate_card": cards[0] if cards else "", "tech_prefix": "", "dial_string": "",
            "enabled": True, "channels": "0", "flow_speed": "0", "max_duration": "7200",
            "capped_rate": "", "provider_capped_rate": "", "profit_assurance": False,
            "block_connect_cost": False, "strategy": "", "lock_cards": "",
            "exclude_cards": "", "script": "", "rtp_media_proxy": "auto",
            "rtp_proxy_mode": "relaxed"}


def route_warnings(raw: dict[str, Any]) -> dict[str, str]:
    """Dial-string lines that need the slow regex engine (saved once confirmed)."""
    lines = [line.strip() for line in str(raw.get("dial_string") or "").splitlines()]
    slow = [line for line in lines if needs_slow_engine(line)]
    if not slow:
        return {}
    more = f" (and {len(slow) - 1} more line{'s' if len(slow) > 2 else ''})" if len(slow) > 1 else ""
    return {"dial_string": slow_regex(slow[0]) + more}


def route_label(tech_prefix: str) -> str:
    return f"Route {tech_prefix}" if tech_prefix else "Route without tech prefix"


def route_form(app: App, values: dict[str, Any] | None, save: Callable[[dict[str, Any]], Awaitable[Any]],
               *, cards: Sequence[str], currency: str = "", provider_cards: Sequence[str] = (),
               scripts: Sequence[str] = ()) -> FormScreen:
    """Add (values None) or edit form; `cards` are the names of the customer rate cards
    in the customer's `currency` (a new route starts with the first)."""
    title = ("Add ingress route" if values is None
             else f"Edit {route_label(values.get('tech_prefix', '')).lower()}")
    values = dict(values) if values is not None else new_route(cards)
    return reusable(app, "route", title,
                    route_fields(values, cards, provider_cards, scripts, currency), values, save,
                    route_warnings)

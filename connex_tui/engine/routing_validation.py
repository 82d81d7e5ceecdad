"""The one validator per routing entity (docs/domain.md §3-§6): rate cards, rate rows,
providers, ingress routes, CLI rules, IP-auth entries, SIP users and routing scripts.

Like validate_customer, each takes raw values (form text, or what a CSV/YAML file holds) and
returns a frozen input object with plain resolved values, or raises ValidationError mapping
field -> message. Names of other entities (cards, providers, scripts) are kept as names:
the data services resolve them and report unknown names on the same fields. The IP-auth
and SIP-user validators live in auth_validation and are re-exported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from connex_tui.engine import route_fields as f
from connex_tui.engine.auth_validation import (  # one import place for every validator
    AUTH_DIRECTIONS,
    CODECS,
    DEFAULT_CODECS,
    DIAL_PATTERNS,
    PROTOCOLS,
    SIP_PASSWORD_MIN,
    IpAuthInput,
    SipUserInput,
    validate_ip_auth,
    validate_sip_user,
)
from connex_tui.engine.route_fields import StrategyCardInput, StrategyInput
from connex_tui.engine.scripts import MAX_BODY, parse_script
from connex_tui.engine.textsafe import refuse_controls
from connex_tui.engine.validation import (
    ValidationError,
    _Collector,
    boolean,
    choice,
    currency,
    integer,
    money,
    name_text,
    text,
)

DIRECTIONS = ("customer", "provider")
ROUNDINGS = ("up", "down", "half_up", "half_down")
PROVIDER_STATUSES = ("active", "inactive")
RTP_PROXY_MODES = ("strict", "relaxed")
_ZONE_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_GROUP_REF_RE = re.compile(r"\\([0-9]+)|\$([0-9]+)|\$\{([0-9]+)\}")


# -- §3 rate cards, rate rows, providers ------------------------------------------------
@dataclass(frozen=True, slots=True)
class RateCardInput:
    name: str
    currency: str
    direction: str
    precision: int = 4
    rounding: str = "up"
    provider: str = ""  # provider name: provider cards only
    parents: tuple[str, ...] = ()  # provider-card names: customer cards only


def validate_rate_card(raw: dict) -> RateCardInput:
    c = _Collector()
    direction = c.check("direction", choice, f.plain(raw.get("direction", "")).strip().lower(),
                        DIRECTIONS)
    precision = f.plain(raw.get("precision", "")).strip() or "4"
    out = RateCardInput(
        name=c.check("name", name_text, f.plain(raw.get("name", ""))),
        currency=c.check("currency", currency, f.plain(raw.get("currency", ""))),
        direction=direction,
        precision=c.check("precision", integer, precision, minimum=0, maximum=6),
        rounding=c.check("rounding", choice,
                         f.plain(raw.get("rounding", "")).strip().lower() or "up", ROUNDINGS),
        provider=c.check("provider", text, f.plain(raw.get("provider", "")), max_len=100,
                         single_line=True),
        parents=c.check("parents", f.names, raw.get("parents", "")),
    )
    if direction == "provider":
        if out.provider == "":
            c.errors.setdefault("provider", "required for a provider card")
        if out.parents:
            c.errors.setdefault("parents", "only customer cards have parent cards")
    elif direction == "customer" and out.provider:
        c.errors.setdefault("provider", "leave empty: a customer card belongs to no provider")
    c.raise_if_any()
    return out


@dataclass(frozen=True, slots=True)
class RateRowInput:
    prefix: str
    destination: str = ""
    rate: Decimal = Decimal(0)
    connect_fee: Decimal = Decimal(0)
    mcd: int = 60
    pulse: int = 60
    blocked: bool = False
    effective_from: datetime | None = None  # UTC; None = always

    @property
    def increment(self) -> str:
        return f"{self.mcd}/{self.pulse}"


def _required_money(value) -> Decimal:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("required")
    return money(value, minimum=Decimal(0))


def validate_rate_row(raw: dict) -> RateRowInput:
    c = _Collector()
    if "increment" not in raw and ("mcd" in raw or "pulse" in raw):
        step = f"{f.plain(raw.get('mcd', '60')).strip()}/{f.plain(raw.get('pulse', '60')).strip()}"
    else:
        step = raw.get("increment", "")
    mcd_pulse = c.check("increment", f.increment, step) or (60, 60)
    out = RateRowInput(
        prefix=c.check("prefix", f.digits, raw.get("prefix", ""), required=True),
        destination=c.check("destination", text, f.plain(raw.get("destination", "")),
                            max_len=100, single_line=True),
        rate=c.check("rate", _required_money, raw.get("rate")),
        connect_fee=c.check("connect_fee", money, raw.get("connect_fee", "0"),
                            minimum=Decimal(0)),
        mcd=mcd_pulse[0],
        pulse=mcd_pulse[1],
        blocked=c.check("blocked", boolean, raw.get("blocked", False)),
        effective_from=c.check("effective_from", f.moment, raw.get("effective_from")),
    )
    c.raise_if_any()
    return out


@dataclass(frozen=True, slots=True)
class ProviderInput:
    name: str
    status: str = "active"
    host: str = ""
    channels: int = 0
    flow_speed: int = 0


def validate_provider(raw: dict) -> ProviderInput:
    c = _Collector()
    out = ProviderInput(
        name=c.check("name", name_text, f.plain(raw.get("name", ""))),
        status=c.check("status", choice,
                       f.plain(raw.get("status", "")).strip().lower() or "active",
                       PROVIDER_STATUSES),
        host=c.check("host", f.host_port, raw.get("host", "")),
        channels=c.check("channels", integer, raw.get("channels", "0")),
        flow_speed=c.check("flow_speed", integer, raw.get("flow_speed", "0")),
    )
    c.raise_if_any()
    return out


# -- §4 ingress routes, scripts ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RouteInput:
    rate_card: str  # customer-card name
    tech_prefix: str = ""
    dial_string: str = ""  # normalised lines joined by \n; empty = every number
    capped_rate: Decimal | None = None
    provider_capped_rate: Decimal | None = None
    profit_assurance: bool = False
    block_connect_cost: bool = False
    channels: int = 0
    flow_speed: int = 0
    max_duration: int = 7200
    lock_cards: tuple[str, ...] = ()  # provider-card names
    exclude_cards: tuple[str, ...] = ()
    strategy: tuple[StrategyInput, ...] = ()
    script: str = ""  # script name, empty = none
    rtp_media_proxy: str = "auto"
    rtp_proxy_mode: str = "relaxed"
    enabled: bool = True


def dial_string(value) -> str:
    """Lines: plain digits are a prefix, anything else a regex that must compile."""
    out = f.lines(value)
    for n, line in enumerate(out, 1):
        if len(line) > 200:
            raise ValueError(f"line {n}: at most 200 characters")
        try:
            refuse_controls(line)
        except ValueError as exc:
            raise ValueError(f"line {n}: {exc}") from None
        if line.isdigit() and not line.isascii():  # would never match a dialled number
            raise ValueError(f"line {n}: digits must be 0-9")
        if not line.isdigit():
            try:
                f.compile_regex(line)
            except ValueError as exc:
                raise ValueError(f"line {n}: {exc}") from None
    return "\n".join(out)


def _optional_money(value) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return money(value, minimum=Decimal(0))


def _media_proxy(value) -> str:
    raw = f.plain(value).strip() or "auto"
    if raw.lower() in ("auto", "direct"):
        return raw.lower()
    if not _ZONE_RE.fullmatch(raw):
        raise ValueError("auto, direct or a zone name (letters, digits, . _ -)")
    return raw


def validate_route(raw: dict) -> RouteInput:
    c = _Collector()
    max_duration = f.plain(raw.get("max_duration", "")).strip() or "7200"
    enabled = raw.get("enabled", True)
    out = RouteInput(
        rate_card=c.check("rate_card", name_text, f.plain(raw.get("rate_card", ""))),
        tech_prefix=c.check("tech_prefix", f.digits, raw.get("tech_prefix", ""), extra="*#",
                            what="digits, * and #"),
        dial_string=c.check("dial_string", dial_string, raw.get("dial_string", "")),
        capped_rate=c.check("capped_rate", _optional_money, raw.get("capped_rate")),
        provider_capped_rate=c.check("provider_capped_rate", _optional_money,
                                     raw.get("provider_capped_rate")),
        profit_assurance=c.check("profit_assurance", boolean,
                                 raw.get("profit_assurance", False)),
        block_connect_cost=c.check("block_connect_cost", boolean,
                                   raw.get("block_connect_cost", False)),
        channels=c.check("channels", integer, raw.get("channels", "0")),
        flow_speed=c.check("flow_speed", integer, raw.get("flow_speed", "0")),
        max_duration=c.check("max_duration", integer, max_duration, minimum=1),
        lock_cards=c.check("lock_cards", f.names, raw.get("lock_cards", "")),
        exclude_cards=c.check("exclude_cards", f.names, raw.get("exclude_cards", "")),
        strategy=c.check("strategy", f.strategy, raw.get("strategy", "")),
        script=c.check("script", text, f.plain(raw.get("script", "")), max_len=100,
                       single_line=True),
        rtp_media_proxy=c.check("rtp_media_proxy", _media_proxy, raw.get("rtp_media_proxy")),
        rtp_proxy_mode=c.check("rtp_proxy_mode", choice,
                               f.plain(raw.get("rtp_proxy_mode", "")).strip().lower()
                               or "relaxed", RTP_PROXY_MODES),
        enabled=c.check("enabled", boolean, "yes" if enabled is None else enabled),
    )
    both = set(out.lock_cards or ()) & set(out.exclude_cards or ())
    if both:
        c.errors.setdefault("exclude_cards",
                            f"also in lock cards: {', '.join(sorted(both))}")
    c.raise_if_any()
    return out


@dataclass(frozen=True, slots=True)
class ScriptInput:
    name: str
    body: str


def script_body(value) -> str:
    body = text(f.plain(value), required=True, max_len=MAX_BODY)
    parse_script(body)  # ValueError names the rule and what is wrong
    return body


def validate_script(raw: dict) -> ScriptInput:
    c = _Collector()
    out = ScriptInput(name=c.check("name", name_text, f.plain(raw.get("name", ""))),
                      body=c.check("body", script_body, raw.get("body", "")))
    c.raise_if_any()
    return out


# -- §5 CLI rules ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CliRuleInput:
    cli: str  # regex; plain digits = unanchored
    rewrite_cli: str = ""
    p_asserted_id: str = ""
    forced: bool = False
    position: int | None = None  # None = last


def _group_refs(value: str, groups: int) -> str:
    for m in _GROUP_REF_RE.finditer(value):
        n = int(next(g for g in m.groups() if g is not None))
        if n > groups:
            have = f"has {groups} group{'s' if groups != 1 else ''}" if groups else \
                "has no groups"
            raise ValueError(f"uses group {n} but the CLI pattern {have}")
    return value


def validate_cli_rule(raw: dict) -> CliRuleInput:
    c = _Collector()
    forced = c.check("forced", boolean, raw.get("forced", False))
    cli = c.check("cli", text, f.plain(raw.get("cli", "")), required=not forced,
                  max_len=200, single_line=True)
    groups = 0
    if cli:
        compiled = c.check("cli", f.compile_regex, cli)
        groups = compiled.groups if compiled is not None else 0
    rewrite = c.check("rewrite_cli", text, f.plain(raw.get("rewrite_cli", "")), max_len=200,
                      single_line=True)
    pai = c.check("p_asserted_id", text, f.plain(raw.get("p_asserted_id", "")), max_len=200,
                  single_line=True)
    if rewrite:
        c.check("rewrite_cli", _group_refs, rewrite, groups)
    if pai:
        c.check("p_asserted_id", _group_refs, pai, groups)
    if forced and cli is not None and not rewrite:
        c.errors.setdefault("rewrite_cli", "a forced rule needs the CLI it forces")
    position = f.plain(raw.get("position", "")).strip()
    out = CliRuleInput(
        cli=cli, rewrite_cli=rewrite, p_asserted_id=pai, forced=forced,
        position=c.check("position", integer, position) if position else None)
    c.raise_if_any()
    return out


__all__ = [
    "AUTH_DIRECTIONS", "CODECS", "DEFAULT_CODECS", "DIAL_PATTERNS", "DIRECTIONS",
    "PROTOCOLS", "PROVIDER_STATUSES", "ROUNDINGS", "RTP_PROXY_MODES", "SIP_PASSWORD_MIN",
    "CliRuleInput", "IpAuthInput", "ProviderInput", "RateCardInput", "RateRowInput",
    "RouteInput", "ScriptInput", "SipUserInput", "StrategyCardInput", "StrategyInput",
    "ValidationError", "validate_cli_rule", "validate_ip_auth", "validate_provider",
    "validate_rate_card", "validate_rate_row", "validate_route", "validate_script",
    "validate_sip_user",
]

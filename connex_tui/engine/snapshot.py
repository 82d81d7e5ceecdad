"""The routing configuration as the engine sees it: plain immutable values, no I/O.

The data layer builds a Snapshot from the database (data/snapshot.py) and rebuilds it when
the configuration generation changes; the pipeline (engine/pipeline.py) decides calls
against it. Money is Decimal; rate-card rows live in compact prefix indexes
(engine/rating.py) rather than one object per row, so a 1,000,000-row card fits in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from ipaddress import IPv4Network, IPv6Network
from typing import TYPE_CHECKING

from connex_tui.engine.money import available_credit

if TYPE_CHECKING:
    from connex_tui.engine.rating import PrefixIndex
    from connex_tui.engine.scripts import Script

# SIP digest realm: HA1 = md5("username:REALM:password").
REALM = "connex"

# One rate row as the loader hands it to PrefixIndex.from_rows (money in micro-units, the
# effective time as UTC epoch seconds or None):
# (prefix, destination, rate_micro, connect_fee_micro, mcd, pulse, blocked, effective_from)
RowTuple = tuple[str, str, int, int, int, int, bool, "int | None"]


@dataclass(frozen=True, slots=True)
class CustomerS:
    id: int
    name: str
    status: str  # active | inactive | pending_approval | penalty
    currency: str
    balance: Decimal
    debit_limit: Decimal
    channels: int = 0
    flow_speed: int = 0

    @property
    def available(self) -> Decimal:
        return available_credit(self.balance, self.debit_limit)


@dataclass(frozen=True, slots=True)
class IpAuthS:
    id: int
    customer_id: int
    host: str
    network: IPv4Network | IPv6Network | None  # None for a hostname (egress only)
    direction: str = "ingress"
    channels: int = 0
    flow_speed: int = 0
    cli_prefix: str = ""
    tech_prefix: str = ""
    strip_digits: int = 0


@dataclass(frozen=True, slots=True)
class SipUserS:
    id: int
    customer_id: int
    username: str
    ha1: str  # hex md5 of "username:REALM:password"
    channels: int = 0
    flow_speed: int = 0
    ip_whitelist: tuple[IPv4Network | IPv6Network, ...] = ()  # empty = any source IP


@dataclass(frozen=True, slots=True)
class StrategyCardS:
    card_id: int
    priority: int = 0
    weight: int = 0


@dataclass(frozen=True, slots=True)
class StrategyS:
    prefix: str = ""  # empty = every number
    mode: str = "lcr"  # lcr | reverse_lcr | priority | weighted | round_robin | drop
    cards: tuple[StrategyCardS, ...] = ()


@dataclass(frozen=True, slots=True)
class RouteS:
    id: int
    customer_id: int
    rate_card_id: int
    tech_prefix: str = ""
    dial_string: tuple[str, ...] = ()  # lines; plain digits = prefix, else a regex
    capped_rate: Decimal | None = None
    provider_capped_rate: Decimal | None = None
    profit_assurance: bool = False
    block_connect_cost: bool = False
    channels: int = 0
    flow_speed: int = 0
    max_duration: int = 7200
    lock_cards: frozenset[int] = frozenset()
    exclude_cards: frozenset[int] = frozenset()
    strategies: tuple[StrategyS, ...] = ()
    script_id: int | None = None
    rtp_media_proxy: str = "auto"
    rtp_proxy_mode: str = "relaxed"
    enabled: bool = True
    position: int = 0


@dataclass(frozen=True, slots=True)
class CliRuleS:
    id: int
    customer_id: int
    cli: str  # regex; plain digits = unanchored regex
    rewrite_cli: str = ""
    p_asserted_id: str = ""
    forced: bool = False
    position: int = 0


@dataclass(frozen=True, slots=True)
class ProviderS:
    id: int
    name: str
    status: str = "active"
    host: str = ""


@dataclass(slots=True)
class CardS:
    id: int
    name: str
    currency: str
    direction: str  # customer | provider
    precision: int
    rounding: str
    index: PrefixIndex
    provider_id: int | None = None  # provider cards
    parents: tuple[int, ...] = ()  # customer cards: ids of their parent provider cards


@dataclass(slots=True)
class Snapshot:
    """Everything the pipeline reads. Lists are in evaluation order (position, then id)."""

    generation: int = 0
    customers: dict[int, CustomerS] = field(default_factory=dict)
    ip_auth: tuple[IpAuthS, ...] = ()
    sip_users: dict[str, SipUserS] = field(default_factory=dict)  # by username
    routes: dict[int, tuple[RouteS, ...]] = field(default_factory=dict)  # by customer id
    cli_rules: dict[int, tuple[CliRuleS, ...]] = field(default_factory=dict)  # by customer
    cards: dict[int, CardS] = field(default_factory=dict)
    providers: dict[int, ProviderS] = field(default_factory=dict)
    scripts: dict[int, Script] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Usage:
    """Live load at decision time, keyed by (level, id) with level one of
    'customer', 'auth', 'sip_user', 'route': calls up now, and calls started in the last
    second. Missing keys count as 0."""

    live: dict[tuple[str, int], int] = field(default_factory=dict)
    last_second: dict[tuple[str, int], int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallInput:
    number: str
    cli: str
    source_ip: str = ""
    at: datetime | None = None  # None = now (the caller supplies a UTC time)
    switch_ip: str = ""
    sip_user: str | None = None
    sip_password: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderChoice:
    """One provider the call may go to, in the order the strategy tries them."""

    provider_id: int
    name: str
    card_id: int
    card: str
    prefix: str
    rate: Decimal  # provider cost per minute
    connect_fee: Decimal
    margin: Decimal  # customer rate - provider rate, per minute


@dataclass(frozen=True, slots=True)
class Result:
    """What the switch would do with a call, and why (one trace line per step)."""

    decision: str  # allow | reject
    sip_code: int  # 200 when allowed
    reason: str  # "OK" when allowed, else the spec's reason text
    number_in: str
    cli_in: str
    number_out: str = ""
    cli_out: str = ""
    pai: str = ""
    customer_id: int | None = None
    customer: str = ""
    auth_id: int | None = None  # IP-auth entry id
    sip_user_id: int | None = None
    auth: str = ""  # "IP 10.0.0.0/24" or "SIP user alice"
    route_id: int | None = None
    route: str = ""  # tech prefix or "(no tech prefix)"
    card_id: int | None = None
    card: str = ""
    currency: str = ""
    prefix: str = ""
    destination: str = ""
    rate: Decimal | None = None
    connect_fee: Decimal | None = None
    mcd: int | None = None
    pulse: int | None = None
    providers: tuple[ProviderChoice, ...] = ()
    max_duration: int | None = None  # seconds
    trace: tuple[str, ...] = ()
    precision: int = 4  # the customer card's billing decimals: money is shown with them

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    @property
    def increment(self) -> str:
        return f"{self.mcd}/{self.pulse}" if self.mcd is not None else ""

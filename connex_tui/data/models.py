"""Schema for the whole domain (docs/domain.md §1-13). Later issues fill in behaviour, not tables."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from connex_tui.data.types import Money, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Editable:
    """Every editable row: optimistic lock plus timestamps."""

    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


def _cust_fk(nullable: bool = False):
    return mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), nullable=nullable,
                         index=True)


# §13 -------------------------------------------------------------------------------------
class Operator(Editable, Base):
    __tablename__ = "operators"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="operator")


# §1 --------------------------------------------------------------------------------------
class Customer(Editable, Base):
    __tablename__ = "customers"
    __table_args__ = (
        # SQLite: the list walks this in name order and filters, searches and counts
        # without touching the wide table rows. (An index on archived_at would lure the
        # planner into a sort of every row.) PostgreSQL caps btree key size, so there the
        # unique name_key index orders and a (archived_at, status) index counts.
        Index("ix_customers_list", "name_key", "archived_at", "status", "search_text")
        .ddl_if(dialect="sqlite"),
        Index("ix_customers_state", "archived_at", "status").ddl_if(dialect="postgresql"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100), unique=True)  # lower(name)
    status: Mapped[str] = mapped_column(String(20), default="active")
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paypal_email: Mapped[str] = mapped_column(String(254), default="")
    website: Mapped[str] = mapped_column(String(500), default="")
    debit_limit: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    tax_percent: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3))
    portal_access: Mapped[bool] = mapped_column(Boolean, default=False)
    channels: Mapped[int] = mapped_column(Integer, default=0)
    flow_speed: Mapped[int] = mapped_column(Integer, default=0)
    address: Mapped[str] = mapped_column(Text, default="")
    notes_public: Mapped[str] = mapped_column(Text, default="")
    notes_private: Mapped[str] = mapped_column(Text, default="")
    # Cache of sum(ledger.amount), moved only by data.ledger in the same transaction.
    balance: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    last_call_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Lower-cased name, contact emails, auth hosts, SIP users, DIDs and tech prefixes,
    # rebuilt by data.search whenever one of those changes: one scan answers a search.
    search_text: Mapped[str] = mapped_column(Text, default="")
    has_auth: Mapped[bool] = mapped_column(Boolean, default=False)
    has_route: Mapped[bool] = mapped_column(Boolean, default=False)


# §2 --------------------------------------------------------------------------------------
class Contact(Editable, Base):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = _cust_fk()
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    phone: Mapped[str] = mapped_column(String(32), default="")
    notes_public: Mapped[str] = mapped_column(Text, default="")
    notes_private: Mapped[str] = mapped_column(Text, default="")
    password_hash: Mapped[str] = mapped_column(String(200), default="")


# §3 --------------------------------------------------------------------------------------
class Provider(Editable, Base):
    __tablename__ = "providers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    host: Mapped[str] = mapped_column(String(255), default="")
    channels: Mapped[int] = mapped_column(Integer, default=0)
    flow_speed: Mapped[int] = mapped_column(Integer, default=0)


class RateCard(Editable, Base):
    __tablename__ = "rate_cards"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    direction: Mapped[str] = mapped_column(String(10))  # customer | provider
    precision: Mapped[int] = mapped_column(Integer, default=4)
    rounding: Mapped[str] = mapped_column(String(10), default="up")
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True)


class RateCardParent(Base):
    __tablename__ = "rate_card_parents"
    customer_card_id: Mapped[int] = mapped_column(
        ForeignKey("rate_cards.id", ondelete="CASCADE"), primary_key=True)
    provider_card_id: Mapped[int] = mapped_column(
        ForeignKey("rate_cards.id", ondelete="CASCADE"), primary_key=True)


class RateRow(Base):
    __tablename__ = "rate_rows"
    __table_args__ = (Index("ix_rate_rows_card_prefix", "card_id", "prefix"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("rate_cards.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str] = mapped_column(String(100), default="")
    rate: Mapped[Decimal] = mapped_column(Money)
    connect_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    mcd: Mapped[int] = mapped_column(Integer, default=60)
    pulse: Mapped[int] = mapped_column(Integer, default=60)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    effective_from: Mapped[datetime | None] = mapped_column(UTCDateTime)


# §4 --------------------------------------------------------------------------------------
class RoutingScript(Editable, Base):
    __tablename__ = "routing_scripts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text, default="")  # YAML rules


class IngressRoute(Editable, Base):
    __tablename__ = "ingress_routes"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = _cust_fk()
    rate_card_id: Mapped[int] = mapped_column(ForeignKey("rate_cards.id"), index=True)
    tech_prefix: Mapped[str] = mapped_column(String(32), default="")
    dial_string: Mapped[str] = mapped_column(Text, default="")
    capped_rate: Mapped[Decimal | None] = mapped_column(Money)
    provider_capped_rate: Mapped[Decimal | None] = mapped_column(Money)
    profit_assurance: Mapped[bool] = mapped_column(Boolean, default=False)
    block_connect_cost: Mapped[bool] = mapped_column(Boolean, default=False)
    channels: Mapped[int] = mapped_column(Integer, default=0)
    flow_speed: Mapped[int] = mapped_column(Integer, default=0)
    max_duration: Mapped[int] = mapped_column(Integer, default=7200)
    script_id: Mapped[int | None] = mapped_column(
        ForeignKey("routing_scripts.id", ondelete="SET NULL"))
    rtp_media_proxy: Mapped[str] = mapped_column(String(64), default="auto")
    rtp_proxy_mode: Mapped[str] = mapped_column(String(10), default="relaxed")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class RouteCardFilter(Base):
    """lock_cards (kind='lock') and exclude_cards (kind='exclude') of a route."""

    __tablename__ = "route_card_filters"
    route_id: Mapped[int] = mapped_column(
        ForeignKey("ingress_routes.id", ondelete="CASCADE"), primary_key=True)
    card_id: Mapped[int] = mapped_column(
        ForeignKey("rate_cards.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)


class RouteStrategy(Base):
    __tablename__ = "route_strategies"
    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(
        ForeignKey("ingress_routes.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(32), default="")
    mode: Mapped[str] = mapped_column(String(16), default="lcr")
    cards: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{card, priority, weight}]


class ConfigState(Base):
    """One row: the routing-configuration generation. Every write to routes, cards, rates,
    providers, CLI rules, auth entries, SIP users or scripts bumps it in the same
    transaction; the engine snapshot is rebuilt when it differs from the one loaded."""

    __tablename__ = "config_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)


# §5 --------------------------------------------------------------------------------------
class CliRule(Editable, Base):
    __tablename__ = "cli_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = _cust_fk()
    cli: Mapped[str] = mapped_column(String(200), default="")
    rewrite_cli: Mapped[str] = mapped_column(String(200), default="")
    p_asserted_id: Mapped[str] = mapped_column(String(200), default="")
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


# §6 --------------------------------------------------------------------------------------
class IpAuth(Editable, Base):
    __tablename__ = "ip_auth"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = _cust_fk()
    host: Mapped[str] = mapped_column(String(255), index=True)
    direction: Mapped[str] = mapped_column(String(8), default="ingress")
    channels: Mapped[int] = mapped_column(Integer, default=0)
    flow_speed: Mapped[int] = mapped_column(Integer, default=0)
    codecs: Mapped[str] = mapped_column(String(200), default="PCMU,PCMA,G729")
    manufacturer: Mapped[str] = mapped_column(String(100), default="")
    sw_version: Mapped[str] = mapped_column(String(100), default="")
    protocol: Mapped[str] = mapped_column(String(4), default="udp")
    port: Mapped[int] = mapped_column(Integer, default=5060)
    dial_pattern: Mapped[str] = mapped_column(String(16), default="e164")
    cli_prefix: Mapped[str] = mapped_column(String(32), default="")
    tech_prefix: Mapped[str] = mapped_column(String(32), default="")
    strip_digits: Mapped[int] = mapped_column(Integer, default=0)
    bandwidth: Mapped[int] = mapped_column(Integer, default=0)
    force_from: Mapped[str] = mapped_column(String(200), default="")


class SipUser(Editable, Base):
    __tablename__ = "sip_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = _cust_fk()
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2
    ha1: Mapped[str] = mapped_column(String(64))  # SIP digest HA1 for the realm
    channels: Mapped[int] = mapped_column(Integer, default=0)
    flow_speed: Mapped[int] = mapped_column(Integer, default=0)
    ip_whitelist: Mapped[str] = mapped_column(Text, default="")  # CIDRs, one per line


# §7 --------------------------------------------------------------------------------------
class Dialog(Base):
    __tablename__ = "dialogs"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int] = _cust_fk()
    ip_auth_id: Mapped[int | None] = mapped_column(ForeignKey("ip_auth.id", ondelete="SET NULL"))
    # SIP-user channel limits count live dialogs per user (docs/domain.md §6)
    sip_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("sip_users.id", ondelete="SET NULL"))
    route_id: Mapped[int | None] = mapped_column(
        ForeignKey("ingress_routes.id", ondelete="SET NULL"))
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="SET NULL"))
    dialled: Mapped[str] = mapped_column(String(64))
    cli: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(10), default="trying")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ringing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source_ip: Mapped[str] = mapped_column(String(64), default="")


class Cdr(Base):
    __tablename__ = "cdrs"
    # (customer, start, id): the CDR tab's keyset pages; the id makes the order total
    __table_args__ = (Index("ix_cdrs_customer_started", "customer_id", "started_at", "id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    call_id: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"))
    route_id: Mapped[int | None] = mapped_column(Integer)
    provider_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    billed_s: Mapped[int] = mapped_column(Integer, default=0)
    dialled: Mapped[str] = mapped_column(String(64))
    cli_in: Mapped[str] = mapped_column(String(64), default="")
    cli_out: Mapped[str] = mapped_column(String(64), default="")
    prefix: Mapped[str] = mapped_column(String(32), default="")
    destination: Mapped[str] = mapped_column(String(100), default="")
    rate: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    connect_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    charge: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    provider_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    sip_code: Mapped[int] = mapped_column(Integer)
    sip_reason: Mapped[str] = mapped_column(String(100), default="")
    release_reason: Mapped[str] = mapped_column(String(32), default="")
    pdd_ms: Mapped[int | None] = mapped_column(Integer)
    switch_ip: Mapped[str] = mapped_column(String(64), default="")
    source_ip: Mapped[str] = mapped_column(String(64), default="")
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    free_s: Mapped[int] = mapped_column(Integer, default=0)  # billed seconds a package paid
    # Simulations keep the whole decision (JSON of engine Result) so they can be reopened.
    detail: Mapped[str | None] = mapped_column(Text)


class StatsRollup(Base):
    """Per customer per minute (grain 'm') and per hour ('h'); CDR writer keeps it current."""

    __tablename__ = "stats_rollups"
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    connected: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    billed_s: Mapped[int] = mapped_column(BigInteger, default=0)
    pdd_sum_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    pdd_count: Mapped[int] = mapped_column(Integer, default=0)
    charge: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    peak_cps: Mapped[int] = mapped_column(Integer, default=0)


class StatsPrefix(Base):
    """Per customer per destination prefix, per hour ('h') and per UTC day ('d'): the Stats
    tab's top destinations. The CDR writer keeps it current."""

    __tablename__ = "stats_prefixes"
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(32), primary_key=True)
    destination: Mapped[str] = mapped_column(String(100), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    connected: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    billed_s: Mapped[int] = mapped_column(BigInteger, default=0)
    charge: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))


class StatsCode(Base):
    __tablename__ = "stats_codes"
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    sip_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class RecalcRun(Base):
    __tablename__ = "recalc_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = _cust_fk()
    operator: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    range_from: Mapped[datetime] = mapped_column(UTCDateTime)
    range_to: Mapped[datetime] = mapped_column(UTCDateTime)
    params: Mapped[str] = mapped_column(Text, default="{}")
    calls: Mapped[int] = mapped_column(Integer, default=0)
    old_total: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    new_total: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    # running (also when its process died or it raised) | done | cancelled. A run moves
    # its cursor (the last CDR it corrected, in (started_at, id) order) in the same
    # transaction as each batch, so a resumed run starts after it (data/recalc.py).
    status: Mapped[str] = mapped_column(String(10), default="done", server_default="done")
    cursor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cursor_id: Mapped[int | None] = mapped_column(BigInteger)
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# §8 --------------------------------------------------------------------------------------
class Payment(Editable, Base):
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[Decimal] = mapped_column(Money)  # gross
    fee: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    tax: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    status: Mapped[str] = mapped_column(String(10), default="completed")
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerEntry(Base):
    __tablename__ = "ledger"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # payment|calls|package|did|recalc|adjust
    amount: Mapped[Decimal] = mapped_column(Money)  # signed: credit > 0, debit < 0
    ref: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)


# §10 -------------------------------------------------------------------------------------
class Alert(Editable, Base):
    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("customer_id", "title"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = _cust_fk()
    title: Mapped[str] = mapped_column(String(100))
    recipients: Mapped[str] = mapped_column(Text, default="")
    area: Mapped[str] = mapped_column(String(10))
    operator: Mapped[str] = mapped_column(String(6))
    threshold: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    reset_threshold: Mapped[Decimal | None] = mapped_column(Money)
    sample_minutes: Mapped[int] = mapped_column(Integer, default=60)
    min_attempts: Mapped[int] = mapped_column(Integer, default=0)
    penalty_minutes: Mapped[int | None] = mapped_column(Integer)
    repeat: Mapped[str] = mapped_column(String(8), default="none")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(8), default="ready")
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    penalty_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertEvent(Base):
    __tablename__ = "alert_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"),
                                          index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(Text, default="")


# §11 -------------------------------------------------------------------------------------
class Did(Editable, Base):
    __tablename__ = "dids"
    # a customer's DIDs and the unassigned stock (customer_id NULL), both in number order
    __table_args__ = (Index("ix_dids_customer_number", "customer_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    destination: Mapped[str] = mapped_column(String(255), default="")
    destination2: Mapped[str] = mapped_column(String(255), default="")
    destination3: Mapped[str] = mapped_column(String(255), default="")
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="SET NULL"))
    provider_card_id: Mapped[int | None] = mapped_column(
        ForeignKey("rate_cards.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"))
    customer_card_id: Mapped[int | None] = mapped_column(
        ForeignKey("rate_cards.id", ondelete="SET NULL"))
    monthly_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    monthly_retail: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    max_duration: Mapped[int] = mapped_column(Integer, default=7200)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


# the stock alone, in number order (partial: "unassigned" reads a page, not a third of dids)
Index("ix_dids_stock", Did.number, postgresql_where=Did.customer_id.is_(None),
      sqlite_where=Did.customer_id.is_(None))


class DidRent(Base):
    """One DID's rent for one UTC calendar month, charged: the key (did_id, month) is what
    makes `jobs run` charge each month once, whatever runs concurrently (data/did_rent)."""

    __tablename__ = "did_rent"
    did_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # no FK: outlives the DID
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-12"
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


# §12 -------------------------------------------------------------------------------------
class Package(Editable, Base):
    __tablename__ = "packages"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="recurring")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    retail: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    setup_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    setup_retail: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    frequency: Mapped[str] = mapped_column(String(8), default="monthly")
    match_days: Mapped[str] = mapped_column(String(100), default="")
    minimum_spend: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    free_minutes: Mapped[int] = mapped_column(Integer, default=0)
    destination_regex: Mapped[str] = mapped_column(String(200), default="")


class CustomerPackage(Editable, Base):
    __tablename__ = "customer_packages"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = _cust_fk()
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id", ondelete="RESTRICT"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auto_decrement: Mapped[bool] = mapped_column(Boolean, default=True)


class PackageRun(Base):
    """One charge per customer package per interval: the unique key makes reruns safe."""

    __tablename__ = "package_runs"
    __table_args__ = (UniqueConstraint("customer_package_id", "interval_start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_package_id: Mapped[int] = mapped_column(
        ForeignKey("customer_packages.id", ondelete="CASCADE"))
    interval_start: Mapped[datetime] = mapped_column(UTCDateTime)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class FreeMinuteUsage(Base):
    """Seconds a free-minutes customer package has given away in one interval; the CDR
    writer moves it with the calls that use it (data/free_minutes.py)."""

    __tablename__ = "free_minute_usage"
    customer_package_id: Mapped[int] = mapped_column(
        ForeignKey("customer_packages.id", ondelete="CASCADE"), primary_key=True)
    interval_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    used_s: Mapped[int] = mapped_column(BigInteger, default=0)


# §13 audit ---------------------------------------------------------------------------------
class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_customer_at", "customer_id", "at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    operator: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # create|update|delete|archive|...
    table_name: Mapped[str] = mapped_column(String(32))
    row_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(Integer)  # no FK: survives erase
    changes: Mapped[str] = mapped_column(Text, default="{}")  # JSON {field: [before, after]}

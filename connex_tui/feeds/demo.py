"""Deterministic demo data: a believable wholesale-VoIP carrier with its traffic history.

`seed()` fills an empty database with operators, providers, rate cards built from real
country calling codes (phonenumbers), customers with contacts, authentication, routes,
CLI rules, DIDs, alerts and packages, payments, and `days` of rated CDR history written
through the CDR writer (rollups, ledger, last call), then a few live dialogs and the
routing showcase with its stored simulations (feeds/demo_showcase.py).

Everything comes from `random.Random` streams seeded by `DemoOptions.seed` and from
`DemoOptions.now`: the same options give the same database, row for row.
"""

from __future__ import annotations

import bisect
import ipaddress
import json
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

import phonenumbers
from phonenumbers import PhoneNumberType
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data import ledger, passwords, search
from connex_tui.data.audit import diff
from connex_tui.data.cdr_writer import CdrInput, write_batch
from connex_tui.data.db import Database
from connex_tui.data.models import (
    Alert,
    AlertEvent,
    AuditEntry,
    CliRule,
    Contact,
    Customer,
    CustomerPackage,
    Dialog,
    Did,
    IngressRoute,
    IpAuth,
    Operator,
    Package,
    Payment,
    Provider,
    RateCard,
    RateCardParent,
    RateRow,
    SipUser,
)
from connex_tui.engine.money import billable_seconds, billed_seconds, call_charge, net_of_tax
from connex_tui.feeds.demo_showcase import (
    DEMO_SIP_PASSWORD,
    demo_password_hash,
    simulate_showcase,
    write_showcase,
)

Progress = Callable[[int, int], None]

CHUNK = 2000  # customers per transaction in the set-up pass
BATCH = 5000  # CDRs per transaction in the history pass
DAY_WEIGHT = 20  # a customer-day of history costs about 20x setting up one customer
SWITCHES = ("198.51.100.10", "198.51.100.11")
SHARED_IP = "198.51.100.77"
CURRENCY_RATE = {"USD": Decimal("1"), "EUR": Decimal("0.92"), "GBP": Decimal("0.79"),
                 "CAD": Decimal("1.37")}


class DemoError(RuntimeError):
    """The demo cannot be seeded (e.g. the database already holds customers)."""


@dataclass(frozen=True, kw_only=True)
class DemoOptions:
    customers: int = 40
    days: int = 30
    seed: int = 7
    now: datetime  # timezone-aware: the end of the history
    cdr_customers: int | None = None  # CDR history for the first N customers only

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("DemoOptions.now must be timezone-aware")
        if self.customers < 1 or self.days < 0:
            raise ValueError("customers must be >= 1 and days >= 0")
        if self.cdr_customers is not None and self.cdr_customers < 0:
            raise ValueError("cdr_customers must be >= 0")


# --------------------------------------------------------------------------------------------
# Static catalogue
# --------------------------------------------------------------------------------------------

# region, fixed and mobile cost in USD per minute (what carriers charge), increments,
# popularity as a destination. Increments: "6" 6/6, "1" 1/1, "60" 60/60, "30" 30/6.
_REGIONS = (
    ("US", "0.0045", "0.0045", "6", 30), ("CA", "0.0052", "0.0052", "6", 8),
    ("GB", "0.0062", "0.0115", "1", 20), ("DE", "0.0071", "0.0148", "1", 14),
    ("FR", "0.0066", "0.0139", "1", 10), ("ES", "0.0058", "0.0121", "1", 7),
    ("IT", "0.0069", "0.0163", "1", 7), ("NL", "0.0074", "0.0182", "1", 6),
    ("BE", "0.0092", "0.0248", "1", 3), ("CH", "0.0104", "0.0352", "1", 3),
    ("AT", "0.0083", "0.0221", "1", 2), ("SE", "0.0061", "0.0119", "1", 2),
    ("NO", "0.0072", "0.0131", "1", 2), ("DK", "0.0066", "0.0112", "1", 2),
    ("FI", "0.0151", "0.0298", "60", 1), ("PL", "0.0071", "0.0102", "1", 4),
    ("PT", "0.0070", "0.0149", "1", 2), ("IE", "0.0081", "0.0203", "1", 2),
    ("GR", "0.0093", "0.0181", "60", 2), ("RO", "0.0102", "0.0279", "60", 3),
    ("CZ", "0.0091", "0.0203", "60", 1), ("HU", "0.0104", "0.0252", "60", 1),
    ("TR", "0.0153", "0.0648", "60", 4), ("UA", "0.0712", "0.1105", "60", 2),
    ("IL", "0.0101", "0.0198", "60", 2), ("AE", "0.1190", "0.1385", "60", 4),
    ("SA", "0.0605", "0.0897", "60", 4), ("EG", "0.0893", "0.1204", "60", 3),
    ("MA", "0.1102", "0.2980", "60", 2), ("NG", "0.0598", "0.0795", "60", 6),
    ("GH", "0.1590", "0.1905", "60", 3), ("KE", "0.0502", "0.0698", "60", 2),
    ("ZA", "0.0201", "0.0497", "60", 3), ("ET", "0.1985", "0.2210", "60", 1),
    ("TZ", "0.2195", "0.2490", "60", 1), ("IN", "0.0092", "0.0086", "60", 16),
    ("PK", "0.0348", "0.0402", "60", 8), ("BD", "0.0151", "0.0159", "60", 7),
    ("LK", "0.0895", "0.0998", "60", 1), ("NP", "0.1010", "0.1095", "60", 1),
    ("CN", "0.0055", "0.0055", "60", 6), ("HK", "0.0041", "0.0062", "1", 2),
    ("JP", "0.0248", "0.0602", "60", 2), ("KR", "0.0121", "0.0199", "60", 2),
    ("TW", "0.0152", "0.0548", "60", 1), ("SG", "0.0051", "0.0051", "1", 2),
    ("MY", "0.0102", "0.0151", "60", 2), ("TH", "0.0101", "0.0102", "60", 2),
    ("VN", "0.0449", "0.0503", "60", 2), ("ID", "0.0352", "0.0451", "60", 3),
    ("PH", "0.0898", "0.1296", "60", 6), ("AU", "0.0082", "0.0201", "1", 3),
    ("NZ", "0.0121", "0.0349", "1", 1), ("MX", "0.0061", "0.0092", "60", 8),
    ("BR", "0.0079", "0.0198", "30", 4), ("AR", "0.0102", "0.0348", "30", 2),
    ("CO", "0.0081", "0.0139", "60", 3), ("PE", "0.0059", "0.0251", "60", 2),
    ("CL", "0.0098", "0.0202", "60", 1), ("VE", "0.0405", "0.0901", "60", 1),
    ("CU", "0.2950", "0.3150", "60", 1),
)
# English names as phonenumbers.geocoder gives them, embedded: loading the geocoder's data
# costs ~100 MB and 0.3 s for these 61 strings.
_NAMES = {
    "US": "United States", "CA": "Canada", "GB": "United Kingdom", "DE": "Germany",
    "FR": "France", "ES": "Spain", "IT": "Italy", "NL": "Netherlands", "BE": "Belgium",
    "CH": "Switzerland", "AT": "Austria", "SE": "Sweden", "NO": "Norway", "DK": "Denmark",
    "FI": "Finland", "PL": "Poland", "PT": "Portugal", "IE": "Ireland", "GR": "Greece",
    "RO": "Romania", "CZ": "Czech Republic", "HU": "Hungary", "TR": "Turkey",
    "UA": "Ukraine", "IL": "Israel", "AE": "United Arab Emirates", "SA": "Saudi Arabia",
    "EG": "Egypt", "MA": "Morocco", "NG": "Nigeria", "GH": "Ghana", "KE": "Kenya",
    "ZA": "South Africa", "ET": "Ethiopia", "TZ": "Tanzania", "IN": "India",
    "PK": "Pakistan", "BD": "Bangladesh", "LK": "Sri Lanka", "NP": "Nepal", "CN": "China",
    "HK": "Hong Kong", "JP": "Japan", "KR": "South Korea", "TW": "Taiwan",
    "SG": "Singapore", "MY": "Malaysia", "TH": "Thailand", "VN": "Vietnam",
    "ID": "Indonesia", "PH": "Philippines", "AU": "Australia", "NZ": "New Zealand",
    "MX": "Mexico", "BR": "Brazil", "AR": "Argentina", "CO": "Colombia", "PE": "Peru",
    "CL": "Chile", "VE": "Venezuela", "CU": "Cuba",
}
_INCREMENTS = {"6": (6, 6), "1": (1, 1), "60": (60, 60), "30": (30, 6)}
_CONNECT_FEE = {"CU": "0.0500", "MA": "0.0150", "ET": "0.0200", "AE": "0.0100",
                "GH": "0.0100"}
_US_AREAS = ("201", "212", "213", "214", "305", "310", "312", "404", "415", "469", "512",
             "602", "617", "646", "702", "713", "718", "786", "832", "917", "929")
_CA_AREAS = ("204", "236", "250", "289", "306", "403", "416", "437", "438", "450", "506",
             "514", "519", "587", "604", "613", "647", "705", "778", "780", "819", "902",
             "905")
# prefix, destination, USD cost, blocked in customer cards, length of a number
_SPECIALS = (
    ("449", "United Kingdom Premium", "0.9500", True, 12),
    ("4470", "United Kingdom Personal", "0.1150", False, 12),
    ("49900", "Germany Premium", "1.2000", True, 13),
    ("3389", "France Premium", "0.8000", True, 11),
    ("870", "Satellite - Inmarsat", "4.5000", True, 12),
    ("8816", "Satellite - Iridium", "6.0000", True, 12),
    ("882", "International Networks", "2.5000", True, 12),
)
# Origin of a customer's traffic (its CLIs, address), account currency, weight, UTC offset.
_HOMES = (
    ("US", "USD", 18, -5), ("GB", "GBP", 14, 0), ("DE", "EUR", 8, 1), ("NL", "EUR", 6, 1),
    ("FR", "EUR", 5, 1), ("ES", "EUR", 4, 1), ("IT", "EUR", 3, 1), ("IE", "EUR", 2, 0),
    ("CA", "CAD", 3, -5), ("IN", "USD", 5, 5), ("PK", "USD", 3, 5), ("NG", "USD", 3, 1),
    ("AE", "USD", 3, 4), ("SG", "USD", 2, 8), ("HK", "USD", 2, 8), ("PH", "USD", 2, 8),
    ("MX", "USD", 2, -6), ("BR", "USD", 2, -3), ("ZA", "USD", 2, 2), ("PL", "EUR", 2, 1),
)
_CITIES = {
    "US": (("New York, NY", "100##"), ("Miami, FL", "331##"), ("Dallas, TX", "752##"),
           ("Los Angeles, CA", "900##")),
    "GB": (("London", "EC# #@@"), ("Manchester", "M# #@@"), ("Leeds", "LS# #@@")),
    "DE": (("Frankfurt am Main", "603##"), ("Berlin", "10###"), ("Hamburg", "20###")),
    "NL": (("Amsterdam", "10## @@"), ("Rotterdam", "30## @@")),
    "FR": (("Paris", "750##"), ("Marseille", "130##")),
    "ES": (("Madrid", "280##"), ("Barcelona", "080##")),
    "IT": (("Milano", "201##"), ("Roma", "001##")),
    "IE": (("Dublin", "D0# @#@#"),),
    "CA": (("Toronto, ON", "M5V #@#"), ("Montreal, QC", "H3B #@#")),
    "IN": (("Mumbai", "4000##"), ("Bengaluru", "5600##")),
    "PK": (("Karachi", "74###"), ("Lahore", "54###")),
    "NG": (("Lagos", "10####"),),
    "AE": (("Dubai", "PO Box #####"),),
    "SG": (("Singapore", "0#####"),),
    "HK": (("Hong Kong", ""),),
    "PH": (("Makati City", "12##"),),
    "MX": (("Ciudad de México", "06###"),),
    "BR": (("São Paulo", "0####-###"),),
    "ZA": (("Johannesburg", "2###"),),
    "PL": (("Warszawa", "0#-###"),),
}
_STREETS = ("Harbour Road", "Station Street", "Market Square", "Industrial Park",
            "King Street", "Main Street", "Business Park Way", "Trade Centre",
            "Riverside Drive", "Tower Lane", "Exchange Place", "Telecom Plaza")
_CURATED = ("Acme Telecom", "Blue Ocean VoIP", "Northwind Communications",
            "Silverline Networks", "Keystone Carrier Services", "Redwood Voice",
            "Harbor Telecom Ltd", "Zenith Telekom", "Falcon Connect", "Sapphire VoIP")
_NAME_A = ("Acme", "Apex", "Atlantic", "Aurora", "Azure", "Beacon", "Blue Ocean", "Bright",
           "Cardinal", "Cascade", "Celtic", "Citadel", "Cobalt", "Coastal", "Crescent",
           "Crystal", "Delta", "Eastgate", "Echo", "Emerald", "Equinox", "Falcon", "Fusion",
           "Galaxy", "Global", "Golden Gate", "Granite", "Harbor", "Horizon", "Iron Bridge",
           "Jade", "Keystone", "Lakeside", "Liberty", "Lighthouse", "Lynx", "Magnolia",
           "Metro", "Monarch", "Nimbus", "Northern", "Northwind", "Nova", "Oakridge",
           "Omega", "Onyx", "Orbit", "Pacific", "Paragon", "Peak", "Phoenix", "Pinnacle",
           "Pioneer", "Polar", "Prime", "Quantum", "Radiant", "Redwood", "Ridge", "River",
           "Sapphire", "Sierra", "Silverline", "Skyline", "Solar", "Sterling", "Summit",
           "Swift", "Titan", "Trident", "Unity", "Vanguard", "Vertex", "Vista",
           "Westbridge", "Zenith")
_NAME_B = ("Digital", "Voice", "Link", "Wave", "Star", "Line", "Stream", "Signal", "Bridge",
           "Point")
_NAME_C = ("Telecom", "VoIP", "Communications", "Networks", "Voice", "Connect",
           "Carrier Services", "Telecommunications", "Interactive", "Telekom", "Mobile",
           "Wholesale", "Voice Solutions", "Telecom Group", "Carrier")
_LEGAL = {"GB": "Ltd", "IE": "Ltd", "US": "LLC", "CA": "Inc", "DE": "GmbH", "NL": "B.V.",
          "FR": "SAS", "ES": "S.L.", "IT": "S.r.l.", "PL": "Sp. z o.o.", "IN": "Pvt Ltd",
          "PK": "Pvt Ltd", "NG": "Ltd", "AE": "FZ-LLC", "SG": "Pte Ltd", "HK": "Ltd",
          "PH": "Inc", "MX": "S.A. de C.V.", "BR": "Ltda", "ZA": "(Pty) Ltd"}
_AREA = {"GB": "UK", "IE": "Ireland", "US": "Americas", "CA": "Canada", "DE": "Europe",
         "NL": "Europe", "FR": "Europe", "ES": "Iberia", "IT": "Europe", "PL": "CEE",
         "IN": "Asia", "PK": "Asia", "NG": "Africa", "AE": "MENA", "SG": "Asia",
         "HK": "Asia Pacific", "PH": "Asia Pacific", "MX": "LatAm", "BR": "LatAm",
         "ZA": "Africa"}
_FIRST = ("Anna", "James", "Priya", "Mohammed", "Sofia", "Liam", "Chen", "Fatima", "Lukas",
          "Olivia", "Carlos", "Aisha", "Tomasz", "Emma", "Hiroshi", "Nadia", "David", "Elena",
          "Kwame", "Grace", "Ahmed", "Laura", "Rahul", "Ingrid", "Mateo", "Zara", "Oliver",
          "Mei", "Pedro", "Hannah", "Yusuf", "Chloe", "Arjun", "Sara", "Daniel", "Amara")
_LAST = ("Smith", "Patel", "Müller", "García", "Rossi", "Khan", "Nguyen", "Okafor", "Jansen",
         "Dubois", "Kowalski", "Silva", "Tanaka", "Haddad", "Johansson", "O'Brien", "Ivanova",
         "Mensah", "Fernández", "Schmidt", "Ali", "Reyes", "Chowdhury", "Lee", "Novak",
         "Andersen", "Costa", "Brown", "Wright", "Sato")
_ASCII = str.maketrans("üéáíóñ'", "ueaion-")
_MANUFACTURERS = (("Asterisk", ("18.20.2", "20.5.0", "16.30.1")),
                  ("FreeSWITCH", ("1.10.11", "1.10.9")), ("Kamailio", ("5.7.4", "5.8.1")),
                  ("Sansay VSXi", ("9.2.1",)), ("Metaswitch Perimeta", ("4.9",)),
                  ("Cisco CUBE", ("17.9.4",)), ("AudioCodes Mediant", ("7.40A",)),
                  ("Ribbon SBC", ("11.1",)), ("3CX", ("20.0",)), ("", ("",)))
_CODECS = ("PCMU,PCMA,G729", "PCMA,G729", "PCMU,PCMA", "G729", "PCMU,PCMA,G729,G722",
           "OPUS,PCMU,PCMA")
_NOTES_PUBLIC = ("", "", "A-Z termination, CLI routes preferred.",
                 "Call centre traffic: short calls expected.",
                 "Please send rate notifications to the rates contact.",
                 "Retail origination; mostly mobile destinations.",
                 "NOC available 24/7 on the phone number of the first contact.")
_NOTES_PRIVATE = ("", "", "Credit check done; pays by wire within 7 days.",
                  "Watch ASR on Nigeria: history of short calls.",
                  "Sales owner: Rahul. Upsell premium CLI route.",
                  "Was on penalty twice for low ASR.",
                  "Disputed an invoice in the past; keep CDRs.")
_TECH_PREFIXES = ("77", "1234#", "9001#", "88", "555#", "42#")
_CODE_WEIGHTS = ((486, 0.20), (480, 0.15), (487, 0.24), (408, 0.05), (404, 0.04),
                 (484, 0.025), (503, 0.09), (603, 0.03), (403, 0.015))
_REASON = {200: "OK", 486: "Busy Here", 480: "Temporarily Unavailable",
           487: "Request Terminated", 408: "Request Timeout", 404: "Not Found",
           484: "Address Incomplete", 503: "Service Unavailable", 603: "Decline",
           403: "Forbidden"}
_RELEASE = {486: "busy", 480: "no_answer", 487: "caller_cancel", 408: "timeout",
            404: "callee_reject", 484: "callee_reject", 503: "provider_error",
            603: "callee_reject", 403: "callee_reject"}
_RANG = frozenset((200, 480, 487, 603))
_DIURNAL = (1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.6, 3.4, 3.8, 3.9, 3.7, 3.8, 3.9, 3.8,
            3.5, 3.0, 2.6, 2.3, 2.0, 1.8, 1.5, 1.2)
_NICE = (50, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 2500, 3000, 4000,
         5000, 7500, 10000, 15000, 20000, 25000, 50000)
_PROVIDERS = (  # name, host, currencies, covers all, precision, rounding, flat 60/60
    ("NordTransit", "192.0.2.20", ("USD", "EUR"), False, 4, "up", False),
    ("Atlas Voice", "198.51.100.21", ("USD", "GBP"), False, 4, "up", False),
    ("Meridian Carrier Services", "203.0.113.200", ("USD", "EUR", "GBP"), True, 6,
     "half_up", False),
    ("BlueWave Wholesale", "198.51.100.23", ("USD",), False, 4, "up", False),
    ("Kestrel Telecom", "192.0.2.24", ("EUR", "GBP"), False, 4, "up", True),
    ("Maple Interconnect", "203.0.113.201", ("USD", "CAD"), False, 4, "up", False),
)
# customer cards: currency, tier, margin, precision, rounding
_CUSTOMER_CARDS = (
    ("USD", "Premium CLI", "1.30", 4, "up"), ("USD", "Standard", "1.16", 4, "up"),
    ("EUR", "Premium CLI", "1.30", 4, "up"), ("EUR", "Standard", "1.16", 5, "half_up"),
    ("GBP", "Premium CLI", "1.28", 4, "up"), ("GBP", "Standard", "1.15", 4, "up"),
    ("CAD", "Standard", "1.18", 4, "up"),
)
_PACKAGES = (  # name, kind, currency, cost, retail, setup cost, setup retail, freq, days,
    # minimum spend, free minutes, destination regex
    ("Platform Fee Monthly", "recurring", "USD", "0", "25.00", "0", "50.00", "monthly", "1",
     "0", 0, ""),
    ("UK Mobile Bundle 1000", "free_minutes", "GBP", "9.50", "15.00", "0", "0", "monthly",
     "1", "0", 1000, r"^447[1-9]"),
    ("Minimum Spend EUR 500", "recurring", "EUR", "0", "500.00", "0", "0", "monthly", "1",
     "500.00", 0, ""),
)


def _d(value: float, places: int) -> Decimal:
    return Decimal(f"{value:.{places}f}")


def _q(value: Decimal, places: int, rounding=ROUND_HALF_UP) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=rounding)


def _nice(amount: float) -> Decimal:
    i = bisect.bisect_left(_NICE, amount)
    return Decimal(_NICE[min(i, len(_NICE) - 1)])


def _fill(pattern: str, rng: random.Random) -> str:
    return "".join(str(rng.randrange(10)) if ch == "#" else
                   chr(65 + rng.randrange(26)) if ch == "@" else ch for ch in pattern)


def _digits(rng: random.Random, n: int) -> str:
    """n random decimal digits (random() has 53 bits: exact enough up to 15 digits)."""
    if n <= 0:
        return ""
    if n > 15:
        return _digits(rng, n - 15) + _digits(rng, 15)
    return f"{int(rng.random() * 10 ** n):0{n}d}"


def _between(rng: random.Random, low: int, high: int) -> int:
    """randint(low, high) at a third of the cost (the history draws millions of these)."""
    return low + int(rng.random() * (high - low + 1))


def _call_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# --------------------------------------------------------------------------------------------
# Rate cards in memory (what the database gets, plus a longest-prefix lookup for rating)
# --------------------------------------------------------------------------------------------

class _Row:
    __slots__ = ("prefix", "destination", "rate", "fee", "mcd", "pulse", "blocked", "eff")

    def __init__(self, prefix, destination, rate, fee, mcd, pulse, blocked=False, eff=None):
        self.prefix, self.destination, self.rate, self.fee = prefix, destination, rate, fee
        self.mcd, self.pulse, self.blocked, self.eff = mcd, pulse, blocked, eff


class _Card:
    def __init__(self, name, currency, direction, precision, rounding, provider=None):
        self.id = 0
        self.name, self.currency, self.direction = name, currency, direction
        self.precision, self.rounding, self.provider = precision, rounding, provider
        self.rows: list[_Row] = []
        self.table: dict[str, tuple[_Row, ...]] = {}
        self.maxlen = 0
        self.zero = _q(Decimal(0), precision)

    def add(self, row: _Row) -> None:
        self.rows.append(row)

    def index(self) -> None:
        by: dict[str, list[_Row]] = {}
        for r in self.rows:
            by.setdefault(r.prefix, []).append(r)
        epoch = datetime.min.replace(tzinfo=UTC)
        self.table = {p: tuple(sorted(rs, key=lambda r: r.eff or epoch)) for p, rs in by.items()}
        self.maxlen = max(len(p) for p in self.table)

    def lookup(self, number: str, at: datetime) -> _Row | None:
        """Longest prefix whose newest row is in effect at `at`."""
        table = self.table
        for n in range(min(self.maxlen, len(number)), 0, -1):
            rows = table.get(number[:n])
            if rows is None:
                continue
            for r in reversed(rows):
                if r.eff is None or r.eff <= at:
                    return r
        return None


class _Provider:
    def __init__(self, name, host, currencies, covers_all, precision, rounding, flat):
        self.id = 0
        self.name, self.host, self.currencies = name, host, currencies
        self.covers_all, self.precision, self.rounding, self.flat = (covers_all, precision,
                                                                     rounding, flat)
        self.cards: dict[str, _Card] = {}


class _Gen:
    """Where dialled numbers are drawn from: a prefix, the full length, a share."""

    __slots__ = ("prefix", "length", "region", "kind", "share")

    def __init__(self, prefix, length, region, kind, share):
        self.prefix, self.length, self.region, self.kind, self.share = (prefix, length, region,
                                                                        kind, share)


class _Dest:
    __slots__ = ("prefix", "name", "region", "cost", "mcd", "pulse", "fee", "special",
                 "blocked")

    def __init__(self, prefix, name, region, cost, incr, fee, special=False, blocked=False):
        self.prefix, self.name, self.region, self.cost = prefix, name, region, cost
        self.mcd, self.pulse = _INCREMENTS[incr]
        self.fee, self.special, self.blocked = fee, special, blocked


def _nsn(region: str, kind: PhoneNumberType) -> str | None:
    ex = phonenumbers.example_number_for_type(region, kind)
    return phonenumbers.national_significant_number(ex) if ex else None


def _ntype(cc: str, nsn: str):
    try:
        return phonenumbers.number_type(phonenumbers.parse("+" + cc + nsn))
    except phonenumbers.NumberParseException:
        return None


def _mobile_prefixes(cc: str, mob: str, fix: str) -> list[str]:
    """Leading digits (1-2) of the national number that say 'mobile' on their own."""
    found: list[str] = []
    for d1 in "0123456789":
        kids = []
        for d2 in "0123456789":
            p = d1 + d2
            if (_ntype(cc, p + mob[2:]) == PhoneNumberType.MOBILE
                    and _ntype(cc, p + fix[2:]) not in (PhoneNumberType.FIXED_LINE,
                                                        PhoneNumberType.FIXED_LINE_OR_MOBILE)):
                kids.append(p)
        found += [d1] if len(kids) == 10 else kids
    if not found:
        return [mob[:3]]
    found.sort(key=lambda p: (p[0] != mob[0], p))
    return found[:8]


class _Catalogue:
    """Destinations, provider and customer cards, packages: the shared price world."""

    def __init__(self, rng: random.Random, now: datetime):
        self.dests: list[_Dest] = []
        self.gens: list[_Gen] = []
        self.country: dict[str, str] = {}
        self.cc: dict[str, str] = {}
        self.home_gens: dict[str, list[_Gen]] = {}
        self._build_destinations()
        self.providers = [_Provider(*p) for p in _PROVIDERS]
        self.customer_cards: list[_Card] = []
        self.cards_by_currency: dict[str, list[_Card]] = {}
        self._build_cards(rng, now)
        self._options: dict[tuple[int, int], list[tuple[_Row, _Card]]] = {}

    # destinations ---------------------------------------------------------------------------
    def _build_destinations(self) -> None:
        for region, fixed_cost, mobile_cost, incr, _pop in _REGIONS:
            fixed, mobile = Decimal(fixed_cost), Decimal(mobile_cost)
            fee = Decimal(_CONNECT_FEE.get(region, "0"))
            fix = _nsn(region, PhoneNumberType.FIXED_LINE)
            mob = _nsn(region, PhoneNumberType.MOBILE)
            ex = phonenumbers.example_number_for_type(region, PhoneNumberType.FIXED_LINE)
            cc = str(ex.country_code)
            name = _NAMES.get(region, region)
            self.country[region], self.cc[region] = name, cc
            gens: list[_Gen] = []
            if cc == "1":
                areas = _US_AREAS if region == "US" else _CA_AREAS
                if region == "US":
                    self.dests.append(_Dest("1", name, region, fixed, incr, fee))
                    self.dests.append(_Dest("1808", f"{name} - Hawaii", region, fixed * 3,
                                            incr, fee))
                    self.dests.append(_Dest("1907", f"{name} - Alaska", region, fixed * 4,
                                            incr, fee))
                    gens.append(_Gen("1808", 11, region, "fixed", 0.02))
                    gens.append(_Gen("1907", 11, region, "fixed", 0.01))
                else:
                    for a in areas:
                        self.dests.append(_Dest("1" + a, name, region, fixed, incr, fee))
                gens += [_Gen("1" + a, 11, region, "fixed", 0.97 / len(areas)) for a in areas]
                self.gens += gens
                self.home_gens[region] = gens
                continue
            self.dests.append(_Dest(cc, name, region, fixed * Decimal("1.08"), incr, fee))
            mobiles: list[str] = []
            if mob and fix and _ntype(cc, mob) == PhoneNumberType.MOBILE:
                mobiles = _mobile_prefixes(cc, mob, fix)
            fixed_prefix = fix[:2] if fix else ""
            if fixed_prefix and any(fixed_prefix.startswith(m) or m.startswith(fixed_prefix)
                                    for m in mobiles):
                fixed_prefix = ""
            if fixed_prefix:
                self.dests.append(_Dest(cc + fixed_prefix, f"{name} Fixed", region, fixed,
                                        incr, fee))
                gens.append(_Gen(cc + fixed_prefix, len(cc) + len(fix), region, "fixed", 0.30))
            for i, m in enumerate(mobiles):
                bump = Decimal(1) + Decimal(i % 3) / 50
                self.dests.append(_Dest(cc + m, f"{name} Mobile", region, mobile * bump, incr,
                                        fee))
                gens.append(_Gen(cc + m, len(cc) + len(mob), region, "mobile",
                                 0.55 / len(mobiles)))
            other = 0.15 if mobiles and fixed_prefix else 0.45
            gens.append(_Gen(cc + (fix[0] if fix else "2"), len(cc) + len(fix or mob or "2" * 9),
                             region, "other", other))
            self.gens += gens
            self.home_gens[region] = [g for g in gens if g.kind != "other"] or gens
        for prefix, name, cost, blocked, length in _SPECIALS:
            self.dests.append(_Dest(prefix, name, "", Decimal(cost), "60", Decimal(0),
                                    special=True, blocked=blocked))
            self.gens.append(_Gen(prefix, length, "", "special", 1.0))

    # cards ----------------------------------------------------------------------------------
    def _build_cards(self, rng: random.Random, now: datetime) -> None:
        best: dict[tuple[str, str], Decimal] = {}
        for p in self.providers:
            factor = rng.uniform(0.9, 1.1)
            covered = [d for d in self.dests if p.covers_all or rng.random() < 0.86
                       or d.region in ("US", "GB", "DE", "IN")]
            for cur in p.currencies:
                card = _Card(f"{p.name} {cur}", cur, "provider", p.precision, p.rounding, p)
                conv = CURRENCY_RATE[cur]
                for d in covered:
                    rate = _q(d.cost * conv * _d(factor * rng.uniform(0.94, 1.06), 4), 5)
                    mcd, pulse = (60, 60) if p.flat else (d.mcd, d.pulse)
                    card.add(_Row(d.prefix, d.name, max(rate, Decimal("0.00001")),
                                  _q(d.fee * conv * Decimal("0.6"), 4), mcd, pulse))
                    key = (cur, d.prefix)
                    if key not in best or card.rows[-1].rate < best[key]:
                        best[key] = card.rows[-1].rate
                card.index()
                p.cards[cur] = card
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        for cur, tier, margin, precision, rounding in _CUSTOMER_CARDS:
            card = _Card(f"{cur} {tier}", cur, "customer", precision, rounding)
            conv = CURRENCY_RATE[cur]
            for d in self.dests:
                cost = best.get((cur, d.prefix), d.cost * conv)
                raw = cost * Decimal(margin) * _d(rng.uniform(0.98, 1.07), 4)
                rate = _q(raw, 4 if raw >= Decimal("0.01") else 5, ROUND_CEILING)
                mcd, pulse = d.mcd, d.pulse
                if tier == "Standard" and (mcd, pulse) == (1, 1):
                    mcd, pulse = 30, 6
                card.add(_Row(d.prefix, d.name, rate, _q(d.fee * conv, 4), mcd, pulse,
                              blocked=d.blocked))
            plain = [r for r in card.rows if not r.blocked and len(r.prefix) > 1]
            for r in rng.sample(plain, 3):  # a rate change during the history
                eff = today - timedelta(days=rng.randint(4, 20))
                card.add(_Row(r.prefix, r.destination,
                              _q(r.rate * _d(rng.uniform(1.05, 1.2), 3), 5, ROUND_CEILING),
                              r.fee, r.mcd, r.pulse, eff=eff))
            for r in rng.sample(plain, 2):  # an announced change, not in force yet
                card.add(_Row(r.prefix, r.destination,
                              _q(r.rate * _d(rng.uniform(0.9, 1.15), 3), 5, ROUND_CEILING),
                              r.fee, r.mcd, r.pulse, eff=today + timedelta(days=7)))
            card.index()
            self.customer_cards.append(card)
            self.cards_by_currency.setdefault(cur, []).append(card)

    def provider_cards(self, currency: str) -> list[_Card]:
        return [p.cards[currency] for p in self.providers if currency in p.cards]

    def options(self, card: _Card, row: _Row, at: datetime) -> list[tuple[_Row, _Card]]:
        """Provider rows for a customer row, cheapest first (LCR)."""
        key = (id(card), id(row))
        found = self._options.get(key)
        if found is None:
            found = []
            for pc in self.provider_cards(card.currency):
                prow = pc.lookup(row.prefix, at)
                if prow is not None and not prow.blocked:
                    found.append((prow, pc))
            found.sort(key=lambda o: (o[0].rate, o[1].provider.id))
            self._options[key] = found
        return found


# --------------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------------

class _Route:
    __slots__ = ("id", "card", "tech_prefix", "dial", "capped", "pcapped", "pa", "bcc",
                 "max_duration", "weight", "row")

    def __init__(self, card, tech_prefix, dial, capped, pcapped, pa, bcc, max_duration, weight):
        self.id = 0
        self.card, self.tech_prefix, self.dial = card, tech_prefix, dial
        self.capped, self.pcapped, self.pa, self.bcc = capped, pcapped, pa, bcc
        self.max_duration, self.weight = max_duration, weight
        self.row: dict = {}


class _Cust:
    """One customer: its rows for the database and what the traffic needs."""

    def __init__(self, idx: int):
        self.idx = idx
        self.id = 0
        self.row: dict = {}
        self.contacts: list[dict] = []
        self.auth: list[dict] = []
        self.auth_ids: list[int] = []
        self.sip: list[dict] = []
        self.routes: list[_Route] = []
        self.cli_rules: list[dict] = []
        self.dids: list[dict] = []
        self.alerts: list[tuple[dict, list[dict]]] = []
        self.packages: list[dict] = []
        self.cdr = False
        # traffic
        self.balance = Decimal(0)
        self.spent = Decimal(0)
        self.stop_at: datetime | None = None
        self.penalty_start: datetime | None = None
        self.lapse_day: int | None = None


@dataclass
class _Flags:
    status: str = "active"
    archived: bool = False
    no_auth: bool = False
    no_route: bool = False
    negative: bool = False
    lapsing: bool = False
    shared: int = 0  # 1 or 2: the two customers behind one IP


class _Ips:
    """Unique customer addresses: documentation ranges first, then 10.0.0.0/8."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        pool = [f"192.0.2.{i}" for i in range(30, 255)]
        pool += [f"198.51.100.{i}" for i in range(30, 255) if i != 77]
        pool += [f"203.0.113.{i}" for i in range(129, 200)]
        rng.shuffle(pool)
        self.pool = pool
        self.seen: set[str] = set()
        self.blocks = [f"203.0.113.{i * 16}/28" for i in range(8)]
        self.block_n = 0

    def single(self) -> str:
        if self.pool:
            ip = self.pool.pop()
        else:
            while True:
                ip = (f"10.{self.rng.randrange(0, 200)}.{self.rng.randrange(256)}."
                      f"{self.rng.randrange(1, 255)}")
                if ip not in self.seen:
                    break
        self.seen.add(ip)
        return ip

    def cidr(self) -> str:
        if self.blocks:
            return self.blocks.pop(0)
        self.block_n += 1
        n = self.block_n
        return f"10.{200 + n // 8192 % 50}.{n // 32 % 256}.{n % 32 * 8}/29"


class _Factory:
    """Builds customers one by one; keeps names, emails, users and numbers unique."""

    def __init__(self, rng: random.Random, cat: _Catalogue, opts: DemoOptions, now: datetime,
                 packages: list[tuple[int, str]]):
        self.rng, self.cat, self.opts, self.now = rng, cat, opts, now
        self.names: set[str] = set()
        self.name_n: dict[str, int] = {}
        self.domains: set[str] = set()
        self.emails: set[str] = set()
        self.users: set[str] = set()
        self.numbers: set[str] = set()
        self.ips = _Ips(rng)
        self.packages = packages
        self.flags = self._special_flags()
        self.cdr_limit = opts.customers if opts.cdr_customers is None else opts.cdr_customers
        self._homes = [h for h in _HOMES]
        self._home_cw = list(_cum([h[2] for h in _HOMES]))
        self._sip_hash: str | None = None

    def sip_hash(self) -> str:
        """The demo SIP password's argon2 hash: computed once (argon2 is slow on purpose)."""
        if self._sip_hash is None:
            self._sip_hash = demo_password_hash(self.opts.seed)
        return self._sip_hash

    def _special_flags(self) -> dict[int, _Flags]:
        """The first 40 customers show every case the screens must handle."""
        n = min(self.opts.customers, 40)
        order = self.rng.sample(range(n), n)
        roles = ["penalty", "inactive", "pending", "archived", "no_route", "no_auth",
                 "negative", "lapsing", "archived", "shared", "shared", "lapsing"]
        roles = roles[:max(0, n - 3)] if n < 15 else roles
        if roles.count("shared") == 1:  # the shared IP needs both of its customers
            roles.remove("shared")
        flags: dict[int, _Flags] = {}
        shared = 0
        for pos, role in zip(order, roles, strict=False):
            f = _Flags()
            if role in ("penalty", "inactive"):
                f.status = role
            elif role == "pending":
                f.status, f.no_route = "pending_approval", True
            elif role == "archived":
                f.status, f.archived = "inactive", True
            elif role == "shared":
                shared += 1
                f.shared = shared
            else:
                setattr(f, role, True)
            flags[pos] = f
        return flags

    def _flags_for(self, idx: int) -> _Flags:
        if idx in self.flags:
            return self.flags[idx]
        rng, f = self.rng, _Flags()
        r = rng.random()
        first = idx < 40  # the first 40 already hold one of each case
        if r < 0.05:
            f.status = "inactive"
        elif r < 0.09:
            f.status = "pending_approval"
            f.no_route = rng.random() < 0.5
            f.no_auth = rng.random() < 0.3
        elif not first and r < 0.10:
            f.status = "penalty"
        elif not first and r < 0.115:
            f.status, f.archived = "inactive", True
        f.negative = rng.random() < 0.02
        f.lapsing = rng.random() < 0.06
        if not first:
            f.no_auth = f.no_auth or rng.random() < 0.01
            f.no_route = f.no_route or rng.random() < 0.01
        return f

    # names ----------------------------------------------------------------------------------
    def _name(self, idx: int, home: str) -> str:
        rng = self.rng
        if idx < len(_CURATED):
            base = _CURATED[idx]
        else:
            base = ""
            for _ in range(3):
                parts = [rng.choice(_NAME_A)]
                if rng.random() < 0.4:
                    parts.append(rng.choice(_NAME_B))
                parts.append(rng.choice(_NAME_C))
                r = rng.random()
                if r < 0.3:
                    parts.append(_LEGAL[home])
                elif r < 0.45:
                    parts.append(_AREA[home])
                base = " ".join(parts)
                if base.lower() not in self.names:
                    break
        name = base
        while name.lower() in self.names:
            n = self.name_n.get(base.lower(), 1) + 1
            self.name_n[base.lower()] = n
            name = f"{base} {n}"
        self.names.add(name.lower())
        return name

    def _domain(self, name: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower().translate(_ASCII)).strip("-")[:40]
        slug = slug.strip("-") or "customer"
        domain, n = f"{slug}.example", 1
        while domain in self.domains:
            n += 1
            domain = f"{slug}-{n}.example"
        self.domains.add(domain)
        return domain

    def _email(self, local: str, domain: str) -> str:
        email, n = f"{local}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def _number(self, region: str, kind: str | None = None) -> str:
        gens = self.cat.home_gens[region]
        if kind:
            gens = [g for g in gens if g.kind == kind] or gens
        g = self.rng.choice(gens)
        return g.prefix + _digits(self.rng, g.length - len(g.prefix))

    # one customer ---------------------------------------------------------------------------
    def make(self, idx: int) -> _Cust:
        rng, now, cat = self.rng, self.now, self.cat
        c = _Cust(idx)
        f = self._flags_for(idx)
        home, currency, _w, tz = self._homes[bisect.bisect(self._home_cw,
                                                          rng.random() * self._home_cw[-1])]
        if rng.random() < 0.12 and currency != "USD":
            currency = "USD"
        c.home, c.currency, c.tz, c.flags = home, currency, tz, f
        name = self._name(idx, home)
        domain = self._domain(name)
        days = self.opts.days
        if f.status == "pending_approval":
            created = now - timedelta(seconds=rng.randint(6 * 3600, 5 * 86400))
        else:
            created = now - timedelta(days=days + 3, seconds=rng.randint(0, 900 * 86400))
        updated = created + timedelta(seconds=rng.randint(0, int((now - created)
                                                                    .total_seconds())))
        archived_at = None
        if f.archived:
            archived_at = now - timedelta(seconds=rng.randint(2 * 86400, 10 * 86400))
            updated = archived_at
            c.stop_at = archived_at - timedelta(seconds=rng.randint(2 * 86400, 6 * 86400))
        elif f.status == "inactive":
            c.stop_at = now - timedelta(seconds=rng.randint(86400, 15 * 86400))
        if f.status == "penalty":
            c.penalty_start = now - timedelta(seconds=rng.randint(15 * 60, 90 * 60))
        c.created_at = created
        if f.negative:
            debit = Decimal(-rng.choice((5, 10, 25)))
        elif rng.random() < 0.35:
            debit = Decimal(rng.choice((100, 250, 500, 1000, 2500, 5000)))
        else:
            debit = Decimal(0)
        if home == "GB" and rng.random() < 0.6 or rng.random() < 0.08:
            tax = Decimal(20)
        elif home == "AE" or rng.random() < 0.04:
            tax = Decimal(5)
        else:
            tax = Decimal(0)
        city, postcode = rng.choice(_CITIES[home])
        street = f"{rng.randint(1, 240)} {rng.choice(_STREETS)}"
        unit = rng.choice(("Suite ", "Unit ", "Floor ", ""))
        lines = ([f"{unit}{rng.randint(1, 40)}"] if unit else []) + [
            street, f"{_fill(postcode, rng)} {city}".strip(), cat.country[home]]
        c.row = {
            "name": name, "name_key": name.lower(), "status": f.status,
            "archived_at": archived_at,
            "paypal_email": f"billing@{domain}" if rng.random() < 0.25 else "",
            "website": f"https://www.{domain}" if rng.random() < 0.5 else "",
            "debit_limit": debit, "tax_percent": tax, "currency": currency,
            "portal_access": rng.random() < 0.7,
            "channels": 0 if rng.random() < 0.25 else rng.choice(
                (10, 20, 30, 50, 100, 150, 200, 300, 500)),
            "flow_speed": 0 if rng.random() < 0.3 else rng.choice((5, 10, 20, 30, 50)),
            "address": "\n".join(lines),
            "notes_public": rng.choice(_NOTES_PUBLIC),
            "notes_private": rng.choice(_NOTES_PRIVATE),
            "balance": Decimal(0), "last_call_at": None, "search_text": "",
            "has_auth": False, "has_route": False,
            "version": 1, "created_at": created, "updated_at": updated,
        }
        c.debit_limit, c.tax = debit, tax
        c.status = f.status
        c.flow_speed = c.row["flow_speed"]
        c.channels = c.row["channels"]
        c.archived_at = archived_at
        c.domain = domain
        # contacts
        emails = []
        for i in range(rng.randint(1, 3)):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", "noc", "billing",
                                "rates")) if i else f"{first}.{last}"
            email = self._email(local.lower().translate(_ASCII), domain)
            emails.append(email)
            at = created + timedelta(seconds=rng.randint(0, 3600))
            c.contacts.append({
                "name": f"{first} {last}", "email": email,
                "phone": "+" + self._number(home, "mobile"),
                "notes_public": rng.choice(("", "", "Escalation contact", "Rates and billing")),
                "notes_private": rng.choice(("", "", "Prefers email", "Out of office Fridays")),
                "password_hash": "", "version": 1, "created_at": at, "updated_at": at})
        c.emails = emails
        # ingress authentication
        if not f.no_auth:
            hosts = []
            if f.shared:
                hosts.append(SHARED_IP)
            for _ in range(rng.choice((1, 1, 1, 2)) - (1 if f.shared else 0)):
                hosts.append(self.ips.cidr() if rng.random() < 0.06 else self.ips.single())
            if not hosts:
                hosts.append(self.ips.single())
            for host in hosts:
                maker, versions = rng.choice(_MANUFACTURERS)
                proto = rng.choice(("udp", "udp", "udp", "udp", "tcp", "tls"))
                c.auth.append({
                    "host": host, "direction": "ingress",
                    "channels": 0 if rng.random() < 0.6 else rng.choice((30, 60, 120, 240)),
                    "flow_speed": 0 if rng.random() < 0.7 else rng.choice((5, 10, 20)),
                    "codecs": rng.choice(_CODECS), "manufacturer": maker,
                    "sw_version": rng.choice(versions), "protocol": proto,
                    "port": 5061 if proto == "tls" else 5060,
                    "dial_pattern": "e164", "cli_prefix": "", "tech_prefix": "",
                    "strip_digits": 0, "bandwidth": 0 if rng.random() < 0.8 else 10240,
                    "force_from": "", "version": 1, "created_at": created,
                    "updated_at": created})
            if rng.random() < 0.3:
                for _ in range(rng.randint(1, 2)):
                    user = re.sub(r"[^a-z0-9]", "", name.lower().translate(_ASCII))[:14]
                    user = f"{user or 'user'}{rng.randint(100, 9999)}"
                    while user in self.users:
                        user = f"{user}{rng.randrange(10)}"
                    self.users.add(user)
                    for _ in range(16):  # draws kept: the rest of the demo stays as it was
                        rng.choice("abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY2345679")
                    c.sip.append({
                        "username": user, "password_hash": self.sip_hash(),
                        "ha1": passwords.ha1(user, DEMO_SIP_PASSWORD),
                        "channels": rng.choice((0, 0, 10, 30)), "flow_speed": 0,
                        "ip_whitelist": "" if rng.random() < 0.7 else _cidr(c.auth[0]["host"]),
                        "version": 1, "created_at": created, "updated_at": created})
        c.src_ips = [_source_ip(a["host"], rng) for a in c.auth] or [self.ips.single()]
        # routing: destinations the customer sends, and its ingress routes
        regions = [r for r in _REGIONS]
        focus = rng.sample(regions, rng.randint(3, 8))
        c.focus = tuple(r[0] for r in focus)
        c.dial_regions = c.focus[:rng.randint(2, 4)] if rng.random() < 0.12 else ()
        if not f.no_route:
            cards = cat.cards_by_currency[currency]
            premium = [k for k in cards if "Premium" in k.name]
            standard = [k for k in cards if "Standard" in k.name]
            first_card = (premium or standard)[0] if rng.random() < 0.4 else standard[0]
            plan = [first_card]
            if rng.random() < 0.35 and premium:
                plan.append(premium[0] if first_card is standard[0] else standard[0])
            techs = rng.sample(_TECH_PREFIXES, len(plan))
            if f.shared:
                techs = [f"{f.shared}{f.shared}{f.shared}{f.shared}#"] + techs[1:]
            elif rng.random() < 0.75:
                techs[0] = ""
            dial = ""
            if c.dial_regions:
                ccs = [cat.cc[r] for r in c.dial_regions]
                dial = ("^(" + "|".join(ccs) + ")") if rng.random() < 0.3 else "\n".join(ccs)
            for pos, (card, tech) in enumerate(zip(plan, techs, strict=True)):
                route = _Route(
                    card, tech, tuple(x for x in dial.split("\n") if x),
                    Decimal(rng.choice(("0.25", "0.30", "0.50"))) if rng.random() < 0.15
                    else None,
                    Decimal(rng.choice(("0.20", "0.25"))) if rng.random() < 0.1 else None,
                    rng.random() < 0.2, rng.random() < 0.05,
                    rng.choice((7200, 7200, 7200, 3600, 10800)),
                    1.0 if pos == 0 else rng.uniform(0.2, 0.6))
                route.row = {
                    "rate_card_id": card.id, "tech_prefix": tech, "dial_string": dial,
                    "capped_rate": route.capped, "provider_capped_rate": route.pcapped,
                    "profit_assurance": route.pa, "block_connect_cost": route.bcc,
                    "channels": 0 if rng.random() < 0.8 else rng.choice((20, 50)),
                    "flow_speed": 0, "max_duration": route.max_duration, "script_id": None,
                    "rtp_media_proxy": rng.choice(("auto", "auto", "auto", "direct")),
                    "rtp_proxy_mode": rng.choice(("relaxed", "relaxed", "strict")),
                    "enabled": True, "position": pos, "version": 1, "created_at": created,
                    "updated_at": created}
                c.routes.append(route)
        # CLI rules
        if rng.random() < 0.12:
            cc = cat.cc[home]
            rules = [(rf"^{cc}\d{{6,12}}$", "", "", False),
                     (r"^0(\d{9,10})$", cc + r"\1", "", False)]
            if rng.random() < 0.5:
                rules.append(("", self._number(home, "fixed"), "", True))
            for pos, (cli, rewrite, paid, forced) in enumerate(rules):
                c.cli_rules.append({"cli": cli, "rewrite_cli": rewrite, "p_asserted_id": paid,
                                    "forced": forced, "position": pos, "version": 1,
                                    "created_at": created, "updated_at": created})
        # DIDs
        if rng.random() < 0.2 and not f.no_auth:
            for _ in range(rng.randint(1, 4)):
                c.dids.append(self.did(home, c, created))
        # alerts
        c.penalty_alert = None
        if f.status == "penalty":
            c.alerts.append(self._alert("ASR below 20%", c, created, penalty=True))
        if f.lapsing or rng.random() < 0.3:
            c.alerts.append(self._alert("Low balance", c, created))
        if rng.random() < 0.25:
            title = rng.choice(("PDD above 6 s", "CPS spike", "Traffic stopped",
                                "Negative margin", "ACD under 30 s", "Daily balance report"))
            if all(a[0]["title"] != title for a in c.alerts):
                c.alerts.append(self._alert(title, c, created))
        # packages
        if rng.random() < 0.15:
            matching = [(pid, cur) for pid, cur in self.packages if cur == currency]
            if matching:
                pid, _cur = rng.choice(matching)
                start = max(created, now - timedelta(days=rng.randint(10, 200)))
                start = start.replace(hour=0, minute=0, second=0, microsecond=0)
                c.packages.append({
                    "package_id": pid, "quantity": rng.choice((1, 1, 1, 2, 3)),
                    "start": start, "end": None if rng.random() < 0.8
                    else start + timedelta(days=365), "auto_decrement": rng.random() < 0.9,
                    "version": 1, "created_at": start, "updated_at": start})
        c.cdr = (idx < self.cdr_limit and days > 0 and f.status != "pending_approval"
                 and bool(c.routes) and not f.no_auth)
        return c

    def did(self, home: str, c: _Cust | None, created: datetime) -> dict:
        rng, cat = self.rng, self.cat
        while True:
            number = self._number(home, "fixed")
            if number not in self.numbers:
                break
        self.numbers.add(number)
        provider = rng.choice(cat.providers)
        pcard = rng.choice(list(provider.cards.values()))
        cost = _d(rng.uniform(0.4, 2.5), 2)
        host = c.auth[0]["host"].split("/")[0] if c and c.auth else "203.0.113.250"
        return {
            "number": number,
            "destination": f"sip:{number}@{host}" if rng.random() < 0.7 else f"{host}:5060",
            "destination2": f"sip:{number}@{c.src_ips[-1]}" if c and rng.random() < 0.3 else "",
            "destination3": "", "provider_id": provider.id, "provider_card_id": pcard.id,
            "customer_id": None,
            "customer_card_id": (cat.cards_by_currency[c.currency][-1].id if c else None),
            "monthly_cost": cost,
            "monthly_retail": _q(cost * _d(rng.uniform(1.5, 3.0), 2), 2) if c else Decimal(0),
            "max_duration": rng.choice((7200, 14400)), "enabled": rng.random() < 0.95,
            "version": 1, "created_at": created, "updated_at": created}

    def _alert(self, title: str, c: _Cust, created: datetime,
               penalty: bool = False) -> tuple[dict, list[dict]]:
        rng, now = self.rng, self.now
        recipients = ", ".join(c.emails[:2] + (["+" + self._number(c.home, "mobile")]
                                              if rng.random() < 0.2 else []))
        spec = {  # area, operator, threshold, reset, sample, min attempts, repeat
            "ASR below 20%": ("asr", "<", "20", "30", 60, 50, "hourly"),
            "Low balance": ("balance", "<", "50", "100", 5, 0, "daily"),
            "PDD above 6 s": ("pdd", ">", "6000", "4000", 30, 30, "hourly"),
            "CPS spike": ("cps", ">=", str(c.flow_speed or 20), None, 1, 0, "hourly"),
            "Traffic stopped": ("attempts", "=", "0", None, 60, 0, "hourly"),
            "Negative margin": ("profit", "<", "0", None, 1440, 0, "daily"),
            "ACD under 30 s": ("acd", "<", "30", "45", 60, 50, "hourly"),
            "Daily balance report": ("balance", "always", "0", None, 1440, 0, "daily"),
        }[title]
        area, op, threshold, reset, sample, min_attempts, repeat = spec
        row = {"title": title, "recipients": recipients, "area": area, "operator": op,
               "threshold": Decimal(threshold),
               "reset_threshold": Decimal(reset) if reset is not None else None,
               "sample_minutes": sample, "min_attempts": min_attempts,
               "penalty_minutes": 120 if penalty else None, "repeat": repeat,
               "enabled": True, "state": "ready", "last_fired_at": None,
               "penalty_until": None, "version": 1, "created_at": created,
               "updated_at": created}
        events = []
        if penalty and c.penalty_start is not None:
            row.update(state="penalty", last_fired_at=c.penalty_start,
                       penalty_until=c.penalty_start + timedelta(minutes=120))
            asr = _d(rng.uniform(8, 17), 1)
            events.append({"at": c.penalty_start, "value": f"{asr}%",
                           "message": f"ASR {asr}% < 20% over 60 min; penalty for 120 min"})
        elif title == "Low balance" and c.flags.lapsing:
            fired = now - timedelta(seconds=rng.randint(3600, 20 * 3600))
            row.update(state="fired", last_fired_at=fired)
            events.append({"at": fired, "value": threshold,
                           "message": f"balance below {threshold} {c.currency}; "
                                      f"mailed {recipients}"})
        return row, events


def _cum(weights):
    total = 0.0
    for w in weights:
        total += w
        yield total


def _source_ip(host: str, rng: random.Random) -> str:
    if "/" not in host:
        return host
    net = ipaddress.ip_network(host, strict=False)
    return str(net.network_address + rng.randint(1, net.num_addresses - 2))


def _full(table, rows: list[dict]) -> list[dict]:
    """Every row with every column but the key (Core defaults filled, keys uniform)."""
    defaults = {c.name: c.default.arg for c in table.columns
                if c.default is not None and c.default.is_scalar}
    return [{**defaults, **r} for r in rows]


async def _insert(session: AsyncSession, model, rows: list[dict], *,
                  returning: bool = False) -> list[int]:
    """Executemany insert in slices; `returning` numbers the rows after max(id) and says so.

    Explicit keys instead of RETURNING: SQLite answers an ordered RETURNING one row per
    statement, which is 30x slower. The seed is the only writer (same transaction), and
    `_fix_sequences` moves PostgreSQL's sequences past the keys at the end.
    """
    if not rows:
        return []
    table = model.__table__
    rows = _full(table, rows)
    ids: list[int] = []
    if returning:
        first = (await session.scalar(select(func.max(table.c.id))) or 0) + 1
        ids = list(range(first, first + len(rows)))
        rows = [{**r, "id": i} for i, r in zip(ids, rows, strict=True)]
    for i in range(0, len(rows), 5000):
        await session.execute(insert(table), rows[i:i + 5000])
    return ids


_NUMBERED = (Provider, RateCard, Package, Customer, IpAuth, IngressRoute, Alert, Payment)


async def _fix_sequences(session: AsyncSession) -> None:
    """PostgreSQL: next ids after the explicit ones `_insert` wrote (SQLite needs nothing)."""
    if session.bind.dialect.name != "postgresql":
        return
    for model in _NUMBERED:
        name = model.__tablename__
        await session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name} "
            "HAVING max(id) IS NOT NULL"))


# --------------------------------------------------------------------------------------------
# Payments
# --------------------------------------------------------------------------------------------

class _Payments:
    """Payment rows plus their ledger credits, posted at the time they were paid."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.count = 0
        self.invoice = 1000

    def make(self, c: _Cust, gross: Decimal, at: datetime, status: str = "completed",
             invoice: bool = False) -> dict:
        rng = self.rng
        method = rng.random()
        if invoice:
            self.invoice += 1
            desc, fee = f"Invoice INV-{at.year}-{self.invoice:05d} settled by wire", Decimal(0)
        elif method < 0.5:
            desc = f"Wire transfer ref WT{rng.randint(100000, 999999)}"
            fee = Decimal("25.00") if gross >= 2500 else Decimal(0)
        elif method < 0.8:
            desc = f"PayPal top-up {_digits(rng, 4)}-{_digits(rng, 8)}"
            fee = _q(gross * Decimal("0.034") + Decimal("0.35"), 2)
        else:
            desc, fee = "Card payment", _q(gross * Decimal("0.029"), 2)
        if rng.random() < 0.15:
            desc += rng.choice((" # checked by noc1", " # paid late, reminded twice",
                                " # bank confirmed", " # first payment after approval"))
        _net, tax = net_of_tax(gross, c.tax)
        self.count += 1
        return {"customer_id": c.id, "description": desc, "amount": gross, "fee": fee,
                "tax": tax, "status": status, "paid_at": at, "version": 1, "created_at": at,
                "updated_at": at}

    async def write(self, session: AsyncSession, rows: list[dict],
                    adjusts: list[tuple[int, Decimal, str, datetime]], *,
                    bulk: bool = False) -> None:
        """Insert payments; credit completed ones net of tax; post adjustments.

        The history posts through `ledger.post_many` (a few entries at a time). The set-up
        pass credits thousands of customers at once, each entry at its own time: `bulk`
        writes the same ledger rows and balance moves with one executemany each.
        """
        ids = await _insert(session, Payment, rows, returning=True)
        entries: list[tuple] = []
        for pid, r in zip(ids, rows, strict=True):
            if r["status"] == "completed":
                entries.append((r["paid_at"], r["customer_id"], "payment",
                                r["amount"] - r["tax"], f"payment:{pid}",
                                r["description"].split("#")[0].strip()))
        entries += [(at, cid, "adjust", amount, "", note) for cid, amount, note, at in adjusts]
        if bulk:
            await ledger.post_timed(session, entries)
            return
        by_at: dict[datetime, list[tuple]] = {}
        for at, *entry in entries:
            by_at.setdefault(at, []).append(tuple(entry))
        for at in sorted(by_at):
            await ledger.post_many(session, by_at[at], at=at)


# --------------------------------------------------------------------------------------------
# Traffic
# --------------------------------------------------------------------------------------------

class _Traffic:
    """Per-customer traffic profile (drawn from its own stream: independent of the rest)."""

    def __init__(self, c: _Cust, cat: _Catalogue, seed: int):
        rng = self.rng = random.Random(f"{seed}:traffic:{c.idx}")
        self.c = c
        u = rng.random()
        self.base = 20 * (20 ** (u ** 1.5))  # 20..400 attempts a day, most at the low end
        self.asr = rng.uniform(0.44, 0.6) if rng.random() > 0.08 else rng.uniform(0.28, 0.36)
        self.acd = rng.uniform(120, 240)
        self.pdd = rng.uniform(1500, 3400)
        self.burst = rng.uniform(0.0, 0.05)
        weights: list[float] = []
        gens: list[_Gen] = []
        pop = {r[0]: r[4] for r in _REGIONS}
        allowed = set(c.dial_regions)
        focus = set(c.focus)
        for g in cat.gens:
            if allowed and g.region not in allowed:
                continue
            if g.kind == "special":
                w = 0.0 if allowed else 0.08
            else:
                w = pop[g.region] * g.share * (12.0 if g.region in focus else 1.0)
            if w > 0:
                gens.append(g)
                weights.append(w)
        self.gens = gens
        self.cw = list(_cum(weights))
        codes = [(200, self.asr)] + [(code, w * (1 - self.asr)) for code, w in _CODE_WEIGHTS]
        self.codes = [code for code, _ in codes]
        self.code_cw = list(_cum([w for _, w in codes]))
        self.route_cw = list(_cum([r.weight for r in c.routes]))
        self.home_gens = cat.home_gens[c.home]
        hours = [_DIURNAL[(h + c.tz) % 24] for h in range(24)]
        self.hour_w = hours
        # expected spend a day, to size top-ups and credit limits
        sample = rng.choices(gens, cum_weights=self.cw, k=200)
        card = c.routes[0].card
        later = datetime.max.replace(tzinfo=UTC)
        rates = [card.lookup(g.prefix + "5" * (g.length - len(g.prefix)), later)
                 for g in sample]
        mean_rate = sum(float(r.rate) for r in rates if r and not r.blocked) / 200
        self.per_day = max(1.0, self.base * self.asr * self.acd / 60 * mean_rate * 1.1)
        self.est = self.per_day
        self.pay_day = rng.randrange(7)

    def attempts(self, start: datetime, end: datetime, last: bool) -> list:
        """Raw attempts in [start, end): (t, seq, kind, payload)."""
        rng, c = self.rng, self.c
        midday = start + timedelta(hours=12)
        factor = (0.75, 0.65)[midday.weekday() - 5] if midday.weekday() >= 5 else 1.0
        n = int(self.base * factor * rng.lognormvariate(0, 0.25))
        cw = list(_cum(self.hour_w[(start.hour + j) % 24] for j in range(24)))
        span = (end - start).total_seconds() * 1000
        offsets = []
        for _ in range(n):
            j = bisect.bisect(cw, rng.random() * cw[-1])
            off = int((j + rng.random()) * 3_600_000)
            if off < span:
                offsets.append(off)
                if rng.random() < self.burst:  # a dialler fires several in one second
                    offsets.extend([off] * rng.randint(1, 4))
        if last and c.status == "active":
            for _ in range(rng.randint(1, 3)):  # the last hour: "3 min ago"
                offsets.append(int(span - rng.uniform(90, 3000) * 1000))
        offsets.sort()
        out = []
        for off in offsets:
            t = start + timedelta(milliseconds=off)
            out.append((t, c.idx, 1, self._detail(t)))
        return out

    def _detail(self, t: datetime):
        rng, c = self.rng, self.c
        g = self.gens[bisect.bisect(self.cw, rng.random() * self.cw[-1])]
        number = g.prefix + _digits(rng, g.length - len(g.prefix))
        route = c.routes[bisect.bisect(self.route_cw, rng.random() * self.route_cw[-1])
                         if len(c.routes) > 1 else 0]
        asr_cw = self.code_cw
        if c.penalty_start is not None and t > c.penalty_start - timedelta(hours=3):
            r = rng.random() * asr_cw[-1]
            code = 200 if r < 0.12 else self.codes[1 + int(rng.random() * 9)]
        else:
            code = self.codes[bisect.bisect(asr_cw, rng.random() * asr_cw[-1])]
        hg = self.home_gens[int(rng.random() * len(self.home_gens))]
        cli = hg.prefix + _digits(rng, hg.length - len(hg.prefix))
        return (number, route, code, cli, rng.random(), rng.random(), rng.random(),
                rng.random(), rng.getrandbits(128))


class _History:
    """Walks every attempt and payment in time order; rates, admits and writes them."""

    def __init__(self, db: Database, cat: _Catalogue, custs: list[_Cust], opts: DemoOptions,
                 now: datetime, payments: _Payments, progress: Progress | None,
                 base: int, total: int):
        self.db, self.cat, self.custs, self.opts, self.now = db, cat, custs, opts, now
        self.payments = payments
        self.rng = random.Random(f"{opts.seed}:history")
        self.traffic = {c.idx: _Traffic(c, cat, opts.seed) for c in custs}
        self.by_idx = {c.idx: c for c in custs}
        self.cdrs: list[CdrInput] = []
        self.pay_rows: list[dict] = []
        self.adjusts: list[tuple[int, Decimal, str, datetime]] = []
        self.count = 0
        self.progress, self.base, self.total = progress, base, total
        self.second: datetime | None = None
        self.per_second: dict[int, int] = {}
        self.step = _cdr_count(opts) * DAY_WEIGHT

    async def run(self) -> None:
        opts, now, rng = self.opts, self.now, self.rng
        start = now - timedelta(days=opts.days)
        for c in self.custs:  # opening deposit, and the odd pending/cancelled payment
            t = self.traffic[c.idx]
            paid = start - timedelta(seconds=rng.randint(3600, 4 * 86400))
            gross = _nice(t.per_day * 10 * float(1 + c.tax / 100))
            self._pay(c, gross, paid)
            if c.flags.lapsing:
                c.lapse_day = max(0, opts.days - rng.randint(2, 8))
            if c.archived_at is not None:
                continue
            if rng.random() < 0.2:
                self._pay(c, _nice(t.per_day * 10), now - timedelta(
                    seconds=rng.randint(3600, 30 * 3600)), status="pending", credit=False)
            if rng.random() < 0.12:
                self._pay(c, _nice(t.per_day * 10), start + timedelta(
                    seconds=rng.randint(0, opts.days * 86400 - 1)), status="cancelled",
                    credit=False)
        for k in range(opts.days):
            s = start + timedelta(days=k)
            e = s + timedelta(days=1)
            events = []
            for c in self.custs:
                events += self._top_ups(c, k, s)
                events += self._adjust(c, s)
                events += self.traffic[c.idx].attempts(s, e, k == opts.days - 1)
            events.sort(key=lambda ev: (ev[0], ev[1], ev[2]))
            spent = {c.idx: c.spent for c in self.custs}
            for ev in events:
                await self._event(ev)
            for c in self.custs:
                t = self.traffic[c.idx]
                day = float(c.spent - spent[c.idx])
                t.est = max(1.0, 0.6 * t.est + 0.4 * day)
            if self.progress:
                self.progress(self.base + (k + 1) * self.step, self.total)
        await self.flush()

    def _pay(self, c: _Cust, gross: Decimal, at: datetime, *, status: str = "completed",
             credit: bool = True, invoice: bool = False) -> None:
        row = self.payments.make(c, gross, at, status, invoice)
        if credit and status == "completed":
            c.balance += gross - row["tax"]
        self.pay_rows.append(row)

    def _top_ups(self, c: _Cust, k: int, s: datetime) -> list:
        rng, t = self.rng, self.traffic[c.idx]
        if c.lapse_day is not None and k >= c.lapse_day:
            return []
        if c.stop_at is not None and s > c.stop_at:
            return []
        available = c.balance + c.debit_limit
        at = s + timedelta(seconds=rng.randint(3600, 10 * 3600))
        factor = float(1 + c.tax / 100)
        if c.debit_limit > 0:  # post-paid: settles its invoice weekly, early when near limit
            owed = max(-c.balance, Decimal(0))
            if available < Decimal(3 * t.est):
                owed += Decimal(str(round(7 * t.est, 2)))
            elif not (k % 7 == t.pay_day and owed):
                return []
            gross = _q(owed * (1 + c.tax / 100), 2, ROUND_CEILING)
            return [(at, c.idx, 0, ("pay", gross, True))]
        elif available < Decimal(3 * t.est):
            return [(at, c.idx, 0, ("pay", _nice(t.est * 7 * factor), False))]
        return []

    def _adjust(self, c: _Cust, s: datetime) -> list:
        rng = self.rng
        if rng.random() >= 0.006 or (c.stop_at is not None and s > c.stop_at):
            return []
        at = s + timedelta(seconds=rng.randint(9 * 3600, 18 * 3600))
        if rng.random() < 0.6:
            amount, note = Decimal(rng.choice(("5.00", "10.00", "25.00"))), (
                f"Goodwill credit: outage on {s.date().isoformat()}")
        else:
            amount, note = -Decimal(rng.choice(("1.25", "2.50", "7.80"))), (
                "Correction: test calls rated twice")
        return [(at, c.idx, 0, ("adjust", amount, note))]

    async def _event(self, ev) -> None:
        t, idx, kind, payload = ev
        c = self.by_idx[idx]
        if kind == 0:
            if payload[0] == "pay":
                self._pay(c, payload[1], t, invoice=payload[2])
            else:
                c.balance += payload[1]
                self.adjusts.append((c.id, payload[1], payload[2], t))
            return
        cdr = self._rate(c, t, payload)
        if cdr is None:
            return
        self.cdrs.append(cdr)
        if len(self.cdrs) >= BATCH:
            await self.flush()

    def _rate(self, c: _Cust, t: datetime, detail) -> CdrInput | None:
        number, route, code, cli, u1, u2, u3, u4, bits = detail
        now, cat = self.now, self.cat
        rng = self.rng
        call_id = str(uuid.UUID(int=bits, version=4))
        switch = SWITCHES[int(u4 * 2)]
        src = c.src_ips[int(u3 * len(c.src_ips))]
        common = {"call_id": call_id, "customer_id": c.id, "started_at": t,
                  "dialled": number, "cli_in": cli, "cli_out": cli, "switch_ip": switch,
                  "source_ip": src, "route_id": route.id}

        def reject(sip: int, reason: str, row: _Row | None = None) -> CdrInput:
            end = t + timedelta(milliseconds=5 + int(u1 * 40))
            extra = {}
            if row is not None:
                extra = {"prefix": row.prefix, "destination": row.destination,
                         "rate": row.rate, "connect_fee": row.fee,
                         "charge": route.card.zero}
            return CdrInput(**common, ended_at=end, sip_code=sip, sip_reason=reason,
                            release_reason="rejected", **extra)

        if c.penalty_start is not None and t >= c.penalty_start:
            return reject(403, "Account Penalty")
        if c.stop_at is not None and t >= c.stop_at:
            if t > c.stop_at + timedelta(hours=12):
                return None  # their switch gave up retrying
            return reject(403, "Account Inactive")
        if c.balance + c.debit_limit <= 0:
            return reject(402, "Payment Required")
        if c.flow_speed:
            second = t.replace(microsecond=0)
            if second != self.second:
                self.second, self.per_second = second, {}
            n = self.per_second[c.idx] = self.per_second.get(c.idx, 0) + 1
            if n > c.flow_speed:
                return reject(503, "CPS Limit (customer)")
        if route.dial and not any(re.match(d, number) if d.startswith("^")
                                  else number.startswith(d) for d in route.dial):
            return reject(503, "Blocked by Dial Plan")
        row = route.card.lookup(number, t)
        if row is None:
            return reject(503, "No Routes Available (Pre)")
        if row.blocked:
            return reject(503, "Destination Blocked", row)
        if route.capped is not None and row.rate > route.capped:
            return reject(503, "Capped Rate", row)
        if row.fee and route.bcc:
            return reject(503, "Connect Cost Blocked", row)
        options = [o for o in cat.options(route.card, row, t)
                   if (route.pcapped is None or o[0].rate <= route.pcapped)
                   and (not route.pa or o[0].rate <= row.rate)]
        if not options:
            return reject(503, "No Routes Available", row)
        prow, pcard = options[1] if len(options) > 1 and u2 < 0.2 else options[0]
        answered_at = None
        pdd = None
        duration_ms = billed = 0
        charge, cost = route.card.zero, pcard.zero
        release = _RELEASE.get(code, "")
        if code in _RANG:
            pdd = min(6000, max(800, int(rng.lognormvariate(0, 0.35)
                                         * self.traffic[c.idx].pdd)))
        if code == 200:
            ring = _between(rng, 2000, 18000)
            answered_at = t + timedelta(milliseconds=pdd + ring)
            if rng.random() < 0.12:
                duration_ms = _between(rng, 1000, 15000)
            else:
                duration_ms = int(rng.expovariate(1 / self.traffic[c.idx].acd) * 1000) + \
                    _between(rng, 1, 999)
            release = "callee_bye" if rng.random() < 0.55 else "caller_bye"
            if duration_ms > route.max_duration * 1000:
                duration_ms, release = route.max_duration * 1000, "max_duration"
            end = answered_at + timedelta(milliseconds=duration_ms)
            secs = billable_seconds(duration_ms)
            billed = billed_seconds(secs, row.mcd, row.pulse)
            charge = call_charge(billed, row.rate, row.fee, answered=True,
                                 precision=route.card.precision, rounding=route.card.rounding)
            cost = call_charge(billed_seconds(secs, prow.mcd, prow.pulse), prow.rate, prow.fee,
                               answered=True, precision=pcard.precision,
                               rounding=pcard.rounding)
        elif code == 480:
            end = t + timedelta(milliseconds=pdd + _between(rng, 20000, 60000))
        elif code == 487:
            end = t + timedelta(milliseconds=pdd + _between(rng, 2000, 25000))
        elif code == 603:
            end = t + timedelta(milliseconds=pdd + _between(rng, 2000, 15000))
        elif code == 408:
            end = t + timedelta(milliseconds=32000)
        else:
            end = t + timedelta(milliseconds=_between(rng, 80, 1500))
        if end > now:
            return None  # still up at `now`: not a CDR yet
        c.balance -= charge
        c.spent += charge
        return CdrInput(**common, ended_at=end, sip_code=code, sip_reason=_REASON[code],
                        answered_at=answered_at, duration_ms=duration_ms, billed_s=billed,
                        prefix=row.prefix, destination=row.destination, rate=row.rate,
                        connect_fee=row.fee, charge=charge, provider_cost=cost,
                        release_reason=release, pdd_ms=pdd, provider_id=pcard.provider.id)

    async def flush(self) -> None:
        if not self.cdrs and not self.pay_rows and not self.adjusts:
            return
        async with self.db.sessions() as s, s.begin():
            if self.pay_rows or self.adjusts:
                await self.payments.write(s, self.pay_rows, self.adjusts)
            if self.cdrs:
                at = max(c.ended_at for c in self.cdrs)
                await write_batch(s, self.cdrs, at=at)
        self.count += len(self.cdrs)
        self.cdrs, self.pay_rows, self.adjusts = [], [], []


# --------------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------------

async def seed(db: Database, opts: DemoOptions, progress: Progress | None = None) -> str:
    """Fill an empty database with the demo; returns a one-line summary."""
    now = opts.now.astimezone(UTC)
    async with db.sessions() as s:
        for model in (Customer, Provider, RateCard):
            if await s.scalar(select(func.count()).select_from(model)):
                raise DemoError(f"the database already has {model.__tablename__}: the demo "
                                "needs an empty database")
    rng = random.Random(f"{opts.seed}:static")
    cat = _Catalogue(rng, now)
    # progress units: one per customer set up, DAY_WEIGHT per customer-day of history
    total = opts.customers + opts.days * _cdr_count(opts) * DAY_WEIGHT + 1
    done = 0
    if progress:
        progress(0, total)

    async with db.sessions() as s, s.begin():
        await _write_world(s, cat, now)
        packages = await _write_packages(s, now)
    factory = _Factory(rng, cat, opts, now, packages)
    payments = _Payments(random.Random(f"{opts.seed}:payments"))
    cdr_custs: list[_Cust] = []
    pool: list[_Cust] = []  # candidates for the routing showcase
    all_ids: list[int] = []
    for start in range(0, opts.customers, CHUNK):
        chunk = [factory.make(i) for i in range(start, min(opts.customers, start + CHUNK))]
        async with db.sessions() as s, s.begin():
            await _write_customers(s, chunk, cat, factory, payments, now, opts)
            await _fix_sequences(s)
        all_ids += [c.id for c in chunk]
        cdr_custs += [c for c in chunk if c.cdr]
        pool += [c for c in chunk if c.idx < 40]
        for c in chunk:
            if not c.cdr:
                c.row = {}
        done += len(chunk)
        if progress:
            progress(done, total)
    async with db.sessions() as s, s.begin():  # numbers in stock, not sold yet
        await _insert(s, Did, [factory.did("GB" if i % 2 else "US", None, now - timedelta(
            days=opts.days + 30)) for i in range(min(25, 5 + opts.customers // 4))])
    history = _History(db, cat, cdr_custs, opts, now, payments, progress, done, total)
    await history.run()
    async with db.sessions() as s, s.begin():
        await _write_dialogs(s, cat, cdr_custs, history, now)
        await search.reindex(s, all_ids)
        await _fix_sequences(s)
        showcase = await write_showcase(s, cat, pool, now, opts.seed)
    sims = await simulate_showcase(db, showcase, now, opts.seed)
    if progress:
        progress(total, total)
    return (f"{opts.customers:,} customers, {history.count:,} CDRs, "
            f"{payments.count:,} payments, {sims} simulations")


def _cdr_count(opts: DemoOptions) -> int:
    limit = opts.customers if opts.cdr_customers is None else opts.cdr_customers
    return max(1, min(opts.customers, limit))


async def _write_world(s: AsyncSession, cat: _Catalogue, now: datetime) -> None:
    long_ago = now - timedelta(days=400)
    existing = set((await s.scalars(select(Operator.name))).all())
    await _insert(s, Operator, [
        {"name": n, "role": r, "version": 1, "created_at": long_ago, "updated_at": long_ago}
        for n, r in (("admin", "admin"), ("noc1", "operator"), ("viewer", "viewer"))
        if n not in existing])
    ids = await _insert(s, Provider, [
        {"name": p.name, "status": "active", "host": p.host,
         "channels": 2000 if p.covers_all else 600, "flow_speed": 200 if p.covers_all else 60,
         "version": 1, "created_at": long_ago, "updated_at": long_ago}
        for p in cat.providers], returning=True)
    cards: list[_Card] = []
    for pid, p in zip(ids, cat.providers, strict=True):
        p.id = pid
        cards += list(p.cards.values())
    cards += cat.customer_cards
    card_ids = await _insert(s, RateCard, [
        {"name": k.name, "currency": k.currency, "direction": k.direction,
         "precision": k.precision, "rounding": k.rounding,
         "provider_id": k.provider.id if k.provider else None, "version": 1,
         "created_at": long_ago, "updated_at": long_ago} for k in cards], returning=True)
    rows = []
    for cid, k in zip(card_ids, cards, strict=True):
        k.id = cid
        rows += [{"card_id": cid, "prefix": r.prefix, "destination": r.destination,
                  "rate": r.rate, "connect_fee": r.fee, "mcd": r.mcd, "pulse": r.pulse,
                  "blocked": r.blocked, "effective_from": r.eff} for r in k.rows]
    await _insert(s, RateRow, rows)
    await _insert(s, RateCardParent, [
        {"customer_card_id": k.id, "provider_card_id": p.id}
        for k in cat.customer_cards for p in cat.provider_cards(k.currency)])


async def _write_packages(s: AsyncSession, now: datetime) -> list[tuple[int, str]]:
    at = now - timedelta(days=365)
    rows = [{"name": name, "kind": kind, "currency": cur, "cost": Decimal(cost),
             "retail": Decimal(retail), "setup_cost": Decimal(sc), "setup_retail": Decimal(sr),
             "frequency": freq, "match_days": days, "minimum_spend": Decimal(minimum),
             "free_minutes": free, "destination_regex": regex, "version": 1,
             "created_at": at, "updated_at": at}
            for (name, kind, cur, cost, retail, sc, sr, freq, days, minimum, free,
                 regex) in _PACKAGES]
    ids = await _insert(s, Package, rows, returning=True)
    return [(pid, r["currency"]) for pid, r in zip(ids, rows, strict=True)]


async def _write_customers(s: AsyncSession, chunk: list[_Cust], cat: _Catalogue,
                           factory: _Factory, payments: _Payments, now: datetime,
                           opts: DemoOptions) -> None:
    for c in chunk:
        if c.cdr and c.debit_limit > 0:  # post-paid credit that fits the traffic
            t = _Traffic(c, cat, opts.seed)
            c.debit_limit = c.row["debit_limit"] = _nice(t.per_day * 14)
    ids = await _insert(s, Customer, [c.row for c in chunk], returning=True)
    for cid, c in zip(ids, chunk, strict=True):
        c.id = cid
    contacts, auth, auth_owner, sip, routes, rules, dids, pkgs = [], [], [], [], [], [], [], []
    alerts, audit = [], []
    for c in chunk:
        for r in c.contacts:
            contacts.append({**r, "customer_id": c.id})
        for r in c.auth:
            auth.append({**r, "customer_id": c.id})
            auth_owner.append(c)
        sip += [{**r, "customer_id": c.id} for r in c.sip]
        for route in c.routes:
            route.row["rate_card_id"] = route.card.id
            routes.append((route, {**route.row, "customer_id": c.id}))
        rules += [{**r, "customer_id": c.id} for r in c.cli_rules]
        dids += [{**r, "customer_id": c.id} for r in c.dids]
        pkgs += [{**r, "customer_id": c.id} for r in c.packages]
        alerts += [({**row, "customer_id": c.id}, ev) for row, ev in c.alerts]
        after = {k: v for k, v in c.row.items() if k not in ("balance", "last_call_at",
                                                              "has_auth", "has_route")}
        after["archived_at"] = None
        audit.append({"at": c.created_at, "operator": "admin", "action": "create",
                      "table_name": "customers", "row_id": c.id, "customer_id": c.id,
                      "changes": json.dumps(diff(None, after), ensure_ascii=False)})
        if c.archived_at is not None:
            audit.append({"at": c.archived_at, "operator": "admin", "action": "archive",
                          "table_name": "customers", "row_id": c.id, "customer_id": c.id,
                          "changes": json.dumps(diff({"archived_at": None},
                                                     {"archived_at": c.archived_at}))})
    await _insert(s, Contact, contacts)
    for aid, c in zip(await _insert(s, IpAuth, auth, returning=True), auth_owner, strict=True):
        c.auth_ids.append(aid)
    await _insert(s, SipUser, sip)
    route_ids = await _insert(s, IngressRoute, [r for _, r in routes], returning=True)
    for rid, (route, _row) in zip(route_ids, routes, strict=True):
        route.id = rid
    await _insert(s, CliRule, rules)
    await _insert(s, Did, dids)
    await _insert(s, CustomerPackage, pkgs)
    alert_ids = await _insert(s, Alert, [a for a, _ in alerts], returning=True)
    await _insert(s, AlertEvent, [{**e, "alert_id": aid}
                                  for aid, (_a, evs) in zip(alert_ids, alerts, strict=True)
                                  for e in evs])
    await _insert(s, AuditEntry, audit)
    # payments of customers without a traffic history (those with one pay as they go)
    rng = payments.rng
    rows: list[dict] = []
    adjusts: list[tuple[int, Decimal, str, datetime]] = []
    for c in chunk:
        if c.cdr:
            continue
        end = c.archived_at or now
        if c.status == "pending_approval":
            if rng.random() < 0.3:
                rows.append(payments.make(c, _nice(rng.uniform(50, 500)), end - timedelta(
                    seconds=rng.randint(600, 3 * 3600)), "pending"))
            continue
        first = c.created_at + timedelta(seconds=rng.randint(3600, 3 * 86400))
        if first < end:
            rows.append(payments.make(c, _nice(rng.uniform(50, 2500)), first))
        since = max(first, now - timedelta(days=max(opts.days, 30)))
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            at = since + timedelta(seconds=rng.randint(0, max(1, int(
                (end - since).total_seconds()) - 1)))
            status = rng.choices(("completed", "pending", "cancelled"), (85, 8, 7))[0]
            if at < end:
                rows.append(payments.make(c, _nice(rng.uniform(50, 1500)), at, status))
        if rng.random() < 0.04 and first < end:
            adjusts.append((c.id, Decimal("10.00"), "Welcome credit", first))
    await payments.write(s, rows, adjusts, bulk=True)


async def _write_dialogs(s: AsyncSession, cat: _Catalogue, custs: list[_Cust],
                         history: _History, now: datetime) -> None:
    rng = random.Random(f"{history.opts.seed}:dialogs")
    rows = []
    live_customers = 0
    for c in custs:
        if c.status != "active" or c.balance + c.debit_limit <= 0:
            continue
        if rng.random() < 0.7 and live_customers >= 3:
            continue
        live_customers += 1
        t = history.traffic[c.idx]
        live = rng.randint(1, min(4, c.channels or 4))
        for _ in range(live):
            g = t.gens[bisect.bisect(t.cw, rng.random() * t.cw[-1])]
            number = g.prefix + _digits(rng, g.length - len(g.prefix))
            route = c.routes[0]
            row = route.card.lookup(number, now)
            if row is None or row.blocked:
                continue
            options = cat.options(route.card, row, now)
            hg = rng.choice(t.home_gens)
            state = rng.choices(("answered", "ringing", "trying"), (75, 17, 8))[0]
            age = rng.randint(20, 480) if state == "answered" else rng.randint(1, 25)
            started = now - timedelta(seconds=age, milliseconds=rng.randint(0, 999))
            answered = (started + timedelta(milliseconds=rng.randint(2500, 15000))
                        if state == "answered" else None)
            rows.append({
                "call_id": _call_id(rng), "customer_id": c.id,
                "ip_auth_id": c.auth_ids[0] if c.auth_ids else None, "route_id": route.id,
                "provider_id": options[0][1].provider.id if options else None,
                "dialled": number, "cli": hg.prefix + _digits(rng, hg.length - len(hg.prefix)),
                "state": state, "started_at": started, "answered_at": answered})
    await _insert(s, Dialog, rows)


def _cidr(host: str) -> str:
    """A whitelist entry in the form the SIP-user validator stores (192.0.2.41/32)."""
    return host if "/" in host else f"{host}/{128 if ':' in host else 32}"

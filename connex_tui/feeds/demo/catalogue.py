"""The demo's price world: destinations from real calling codes (phonenumbers), providers
with their cards, customer cards built over the cheapest provider rate, and packages.

Everything is drawn from the `random.Random` the seeder passes in: the same seed gives the
same catalogue.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

import phonenumbers
from phonenumbers import PhoneNumberType

from connex_tui.data import seed_rows
from connex_tui.feeds.demo.draws import dec, quantize

CURRENCY_RATE = {"USD": Decimal("1"), "EUR": Decimal("0.92"), "GBP": Decimal("0.79"),
                 "CAD": Decimal("1.37")}
# region, fixed and mobile cost in USD per minute (what carriers charge), increments,
# popularity as a destination. Increments: "6" 6/6, "1" 1/1, "60" 60/60, "30" 30/6.
REGIONS = (
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

# --------------------------------------------------------------------------------------------
# Rate cards in memory (what the database gets, plus a longest-prefix lookup for rating)
# --------------------------------------------------------------------------------------------

class Rate:
    __slots__ = ("prefix", "destination", "rate", "fee", "mcd", "pulse", "blocked", "eff")

    def __init__(self, prefix, destination, rate, fee, mcd, pulse, blocked=False, eff=None):
        self.prefix, self.destination, self.rate, self.fee = prefix, destination, rate, fee
        self.mcd, self.pulse, self.blocked, self.eff = mcd, pulse, blocked, eff


class Card:
    def __init__(self, name, currency, direction, precision, rounding, provider=None):
        self.id = 0
        self.name, self.currency, self.direction = name, currency, direction
        self.precision, self.rounding, self.provider = precision, rounding, provider
        self.rows: list[Rate] = []
        self.table: dict[str, tuple[Rate, ...]] = {}
        self.maxlen = 0

    def add(self, row: Rate) -> None:
        self.rows.append(row)

    def index(self) -> None:
        by: dict[str, list[Rate]] = {}
        for r in self.rows:
            by.setdefault(r.prefix, []).append(r)
        epoch = datetime.min.replace(tzinfo=UTC)
        self.table = {p: tuple(sorted(rs, key=lambda r: r.eff or epoch)) for p, rs in by.items()}
        self.maxlen = max(len(p) for p in self.table)

    def lookup(self, number: str, at: datetime) -> Rate | None:
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


class Carrier:
    def __init__(self, name, host, currencies, covers_all, precision, rounding, flat):
        self.id = 0
        self.name, self.host, self.currencies = name, host, currencies
        self.covers_all, self.precision, self.rounding, self.flat = (covers_all, precision,
                                                                     rounding, flat)
        self.cards: dict[str, Card] = {}


class Gen:
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


class Catalogue:
    """Destinations, provider and customer cards, packages: the shared price world."""

    def __init__(self, rng: random.Random, now: datetime):
        self.dests: list[_Dest] = []
        self.gens: list[Gen] = []
        self.country: dict[str, str] = {}
        self.cc: dict[str, str] = {}
        self.home_gens: dict[str, list[Gen]] = {}
        self._build_destinations()
        self.providers = [Carrier(*p) for p in _PROVIDERS]
        self.customer_cards: list[Card] = []
        self.cards_by_currency: dict[str, list[Card]] = {}
        self._build_cards(rng, now)

    # destinations ---------------------------------------------------------------------------
    def _build_destinations(self) -> None:
        for region, fixed_cost, mobile_cost, incr, _pop in REGIONS:
            fixed, mobile = Decimal(fixed_cost), Decimal(mobile_cost)
            fee = Decimal(_CONNECT_FEE.get(region, "0"))
            fix = _nsn(region, PhoneNumberType.FIXED_LINE)
            mob = _nsn(region, PhoneNumberType.MOBILE)
            ex = phonenumbers.example_number_for_type(region, PhoneNumberType.FIXED_LINE)
            cc = str(ex.country_code)
            name = _NAMES.get(region, region)
            self.country[region], self.cc[region] = name, cc
            gens: list[Gen] = []
            if cc == "1":
                areas = _US_AREAS if region == "US" else _CA_AREAS
                if region == "US":
                    self.dests.append(_Dest("1", name, region, fixed, incr, fee))
                    self.dests.append(_Dest("1808", f"{name} - Hawaii", region, fixed * 3,
                                            incr, fee))
                    self.dests.append(_Dest("1907", f"{name} - Alaska", region, fixed * 4,
                                            incr, fee))
                    gens.append(Gen("1808", 11, region, "fixed", 0.02))
                    gens.append(Gen("1907", 11, region, "fixed", 0.01))
                else:
                    for a in areas:
                        self.dests.append(_Dest("1" + a, name, region, fixed, incr, fee))
                gens += [Gen("1" + a, 11, region, "fixed", 0.97 / len(areas)) for a in areas]
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
                gens.append(Gen(cc + fixed_prefix, len(cc) + len(fix), region, "fixed", 0.30))
            for i, m in enumerate(mobiles):
                bump = Decimal(1) + Decimal(i % 3) / 50
                self.dests.append(_Dest(cc + m, f"{name} Mobile", region, mobile * bump, incr,
                                        fee))
                gens.append(Gen(cc + m, len(cc) + len(mob), region, "mobile",
                                 0.55 / len(mobiles)))
            other = 0.15 if mobiles and fixed_prefix else 0.45
            gens.append(Gen(cc + (fix[0] if fix else "2"), len(cc) + len(fix or mob or "2" * 9),
                             region, "other", other))
            self.gens += gens
            self.home_gens[region] = [g for g in gens if g.kind != "other"] or gens
        for prefix, name, cost, blocked, length in _SPECIALS:
            self.dests.append(_Dest(prefix, name, "", Decimal(cost), "60", Decimal(0),
                                    special=True, blocked=blocked))
            self.gens.append(Gen(prefix, length, "", "special", 1.0))

    # cards ----------------------------------------------------------------------------------
    def _build_cards(self, rng: random.Random, now: datetime) -> None:
        best: dict[tuple[str, str], Decimal] = {}
        for p in self.providers:
            factor = rng.uniform(0.9, 1.1)
            covered = [d for d in self.dests if p.covers_all or rng.random() < 0.86
                       or d.region in ("US", "GB", "DE", "IN")]
            for cur in p.currencies:
                card = Card(f"{p.name} {cur}", cur, "provider", p.precision, p.rounding, p)
                conv = CURRENCY_RATE[cur]
                for d in covered:
                    rate = quantize(d.cost * conv * dec(factor * rng.uniform(0.94, 1.06), 4), 5)
                    mcd, pulse = (60, 60) if p.flat else (d.mcd, d.pulse)
                    card.add(Rate(d.prefix, d.name, max(rate, Decimal("0.00001")),
                                  quantize(d.fee * conv * Decimal("0.6"), 4), mcd, pulse))
                    key = (cur, d.prefix)
                    if key not in best or card.rows[-1].rate < best[key]:
                        best[key] = card.rows[-1].rate
                card.index()
                p.cards[cur] = card
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        for cur, tier, margin, precision, rounding in _CUSTOMER_CARDS:
            card = Card(f"{cur} {tier}", cur, "customer", precision, rounding)
            conv = CURRENCY_RATE[cur]
            for d in self.dests:
                cost = best.get((cur, d.prefix), d.cost * conv)
                raw = cost * Decimal(margin) * dec(rng.uniform(0.98, 1.07), 4)
                rate = quantize(raw, 4 if raw >= Decimal("0.01") else 5, ROUND_CEILING)
                mcd, pulse = d.mcd, d.pulse
                if tier == "Standard" and (mcd, pulse) == (1, 1):
                    mcd, pulse = 30, 6
                card.add(Rate(d.prefix, d.name, rate, quantize(d.fee * conv, 4), mcd, pulse,
                              blocked=d.blocked))
            plain = [r for r in card.rows if not r.blocked and len(r.prefix) > 1]
            for r in rng.sample(plain, 3):  # a rate change during the history
                eff = today - timedelta(days=rng.randint(4, 20))
                card.add(Rate(r.prefix, r.destination,
                              quantize(r.rate * dec(rng.uniform(1.05, 1.2), 3), 5, ROUND_CEILING),
                              r.fee, r.mcd, r.pulse, eff=eff))
            for r in rng.sample(plain, 2):  # an announced change, not in force yet
                card.add(Rate(r.prefix, r.destination,
                              quantize(r.rate * dec(rng.uniform(0.9, 1.15), 3), 5, ROUND_CEILING),
                              r.fee, r.mcd, r.pulse, eff=today + timedelta(days=7)))
            card.index()
            self.customer_cards.append(card)
            self.cards_by_currency.setdefault(cur, []).append(card)

    def provider_cards(self, currency: str) -> list[Card]:
        return [p.cards[currency] for p in self.providers if currency in p.cards]

async def write_world(s: seed_rows.Session, cat: Catalogue, now: datetime) -> None:
    long_ago = now - timedelta(days=400)
    existing = await seed_rows.operator_names(s)
    await seed_rows.add_operators(s, [
        {"name": n, "role": r, "version": 1, "created_at": long_ago, "updated_at": long_ago}
        for n, r in (("admin", "admin"), ("noc1", "operator"), ("viewer", "viewer"))
        if n not in existing])
    ids = await seed_rows.add_providers(s, [
        {"name": p.name, "status": "active", "host": p.host,
         "channels": 2000 if p.covers_all else 600, "flow_speed": 200 if p.covers_all else 60,
         "version": 1, "created_at": long_ago, "updated_at": long_ago}
        for p in cat.providers])
    cards: list[Card] = []
    for pid, p in zip(ids, cat.providers, strict=True):
        p.id = pid
        cards += list(p.cards.values())
    cards += cat.customer_cards
    card_ids = await seed_rows.add_rate_cards(s, [
        {"name": k.name, "currency": k.currency, "direction": k.direction,
         "precision": k.precision, "rounding": k.rounding,
         "provider_id": k.provider.id if k.provider else None, "version": 1,
         "created_at": long_ago, "updated_at": long_ago} for k in cards])
    rows = []
    for cid, k in zip(card_ids, cards, strict=True):
        k.id = cid
        rows += [{"card_id": cid, "prefix": r.prefix, "destination": r.destination,
                  "rate": r.rate, "connect_fee": r.fee, "mcd": r.mcd, "pulse": r.pulse,
                  "blocked": r.blocked, "effective_from": r.eff} for r in k.rows]
    await seed_rows.add_rate_rows(s, rows)
    await seed_rows.add_card_parents(s, [
        {"customer_card_id": k.id, "provider_card_id": p.id}
        for k in cat.customer_cards for p in cat.provider_cards(k.currency)])


async def write_packages(s: seed_rows.Session, now: datetime) -> list[tuple[int, str]]:
    at = now - timedelta(days=365)
    rows = [{"name": name, "kind": kind, "currency": cur, "cost": Decimal(cost),
             "retail": Decimal(retail), "setup_cost": Decimal(sc), "setup_retail": Decimal(sr),
             "frequency": freq, "match_days": days, "minimum_spend": Decimal(minimum),
             "free_minutes": free, "destination_regex": regex, "version": 1,
             "created_at": at, "updated_at": at}
            for (name, kind, cur, cost, retail, sc, sr, freq, days, minimum, free,
                 regex) in _PACKAGES]
    ids = await seed_rows.add_packages(s, rows)
    return [(pid, r["currency"]) for pid, r in zip(ids, rows, strict=True)]


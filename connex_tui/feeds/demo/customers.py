"""The demo's customers: who they are (names, addresses, contacts, status cases), how they
authenticate and route, their CLI rules, DIDs, alerts, packages and payments.

`Factory.make` builds one customer from the seeder's stream; `write_customers` writes a
chunk of them. The first 40 customers hold one of each case the screens must show.

Demo SIP users all have the password DEMO_SIP_PASSWORD (stored as argon2id + HA1).
"""

from __future__ import annotations

import bisect
import hashlib
import ipaddress
import json
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from connex_tui.data import ledger, passwords, seed_rows
from connex_tui.data.audit import diff
from connex_tui.engine.money import net_of_tax
from connex_tui.feeds.demo.catalogue import REGIONS, Catalogue
from connex_tui.feeds.demo.draws import cum, dec, digits, fill, nice, quantize
from connex_tui.feeds.demo.options import DemoOptions

DEMO_SIP_PASSWORD = "connex-demo-sip"
SHARED_IP = "198.51.100.77"  # two customers behind one address, told apart by tech prefix


def demo_password_hash(seed: int) -> str:
    """argon2id of DEMO_SIP_PASSWORD with argon2-cffi's default parameters (what
    data/passwords.verify_password checks) and a salt derived from the seed: computed once
    per seeding (tens of milliseconds) and the same for the same seed."""
    from argon2 import PasswordHasher
    from argon2.low_level import hash_secret

    ph = PasswordHasher()
    salt = hashlib.sha256(f"connex-demo-sip:{seed}".encode()).digest()[:ph.salt_len]
    return hash_secret(DEMO_SIP_PASSWORD.encode(), salt, time_cost=ph.time_cost,
                       memory_cost=ph.memory_cost, parallelism=ph.parallelism,
                       hash_len=ph.hash_len, type=ph.type).decode()


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
class Route:
    __slots__ = ("id", "card", "tech_prefix", "dial", "capped", "pcapped", "pa", "bcc",
                 "max_duration", "weight", "row")

    def __init__(self, card, tech_prefix, dial, capped, pcapped, pa, bcc, max_duration, weight):
        self.id = 0
        self.card, self.tech_prefix, self.dial = card, tech_prefix, dial
        self.capped, self.pcapped, self.pa, self.bcc = capped, pcapped, pa, bcc
        self.max_duration, self.weight = max_duration, weight
        self.row: dict = {}


class Cust:
    """One customer: its rows for the database and what the traffic needs."""

    def __init__(self, idx: int):
        self.idx = idx
        self.id = 0
        self.row: dict = {}
        self.contacts: list[dict] = []
        self.auth: list[dict] = []
        self.auth_ids: list[int] = []
        self.sip: list[dict] = []
        self.routes: list[Route] = []
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


class Factory:
    """Builds customers one by one; keeps names, emails, users and numbers unique."""

    def __init__(self, rng: random.Random, cat: Catalogue, opts: DemoOptions, now: datetime,
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
        self._home_cw = list(cum([h[2] for h in _HOMES]))
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
        return g.prefix + digits(self.rng, g.length - len(g.prefix))

    # one customer ---------------------------------------------------------------------------
    def make(self, idx: int) -> Cust:
        rng, now, cat = self.rng, self.now, self.cat
        c = Cust(idx)
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
            street, f"{fill(postcode, rng)} {city}".strip(), cat.country[home]]
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
        regions = [r for r in REGIONS]
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
                route = Route(
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

    def did(self, home: str, c: Cust | None, created: datetime) -> dict:
        rng, cat = self.rng, self.cat
        while True:
            number = self._number(home, "fixed")
            if number not in self.numbers:
                break
        self.numbers.add(number)
        provider = rng.choice(cat.providers)
        pcard = rng.choice(list(provider.cards.values()))
        cost = dec(rng.uniform(0.4, 2.5), 2)
        host = c.auth[0]["host"].split("/")[0] if c and c.auth else "203.0.113.250"
        return {
            "number": number,
            "destination": f"sip:{number}@{host}" if rng.random() < 0.7 else f"{host}:5060",
            "destination2": f"sip:{number}@{c.src_ips[-1]}" if c and rng.random() < 0.3 else "",
            "destination3": "", "provider_id": provider.id, "provider_card_id": pcard.id,
            "customer_id": None,
            "customer_card_id": (cat.cards_by_currency[c.currency][-1].id if c else None),
            "monthly_cost": cost,
            "monthly_retail": (quantize(cost * dec(rng.uniform(1.5, 3.0), 2), 2) if c
                               else Decimal(0)),
            "max_duration": rng.choice((7200, 14400)), "enabled": rng.random() < 0.95,
            "version": 1, "created_at": created, "updated_at": created}

    def _alert(self, title: str, c: Cust, created: datetime,
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
            asr = dec(rng.uniform(8, 17), 1)
            events.append({"at": c.penalty_start, "value": f"{asr}%",
                           "message": f"ASR {asr}% < 20% over 60 min; penalty for 120 min"})
        elif title == "Low balance" and c.flags.lapsing:
            fired = now - timedelta(seconds=rng.randint(3600, 20 * 3600))
            row.update(state="fired", last_fired_at=fired)
            events.append({"at": fired, "value": threshold,
                           "message": f"balance below {threshold} {c.currency}; "
                                      f"mailed {recipients}"})
        return row, events

def _source_ip(host: str, rng: random.Random) -> str:
    if "/" not in host:
        return host
    net = ipaddress.ip_network(host, strict=False)
    return str(net.network_address + rng.randint(1, net.num_addresses - 2))

# --------------------------------------------------------------------------------------------
# Payments
# --------------------------------------------------------------------------------------------

class Payments:
    """Payment rows plus their ledger credits, posted at the time they were paid."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.count = 0
        self.invoice = 1000

    def make(self, c: Cust, gross: Decimal, at: datetime, status: str = "completed",
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
            desc = f"PayPal top-up {digits(rng, 4)}-{digits(rng, 8)}"
            fee = quantize(gross * Decimal("0.034") + Decimal("0.35"), 2)
        else:
            desc, fee = "Card payment", quantize(gross * Decimal("0.029"), 2)
        if rng.random() < 0.15:
            desc += rng.choice((" # checked by noc1", " # paid late, reminded twice",
                                " # bank confirmed", " # first payment after approval"))
        _net, tax = net_of_tax(gross, c.tax)
        self.count += 1
        return {"customer_id": c.id, "description": desc, "amount": gross, "fee": fee,
                "tax": tax, "status": status, "paid_at": at, "version": 1, "created_at": at,
                "updated_at": at}

    async def write(self, session: seed_rows.Session, rows: list[dict],
                    adjusts: list[tuple[int, Decimal, str, datetime]], *,
                    bulk: bool = False) -> None:
        """Insert payments; credit completed ones net of tax; post adjustments.

        The history posts through `ledger.post_many` (a few entries at a time). The set-up
        pass credits thousands of customers at once, each entry at its own time: `bulk`
        writes the same ledger rows and balance moves with one executemany each.
        """
        ids = await seed_rows.add_payments(session, rows)
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


async def write_customers(s: seed_rows.Session, chunk: list[Cust], payments: Payments,
                          now: datetime, opts: DemoOptions) -> None:
    """One chunk of customers with everything they own, and the payments of those without
    a traffic history (the history pays for the others as it goes)."""
    ids = await seed_rows.add_customers(s, [c.row for c in chunk])
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
    await seed_rows.add_contacts(s, contacts)
    for aid, c in zip(await seed_rows.add_ip_auth(s, auth), auth_owner, strict=True):
        c.auth_ids.append(aid)
    await seed_rows.add_sip_users(s, sip)
    route_ids = await seed_rows.add_routes(s, [r for _, r in routes])
    for rid, (route, _row) in zip(route_ids, routes, strict=True):
        route.id = rid
    await seed_rows.add_cli_rules(s, rules)
    await seed_rows.add_dids(s, dids)
    await seed_rows.add_customer_packages(s, pkgs)
    alert_ids = await seed_rows.add_alerts(s, [a for a, _ in alerts])
    await seed_rows.add_alert_events(s, [{**e, "alert_id": aid}
                                  for aid, (_a, evs) in zip(alert_ids, alerts, strict=True)
                                  for e in evs])
    await seed_rows.add_audit_entries(s, audit)
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
                rows.append(payments.make(c, nice(rng.uniform(50, 500)), end - timedelta(
                    seconds=rng.randint(600, 3 * 3600)), "pending"))
            continue
        first = c.created_at + timedelta(seconds=rng.randint(3600, 3 * 86400))
        if first < end:
            rows.append(payments.make(c, nice(rng.uniform(50, 2500)), first))
        since = max(first, now - timedelta(days=max(opts.days, 30)))
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            at = since + timedelta(seconds=rng.randint(0, max(1, int(
                (end - since).total_seconds()) - 1)))
            status = rng.choices(("completed", "pending", "cancelled"), (85, 8, 7))[0]
            if at < end:
                rows.append(payments.make(c, nice(rng.uniform(50, 1500)), at, status))
        if rng.random() < 0.04 and first < end:
            adjusts.append((c.id, Decimal("10.00"), "Welcome credit", first))
    await payments.write(s, rows, adjusts, bulk=True)


def _cidr(host: str) -> str:
    """A whitelist entry in the form the SIP-user validator stores (192.0.2.41/32)."""
    return host if "/" in host else f"{host}/{128 if ':' in host else 32}"

"""`config export` / `config apply` (docs/config-format.md): the documented example applies,
export → apply on an empty database → export is the same document, a second apply changes
nothing, one bad field anywhere writes nothing and names its YAML path, dry runs write
nothing. Runs on the `db` fixture (SQLite, and PostgreSQL when CONNEX_TEST_PG_URL is set)."""
# ruff: noqa: F811

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text

from connex_tui.data import config_state, passwords
from connex_tui.data.access import Actor, PermissionDenied
from connex_tui.data.db import Database
from connex_tui.data.models import (
    AuditEntry,
    Customer,
    IngressRoute,
    IpAuth,
    RateCard,
    RateRow,
    RoutingScript,
    SipUser,
)
from connex_tui.data.passwords import ha1, verify_password
from connex_tui.feeds.config_apply import apply_config
from connex_tui.feeds.config_doc import read_document
from connex_tui.feeds.config_export import export_config

# the data tests' fixtures (the `db` parameter below shadows the imported fixture)
from tests.conftest import sqlite_url_for
from tests.data.conftest import FakeClock, db, db_url, pg_url  # noqa: F401

ADMIN = Actor("alice", "admin")
DOC = Path(__file__).resolve().parents[2] / "docs" / "config-format.md"
COUNTED = (Customer, IpAuth, SipUser, IngressRoute, RateCard, RateRow, RoutingScript,
           AuditEntry)


def example() -> str:
    """The complete example of docs/config-format.md, as the operator would copy it."""
    found = re.search(r"^## Example$.*?^```yaml\n(.*?)^```$", DOC.read_text(), re.S | re.M)
    assert found, "docs/config-format.md lost its example"
    return found.group(1)


def write(tmp_path: Path, content: str, name: str = "routing.yaml") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


async def apply(db, path, actor=ADMIN, **kw):
    return await apply_config(db, actor, path, clock=FakeClock(), **kw)


async def counts(db) -> dict[str, int]:
    async with db.sessions() as s:
        out = {m.__tablename__: await s.scalar(select(func.count()).select_from(m))
               for m in COUNTED}
        out["generation"] = await config_state.current(s)
        return out


@pytest.fixture
async def other_db(tmp_path, sqlite_template):
    """A second, empty database (SQLite) to apply an export to."""
    path = tmp_path / "other.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(sqlite_url_for(path))
    yield database
    await database.dispose()


# -- the documented example -----------------------------------------------------------------
async def test_the_documented_example_dry_runs_then_applies_once(db, tmp_path):
    path = write(tmp_path, example())
    empty = await counts(db)
    dry = await apply(db, path, dry_run=True)
    assert dry.errors == [] and not dry.written
    assert len(dry.changes) == 17
    assert "create route [0] (no tech prefix) of ACME Telecom" in map(str, dry.changes)
    assert dry.passwords == []  # a dry run generates nothing to show
    assert await counts(db) == empty  # a dry run writes nothing

    report = await apply(db, path)
    assert report.errors == [] and report.written
    assert [str(c) for c in report.changes] == [str(c) for c in dry.changes]
    [(username, password)] = report.passwords
    async with db.sessions() as s:
        user = await s.scalar(select(SipUser))
        assert (user.username, user.ha1) == (username, ha1(username, password))
        assert verify_password(user.password_hash, password)
        route = await s.scalar(select(IngressRoute))
        assert route.dial_string == "44\n^1[2-9]" and route.max_duration == 3600
        rows = (await s.execute(select(RateRow.prefix, RateRow.rate).join(RateCard)
                                .where(RateCard.name == "Retail USD")
                                .order_by(RateRow.prefix))).all()
        assert [(p, str(r)) for p, r in rows] == [
            ("1", "0.006500"), ("44", "0.012500"), ("447", "0.021000"), ("4470", "0.500000")]
        acme = await s.scalar(select(Customer))
        assert (acme.has_auth, acme.has_route) == (True, True)  # reindexed
    after = await counts(db)
    assert after["generation"] == empty["generation"] + 1  # one bump for the whole apply
    assert after["audit_log"] == 17

    again = await apply(db, path)
    assert again.changes == [] and again.errors == []
    assert await counts(db) == after  # no audit rows, no generation bump


async def test_export_apply_to_an_empty_database_export_is_the_same(db, other_db, tmp_path):
    await apply(db, write(tmp_path, example()))
    exported = await export_config(db, secrets=True)
    assert "password_hash: $argon2" in exported and "ha1: " in exported
    assert "rate: '0.0125'" in exported  # money as strings, shortest form
    report = await apply(other_db, write(tmp_path, exported, "export.yaml"))
    assert report.errors == [] and report.passwords == []  # SIP users restored from hashes
    async with db.sessions() as s, other_db.sessions() as o:
        secrets = select(SipUser.username, SipUser.ha1, SipUser.password_hash)
        assert (await o.execute(secrets)).all() == (await s.execute(secrets)).all()
    assert await export_config(other_db, secrets=True) == exported
    assert (await apply(other_db, tmp_path / "export.yaml")).changes == []
    assert (await apply(db, tmp_path / "export.yaml")).changes == []  # and on the source


async def test_default_export_has_no_secrets_and_keeps_passwords(db, other_db, tmp_path):
    await apply(db, write(tmp_path, example()))
    async with db.sessions() as s:
        stored = (await s.execute(select(SipUser.ha1, SipUser.password_hash))).one()
    exported = await export_config(db)
    assert "ha1" not in exported and "password_hash" not in exported
    assert "- username: acme-pbx1" in exported
    path = write(tmp_path, exported, "export.yaml")
    assert (await apply(db, path)).changes == []  # existing users keep their passwords
    async with db.sessions() as s:
        assert (await s.execute(select(SipUser.ha1, SipUser.password_hash))).one() == stored
    report = await apply(other_db, path)  # a new user needs a secret
    assert report.errors == ["customers[0].sip_users[0].password: required for a new SIP user "
                             "(or generate: true, or ha1 and password_hash from `config "
                             "export --with-secrets`)"]


async def test_secrets_need_a_role_that_may_write(db, tmp_path):
    await apply(db, write(tmp_path, example()))
    viewer = Actor("vera", "viewer")
    with pytest.raises(PermissionDenied):
        await export_config(db, secrets=True, actor=viewer)
    assert "ha1" not in await export_config(db, actor=viewer)
    assert "ha1: " in await export_config(db, secrets=True, actor=Actor("olga", "operator"))


async def test_big_cards_go_to_csv_files_beside_the_yaml(db, other_db, tmp_path):
    await apply(db, write(tmp_path, example()))
    out = tmp_path / "out"
    out.mkdir()
    target = out / "routing.yaml"
    target.write_text(await export_config(db, target, inline_max=3, secrets=True))
    content = target.read_text()
    assert "rates_csv: routing.rates/Retail_USD.csv" in content  # 4 rows > 3
    assert "rates_csv: routing.rates/Atlas_USD.csv" not in content  # 3 rows: inline
    assert (out / "routing.rates" / "Retail_USD.csv").read_text().startswith(
        "prefix,destination,rate,connect_fee,increment,effective_from,blocked\n1,")
    assert (await apply(other_db, target)).errors == []
    assert await export_config(other_db) == await export_config(db)


# -- errors: nothing written, YAML paths --------------------------------------------------
@pytest.mark.parametrize("old, new, error", [
    ('dial_string: ["44", "^1[2-9]"]', 'dial_string: ["44", "^1[2-9"]',
     "customers[0].routes[0].dial_string: line 2: "),
    ('rate: "0.0125", connect_fee: "0"', 'rate: "1.25e-2", connect_fee: "0"',
     "rate_cards[0].rates[1].rate: must be a plain number like 12.50"),
    ("    flow_speed: 10\n", "    flow_speed: ten\n", "customers[0].flow_speed: must be a whole number"),
    ("        channels: 30\n", "        chanels: 30\n", "customers[0].ip_auth[0].chanels: unknown field"),
    ("        port: 5060\n", "        port: 70000\n", "customers[0].ip_auth[0].port: must be 65535 or less"),
    ("  - name: Borealis Telecom\n", "  - name: atlas voice\n",
     "providers[1].name: 'atlas voice' is also at providers[0]"),
    ("- rate_card: Retail USD", "- rate_card: Wholesale USD",
     "customers[0].routes[0].rate_card: no customer rate card named 'Wholesale USD'"),
    ("parents: [Atlas USD, Borealis USD]", "parents: [Atlas USD, Borealis EUR]",
     "rate_cards[0].parents: no provider rate card named 'Borealis EUR'"),
    ("script: uk-mobile-guard", "script: uk-guard",
     "customers[0].routes[0].script: no routing script named 'uk-guard'"),
    ("        generate: true\n", "",
     "customers[0].sip_users[0].password: required for a new SIP user"),
])
async def test_one_bad_field_writes_nothing_and_names_its_path(db, tmp_path, old, new, error):
    content = example()
    assert content.count(old) == 1
    before = await counts(db)
    report = await apply(db, write(tmp_path, content.replace(old, new)))
    assert not report.written
    assert any(e.startswith(error) for e in report.errors), report.errors
    assert await counts(db) == before


async def test_every_error_of_the_document_is_listed(tmp_path):
    content = (example().replace('"0.0080"', '"-1"').replace("flow_speed: 10", "flow_speed: -1")
               .replace("host: 192.0.2.10", "host: 192.0.2.300"))
    _, errors = read_document(content, tmp_path)
    assert errors == [
        "providers[0].cards[0].rates[0].rate: must be 0 or more",
        "customers[0].flow_speed: must be 0 or more",
        "customers[0].ip_auth[0].host: not a valid IP address or CIDR network"]


@pytest.mark.parametrize("content, error", [
    ("providers: [\n", "line 2: not valid YAML"),
    ("- just a list\n", "expected a mapping with the lists providers, rate_cards, scripts, "
                        "customers"),
    ("customer:\n  - name: X\n", "customer: unknown section"),
    ("customers: ACME\n", "customers: expected a list"),
])
def test_the_shape_of_the_document(tmp_path, content, error):
    _, errors = read_document(content, tmp_path)
    assert errors[0].startswith(error)


def test_a_provider_without_a_name_keeps_its_cards_provider_cards(tmp_path):
    _, errors = read_document("providers:\n  - host: 10.0.0.1\n    cards:\n"
                              "      - {name: C, currency: USD, parents: [X]}\n", tmp_path)
    assert errors == ["providers[0].name: required",
                      "providers[0].cards[0].parents: unknown field (fields: name, currency, "
                      "precision, rounding, rates, rates_csv)",
                      "providers[0].cards[0].provider: required for a provider card"]


def test_plain_scalars_stay_text(tmp_path):
    """0044 is not octal 36, an unquoted 0.0125 is exact, NO is Norway."""
    doc, errors = read_document(
        "rate_cards:\n  - name: C\n    currency: NOK\n    rates:\n"
        "      - {prefix: 0044, destination: NO, rate: 0.0125}\n", tmp_path)
    assert errors == []
    [row] = doc.rate_cards[0].rows
    assert (row.prefix, row.destination, str(row.rate)) == ("0044", "NO", "0.0125")


# -- changes ----------------------------------------------------------------------------------
async def test_dry_run_shows_changed_fields_and_apply_writes_them(db, tmp_path):
    path = write(tmp_path, example())
    await apply(db, path)
    edited = (example().replace("    channels: 50\n", "    channels: 20\n")
              .replace('rate: "0.0210", connect_fee: "0.01"', 'rate: "0.0199", connect_fee: "0.01"'))
    path = write(tmp_path, edited)
    before = await counts(db)
    dry = await apply(db, path, dry_run=True)
    assert [str(c) for c in dry.changes] == [
        "update rates of rate card Retail USD: 0 added, 1 changed, 0 deleted, 3 unchanged",
        "update customer ACME Telecom: channels 50 → 20"]
    assert await counts(db) == before
    report = await apply(db, path)
    assert [str(c) for c in report.changes] == [str(c) for c in dry.changes]
    async with db.sessions() as s:
        assert await s.scalar(select(Customer.channels)) == 20
        # created (1), its rows added (2), one row changed (3)
        assert await s.scalar(select(RateCard.version).where(RateCard.name == "Retail USD")) == 3


async def test_a_present_list_is_complete_an_absent_one_is_left_alone(db, tmp_path):
    await apply(db, write(tmp_path, example()))
    no_second_ip = example().replace("      - host: 192.0.2.0/28\n        direction: ingress\n", "")
    report = await apply(db, write(tmp_path, no_second_ip))
    assert [str(c) for c in report.changes] == [
        "delete ip_auth 192.0.2.0/28 (ingress) of ACME Telecom"]
    without_key = re.sub(r"    ip_auth:\n(      .*\n|        .*\n)*", "", example())
    assert "ip_auth" not in without_key
    assert (await apply(db, write(tmp_path, without_key))).changes == []
    async with db.sessions() as s:
        assert list(await s.scalars(select(IpAuth.host))) == ["192.0.2.10"]


async def test_deletes_need_the_admin_role(db, tmp_path):
    await apply(db, write(tmp_path, example()))
    no_rules = re.sub(r"    cli_rules:\n(      .*\n|        .*\n)*", "    cli_rules: []\n",
                      example())
    with pytest.raises(PermissionDenied):
        await apply(db, write(tmp_path, no_rules), actor=Actor("olga", "operator"))
    report = await apply(db, write(tmp_path, no_rules))
    assert len(report.changes) == 3 and all(c.action == "delete" for c in report.changes)


async def test_routes_match_by_tech_prefix_and_dial_string(db, tmp_path):
    two = example().replace(
        "    cli_rules:\n",
        "      - {rate_card: Retail USD, tech_prefix: '', dial_string: ['33']}\n"
        "    cli_rules:\n")
    await apply(db, write(tmp_path, two))
    async with db.sessions() as s:
        ids = dict((await s.execute(select(IngressRoute.dial_string, IngressRoute.id))).all())
    # the same two routes listed the other way round: only their positions change
    first = two[two.index("      - rate_card: Retail USD"):two.index("      - {rate_card")]
    swapped = two.replace(first, "").replace("    cli_rules:\n", first + "    cli_rules:\n")
    report = await apply(db, write(tmp_path, swapped))
    assert sorted(str(c) for c in report.changes) == [
        "update route [0] (no tech prefix) of ACME Telecom: position 1 → 0",
        "update route [1] (no tech prefix) of ACME Telecom: position 0 → 1"]
    async with db.sessions() as s:
        assert dict((await s.execute(select(IngressRoute.dial_string, IngressRoute.id)))
                    .all()) == ids


async def test_prune_deletes_what_the_file_does_not_name_unless_in_use(db, tmp_path):
    await apply(db, write(tmp_path, example()))
    only_cards = "rate_cards: []\nscripts: []\n"
    path = write(tmp_path, only_cards, "empty.yaml")
    assert (await apply(db, path)).changes == []  # without --prune nothing goes
    report = await apply(db, path, prune=True)
    assert not report.written
    assert "rate_cards: rate card 'Retail USD' is used by 1 route: cannot delete it" in \
        report.errors
    assert "scripts: script 'uk-mobile-guard' is used by 1 route: cannot delete it" in \
        report.errors
    unused = example().replace("script: uk-mobile-guard", "script: ''").replace(
        "  - name: uk-mobile-guard",
        "  - name: spare\n    body: '- prefer_provider: Atlas Voice'\n  - name: uk-mobile-guard")
    assert (await apply(db, write(tmp_path, unused))).errors == []
    no_scripts = unused[:unused.index("scripts:")] + unused[unused.index("customers:"):]
    report = await apply(db, write(tmp_path, no_scripts), prune=True)
    assert sorted(str(c) for c in report.changes) == ["delete script spare",
                                                      "delete script uk-mobile-guard"]


async def test_sip_user_password_sets_once(db, tmp_path):
    content = example().replace("generate: true", "password: correct-horse-battery")
    path = write(tmp_path, content)
    report = await apply(db, path)
    assert report.passwords == []
    async with db.sessions() as s:
        stored = await s.scalar(select(SipUser.password_hash))
    assert (await apply(db, path)).changes == []  # the same password: hash kept
    report = await apply(db, write(tmp_path, content.replace("correct-horse-battery",
                                                             "another-long-secret")))
    assert [str(c) for c in report.changes] == [
        "update sip_user acme-pbx1 of ACME Telecom: password_hash; ha1"]
    async with db.sessions() as s:
        assert await s.scalar(select(SipUser.password_hash)) != stored
        audit = await s.scalar(select(AuditEntry.changes).where(
            AuditEntry.table_name == "sip_users", AuditEntry.action == "update"))
    assert "another-long-secret" not in audit and "••••••" in audit


async def test_currency_of_a_customer_cannot_change(db, tmp_path):
    await apply(db, write(tmp_path, example()))
    report = await apply(db, write(tmp_path, example().replace(
        "    currency: USD\n    debit_limit", "    currency: EUR\n    debit_limit")))
    assert report.errors == ["customers[0].currency: cannot change after creation (the "
                             "customer bills in USD)"]
    async with db.sessions() as s:
        assert await s.scalar(text("SELECT currency FROM customers")) == "USD"


async def test_a_sip_user_listed_under_another_customer_moves_there(db, tmp_path):
    first = ("customers:\n"
             "  - {name: Alpha, currency: USD, sip_users: [{username: pbx-1, "
             "password: long-enough-secret}]}\n"
             "  - {name: Beta, currency: USD}\n")
    assert (await apply(db, write(tmp_path, first))).errors == []
    async with db.sessions() as s:
        stored = await s.scalar(select(SipUser.password_hash))
    moved = ("customers:\n"
             "  - {name: Alpha, currency: USD, sip_users: []}\n"
             "  - {name: Beta, currency: USD, sip_users: [{username: pbx-1}]}\n")
    renamed = await apply(db, write(tmp_path, moved.replace("pbx-1", "PBX-1")))
    assert renamed.errors == ["customers[1].sip_users[0].password: a new username needs a new "
                              "password (the SIP digest HA1 includes the username)"]
    report = await apply(db, write(tmp_path, moved))
    assert [str(c) for c in report.changes] == [
        "update sip_user pbx-1 of Beta: customer Alpha → Beta"]
    async with db.sessions() as s:
        flags = dict((await s.execute(select(Customer.name, Customer.has_auth))).all())
        assert flags == {"Alpha": False, "Beta": True}  # both customers reindexed
        assert await s.scalar(select(SipUser.password_hash)) == stored  # password kept


async def test_fixed_card_fields_give_the_forms_messages(db, tmp_path):
    await apply(db, write(tmp_path, example()))
    eur = example().replace("  - name: Retail USD\n    currency: USD",
                            "  - name: Retail USD\n    currency: EUR")
    report = await apply(db, write(tmp_path, eur))
    assert "rate_cards[0].currency: cannot change after creation (the card is in USD)" in \
        report.errors
    report = await apply(db, write(tmp_path, "rate_cards:\n  - {name: Atlas USD, "
                                             "currency: USD}\n"))
    assert "rate_cards[0].direction: cannot change after creation ('Atlas USD' is a " \
           "provider card)" in report.errors
    assert not report.written


async def test_a_provider_card_that_is_a_parent_is_not_deleted(db, tmp_path):
    await apply(db, write(tmp_path, example()))
    atlas = re.search(r"    cards:\n      - name: Atlas USD\n(        .*\n|          .*\n)*",
                      example()).group(0)
    content = example().replace(atlas, "    cards: []\n").replace(' "Atlas USD":2', "")
    before = await counts(db)
    report = await apply(db, write(tmp_path, content))
    assert report.errors == ["providers[0].cards: rate card 'Atlas USD' is a parent of 1 "
                             "customer card (Retail USD): cannot delete it"]
    assert await counts(db) == before
    no_parent = content.replace("parents: [Atlas USD, Borealis USD]", "parents: [Borealis USD]")
    report = await apply(db, write(tmp_path, no_parent))
    assert report.errors == []
    assert "delete rate card Atlas USD" in map(str, report.changes)


async def test_prune_deletes_customer_cards_before_their_parents(db, tmp_path):
    await apply(db, write(tmp_path, example()))
    report = await apply(db, write(tmp_path, "customers:\n  - {name: ACME Telecom, "
                                             "currency: USD, routes: []}\n"), prune=True)
    assert report.errors == []
    assert {str(c) for c in report.changes} >= {
        "delete rate card Retail USD", "delete rate card Atlas USD",
        "delete rate card Borealis USD", "delete provider Atlas Voice",
        "delete provider Borealis Telecom", "delete script uk-mobile-guard"}
    assert (await counts(db))["rate_cards"] == 0


async def test_rates_an_operator_may_not_delete_are_refused_before_writing(db, tmp_path):
    await apply(db, write(tmp_path, example()))
    operator = Actor("olga", "operator")
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    fewer = example().replace(
        '      - {prefix: "4470", destination: UK Personal Numbers, rate: "0.5000", '
        'blocked: true}\n', "")
    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        with pytest.raises(PermissionDenied):
            await apply(db, write(tmp_path, fewer), actor=operator)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
    assert not any(s.lstrip().upper().startswith(("DELETE", "UPDATE", "INSERT"))
                   for s in statements if "rate_rows" in s)
    cheaper = example().replace('rate: "0.5000"', 'rate: "0.4000"')
    report = await apply(db, write(tmp_path, cheaper), actor=operator)
    assert [str(c) for c in report.changes] == [
        "update rates of rate card Retail USD: 0 added, 1 changed, 0 deleted, 3 unchanged"]


async def test_passwords_are_hashed_before_the_write_transaction(other_db, tmp_path,
                                                                 monkeypatch):
    """Hashing takes tens of ms a user: SQLite's write lock must be free meanwhile."""
    path = other_db.engine.url.database
    free: list[bool] = []
    real = passwords.hash_password

    def hash_and_check(password: str) -> str:
        conn = sqlite3.connect(path, timeout=0)
        try:
            conn.execute("BEGIN IMMEDIATE")  # fails while another writer holds the lock
            free.append(True)
        except sqlite3.OperationalError:
            free.append(False)
        finally:
            conn.close()
        return real(password)

    monkeypatch.setattr(passwords, "hash_password", hash_and_check)
    report = await apply(other_db, write(tmp_path, example()))
    assert report.written and free == [True]


async def test_slow_engine_patterns_warn_and_too_many_are_refused(db, tmp_path):
    """One slow-engine pattern is saved with a warning naming its path; more than the
    per-customer cap (CLI rules and dial-string lines together) writes nothing."""
    slow = "      - cli: '^(1|11)+5$'\n"
    one = example().replace("    cli_rules:\n", "    cli_rules:\n" + slow)
    report = await apply(db, write(tmp_path, one))
    assert report.written and not report.errors
    assert len(report.warnings) == 1
    assert re.fullmatch(r"customers\[0\]\.cli_rules\[0\]\.cli: /\^\(1\|11\)\+5\$/ needs the "
                        r"slow regex engine .*", report.warnings[0])
    before = await counts(db)
    many = example().replace("    cli_rules:\n", "    cli_rules:\n" + slow * 11)
    report = await apply(db, write(tmp_path, many))
    assert not report.written
    assert any("11 patterns need the slow regex engine (at most 10 per customer)" in e
               for e in report.errors)
    assert await counts(db) == before

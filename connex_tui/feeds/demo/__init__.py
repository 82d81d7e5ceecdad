"""Deterministic demo data: a believable wholesale-VoIP carrier with its traffic history.

`seed()` fills an empty database with operators, providers, rate cards built from real
country calling codes (catalogue), customers with contacts, authentication, routes, CLI
rules, DIDs, alerts, packages and payments (customers), `days` of CDR history (history),
then the routing showcase with its stored simulations (showcase).

Everything comes from `random.Random` streams seeded by `DemoOptions.seed` and from
`DemoOptions.now`: the same options give the same database, row for row.
"""

from connex_tui.feeds.demo.options import DemoError, DemoOptions
from connex_tui.feeds.demo.seeder import seed, seed_database

__all__ = ["DemoError", "DemoOptions", "seed", "seed_database"]

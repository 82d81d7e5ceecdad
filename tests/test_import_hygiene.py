"""The headless packages never pull in the UI toolkit (ARCHITECTURE.md, "The layers").

Each check runs in a fresh interpreter, so that modules imported by other tests (the UI
tests import textual) cannot hide or fake a leak.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys


def modules_of(package: str) -> list[str]:
    """Every module of a package, so that a new module is checked without editing this."""
    pkg = importlib.import_module(package)
    return [package, *(m.name for m in pkgutil.walk_packages(pkg.__path__, package + ".")
                       if ".migrations" not in m.name)]


ENGINE = modules_of("connex_tui.engine")
DATA = modules_of("connex_tui.data")
FEEDS = modules_of("connex_tui.feeds")
HEADLESS = ["connex_tui.config", *ENGINE, *DATA, *FEEDS]

PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_after_importing(modules: list[str]) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *modules], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


def under(loaded: set[str], *packages: str) -> list[str]:
    return sorted(m for m in loaded if any(m == p or m.startswith(p + ".") for p in packages))


def test_the_probe_can_see_textual():
    """The checks below can fail: a module that imports textual shows up in the probe."""
    assert "textual.app" in loaded_after_importing(["textual.app"])


def test_headless_packages_do_not_import_textual_or_rich():
    loaded = loaded_after_importing(HEADLESS)
    assert set(HEADLESS) <= loaded
    assert under(loaded, "textual", "rich") == []


def test_engine_imports_no_sqlalchemy_and_nothing_else_of_the_project():
    loaded = loaded_after_importing(ENGINE)
    assert under(loaded, "sqlalchemy", "alembic", "textual", "rich") == []
    project = under(loaded, "connex_tui")
    assert [m for m in project if m != "connex_tui" and not m.startswith("connex_tui.engine")] \
        == []


def test_starting_the_data_layer_does_not_load_alembic():
    """Alembic is slow to import: only `upgrade` with work to do should load it."""
    loaded = loaded_after_importing(["connex_tui.data.db", "connex_tui.data.customers",
                                     "connex_tui.data.cdr_writer"])
    assert under(loaded, "alembic") == []


def test_the_app_starts_without_what_the_list_does_not_need():
    """Start-up imports only what paints the customer list: the routing engine, the other
    services, forms and help load on first use (they cost a fifth of the start)."""
    loaded = loaded_after_importing(["connex_tui.app"])
    for module in ("connex_tui.data.calls", "connex_tui.data.auth", "connex_tui.data.routes",
                   "connex_tui.data.rate_cards", "connex_tui.data.cli_rules",
                   "connex_tui.engine.pipeline", "connex_tui.widgets.form",
                   "connex_tui.screens.help"):
        assert module not in loaded, module

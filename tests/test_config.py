"""Configuration: YAML file, CONNEX_* environment, command-line overrides, clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from connex_tui.cli import commands as cli
from connex_tui.config import (
    Config,
    ConfigError,
    default_config_path,
    default_database_url,
    load_config,
)


def write(tmp_path: Path, body: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def test_yaml_file_is_loaded(tmp_path):
    path = write(tmp_path, """\
database_url: postgresql+asyncpg://noc@db/connex
operator: alice
role: operator
mouse: yes
animations: false
theme: ansi-light
page_size: 50
keymap:
  quit: ctrl+q
""")
    cfg = load_config(path, env={})
    assert cfg == Config(
        database_url="postgresql+asyncpg://noc@db/connex", operator="alice", role="operator",
        readonly=False, mouse=True, animations=False, theme="ansi-light",
        page_size=50, keymap={"quit": "ctrl+q"}, alerts=True, source=str(path))


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nothing-here"))
    cfg = load_config(env={})
    assert cfg.role == "admin" and cfg.readonly is False and cfg.mouse is False
    assert cfg.animations is False and cfg.page_size == 100
    assert cfg.operator  # the OS user
    assert cfg.source == str(tmp_path / "nothing-here" / "connex-tui" / "config.yaml")


def test_default_file_is_read_from_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_config_path() == tmp_path / "connex-tui" / "config.yaml"
    (tmp_path / "connex-tui").mkdir()
    write(tmp_path / "connex-tui", "operator: from-xdg\n")
    assert load_config(env={}).operator == "from-xdg"


def test_default_database_is_under_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'connex-tui' / 'connex.db'}"
    assert default_database_url() == url
    assert load_config(write(tmp_path, "role: admin\n"), env={}).database_url == url


def test_default_database_without_xdg_data_home(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_database_url() == (
        f"sqlite+aiosqlite:///{tmp_path / '.local/share/connex-tui/connex.db'}")


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, "database_url: sqlite+aiosqlite:///file.db\npage_size: 50\n"
                           "operator: alice\n")
    cfg = load_config(path, env={"CONNEX_DATABASE_URL": "sqlite+aiosqlite:///env.db",
                                 "CONNEX_PAGE_SIZE": "75", "CONNEX_MOUSE": "true",
                                 "CONNEX_ROLE": "viewer", "UNRELATED": "x"})
    assert cfg.database_url == "sqlite+aiosqlite:///env.db"
    assert (cfg.page_size, cfg.mouse, cfg.role, cfg.operator) == (75, True, "viewer", "alice")


def test_bad_environment_value_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="CONNEX_PAGE_SIZE.*page_size.*whole number"):
        load_config(write(tmp_path, ""), env={"CONNEX_PAGE_SIZE": "many"})
    with pytest.raises(ConfigError, match="CONNEX_READONLY.*true or false"):
        load_config(write(tmp_path, ""), env={"CONNEX_READONLY": "perhaps"})


def test_database_url_precedence(tmp_path):
    path = write(tmp_path, "database_url: sqlite+aiosqlite:///file.db\n")
    env = {"CONNEX_DATABASE_URL": "sqlite+aiosqlite:///env.db"}
    flag = {"database_url": "sqlite+aiosqlite:///flag.db"}
    assert load_config(path, env={}).database_url.endswith("/file.db")
    assert load_config(path, env=env).database_url.endswith("/env.db")
    assert load_config(path, env=env, overrides=flag).database_url.endswith("/flag.db")
    # a flag that was not given (None) does not hide the others
    assert load_config(path, env=env, overrides={"database_url": None}).database_url \
        .endswith("/env.db")


def test_database_url_flag_on_the_command_line(tmp_path):
    path = write(tmp_path, "database_url: sqlite+aiosqlite:///file.db\n")
    args = cli._parser().parse_args(["--config", str(path), "--database-url",
                                     "sqlite+aiosqlite:///flag.db"])
    assert cli._config(args).database_url.endswith("/flag.db")
    args = cli._parser().parse_args(["--config", str(path), "db", "upgrade",
                                     "--database-url", "sqlite+aiosqlite:///sub.db"])
    assert cli._config(args).database_url.endswith("/sub.db")


def test_global_database_url_flag_reaches_subcommands(tmp_path):
    path = write(tmp_path, "database_url: sqlite+aiosqlite:///file.db\n")
    args = cli._parser().parse_args(["--config", str(path), "--database-url",
                                     "sqlite+aiosqlite:///flag.db", "db", "upgrade"])
    assert cli._config(args).database_url.endswith("/flag.db")


def test_empty_values_fall_back_to_defaults(tmp_path):
    path = write(tmp_path, 'database_url: ""\noperator: ""\n')
    cfg = load_config(path, env={"CONNEX_DATABASE_URL": ""})
    assert cfg.database_url == default_database_url()
    assert cfg.operator


def test_unknown_key_names_file_and_line(tmp_path):
    path = write(tmp_path, "role: admin\n# a comment\n\ncolour: red\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert str(path) in message and "line 4" in message and "'colour'" in message
    assert "\n" not in message


@pytest.mark.parametrize(("body", "line"), [
    ("role: admin\npage_size: [1, 2\n", "line 2"),
    ("a: b: c\n", "line 1"),
    ("role: admin\n\tmouse: yes\n", "line 2"),
    ("role: admin\nkeymap:\n  quit: 'ctrl+q\n", "line 3"),
])
def test_bad_yaml_names_file_and_line(tmp_path, body, line):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert message.startswith(f"{path}: {line}:"), message
    assert "\n" not in message


def test_file_must_be_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="line 1.*mapping"):
        load_config(write(tmp_path, "- role\n- admin\n"), env={})


def test_empty_file_is_fine(tmp_path):
    assert load_config(write(tmp_path, ""), env={}).role == "admin"


@pytest.mark.parametrize(("body", "key", "what"), [
    ("page_size: lots\n", "page_size", "whole number"),
    ("page_size: 12.5\n", "page_size", "whole number"),
    ("page_size: true\n", "page_size", "whole number"),
    ("mouse: sometimes\n", "mouse", "true or false"),
    ("readonly: 2\n", "readonly", "true or false"),
    ("keymap: ctrl+q\n", "keymap", "mapping"),
    ("theme: [a, b]\n", "theme", "text"),
    ("role: boss\n", "role", "one of viewer, operator, admin"),
])
def test_wrong_type_names_the_key(tmp_path, body, key, what):
    path = write(tmp_path, "animations: no\n" + body)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert f"'{key}'" in message and what in message and str(path) in message
    if key != "role":
        assert "line 2" in message


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.yaml", env={})


@pytest.mark.parametrize("role", ["admin", "operator", "viewer"])
def test_readonly_forces_the_viewer_role(tmp_path, role):
    path = write(tmp_path, f"role: {role}\n")
    assert load_config(path, env={}, overrides={"readonly": True}).role == "viewer"
    assert load_config(path, env={"CONNEX_READONLY": "1"}).role == "viewer"
    assert load_config(write(tmp_path, f"role: {role}\nreadonly: true\n", "ro.yaml"),
                       env={}).role == "viewer"
    assert load_config(path, env={}, overrides={"readonly": None}).role == role


def test_readonly_flag_on_the_command_line(tmp_path):
    path = write(tmp_path, "role: admin\n")
    args = cli._parser().parse_args(["--config", str(path), "--readonly"])
    cfg = cli._config(args)
    assert (cfg.readonly, cfg.role) == (True, "viewer")
    assert cli._config(cli._parser().parse_args(["--config", str(path)])).role == "admin"


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "connex_tui", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("body", ["role: admin\npage_size: [1\n", "colour: red\n",
                                  "page_size: lots\n"])
def test_broken_config_exits_2_with_one_line_and_no_traceback(tmp_path, body):
    path = write(tmp_path, body, "broken.yaml")
    result = _run_cli("--config", str(path), "db", "upgrade", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("connex-tui: config error: ")
    assert str(path) in lines[0]
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("**/*.db"))  # nothing was created


def test_db_upgrade_with_a_good_config(tmp_path):
    db_path = tmp_path / "data" / "connex.db"
    path = write(tmp_path, f"database_url: sqlite+aiosqlite:///{db_path}\n")
    result = _run_cli("--config", str(path), "db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "revision" in result.stdout
    assert db_path.exists()


def test_busy_timeout_is_seconds_and_bounded(tmp_path):
    from connex_tui.config import ConfigError, load_config

    path = tmp_path / "c.yaml"
    path.write_text("busy_timeout: 2.5\n")
    assert load_config(path, env={}).busy_timeout == 2.5
    assert load_config(path, env={"CONNEX_BUSY_TIMEOUT": "0"}).busy_timeout == 0
    assert load_config(tmp_path / "c.yaml", env={}).busy_timeout == 2.5
    path.write_text("busy_timeout: [1]\n")
    with pytest.raises(ConfigError, match="line 1: key 'busy_timeout' must be a number"):
        load_config(path, env={})
    path.write_text("busy_timeout: 601\n")
    with pytest.raises(ConfigError, match="between 0 and 600 seconds"):
        load_config(path, env={})


def test_traffic_is_off_unless_asked_and_its_cps_bounded(tmp_path):
    from connex_tui.config import ConfigError, load_config

    path = tmp_path / "c.yaml"
    path.write_text("theme: ansi-dark\n")
    cfg = load_config(path, env={})
    assert (cfg.traffic, cfg.traffic_cps) == (False, 10.0)
    path.write_text("traffic: yes\ntraffic_cps: 200\n")
    assert (load_config(path, env={}).traffic, load_config(path, env={}).traffic_cps) == (
        True, 200.0)
    assert not load_config(path, env={}, overrides={"traffic": False}).traffic  # --no-traffic
    for bad in ("0", "nan", "5001", "-3"):
        path.write_text(f"traffic_cps: {bad}\n")
        with pytest.raises(ConfigError, match="line 1: key 'traffic_cps' must be above 0"):
            load_config(path, env={})

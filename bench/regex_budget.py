"""The regex budget of one call: `connex-tui simulate` for a customer with 100 CLI rules of
a slow-engine pattern (`^(1|11)+5$`, exponential on a CLI of 1s), against the same simulate
for a customer with no rules, both as subprocesses on a copy of the demo database, best of
`--repeat`. Before the per-call budget this took 100 timeouts (6.5 s).

The 100 rules are written straight into the copy (the services now refuse more than 10
slow-engine patterns a customer): this is a database written before that cap.

    .venv/bin/python bench/regex_budget.py [--rules N] [--repeat R] [--database FILE]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLOW = r"^(1|11)+5$"
AT = "2026-11-25T12:00:00Z"


def customers(db: Path) -> tuple[tuple[int, str], tuple[int, str]]:
    """Two active customers with an ingress IP of their own and no CLI rules."""
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT c.id, min(a.host) FROM customers c JOIN ip_auth a ON a.customer_id = c.id "
        "WHERE c.status = 'active' AND a.direction = 'ingress' AND a.host NOT LIKE '%/%' "
        "AND c.id NOT IN (SELECT customer_id FROM cli_rules) "
        "AND a.host NOT IN (SELECT host FROM ip_auth GROUP BY host HAVING count(*) > 1) "
        "GROUP BY c.id ORDER BY c.id LIMIT 2").fetchall()
    con.close()
    assert len(rows) == 2, rows
    return rows[0], rows[1]


def add_rules(db: Path, customer_id: int, count: int) -> None:
    con = sqlite3.connect(db)
    with con:
        con.executemany(
            "INSERT INTO cli_rules (customer_id, cli, rewrite_cli, p_asserted_id, forced, "
            "position, version, created_at, updated_at) VALUES (?, ?, '', '', 0, ?, 1, "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            [(customer_id, SLOW, i) for i in range(count)])
        con.execute("UPDATE config_state SET generation = generation + 1")
    con.close()


def timed(cmd: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - t, done.stdout


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--database", type=Path, default=ROOT / ".demo" / "connex.db")
    args = ap.parse_args()
    if not args.database.exists():
        print(f"{args.database} does not exist: run `make demo` first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "regex.db"
        shutil.copyfile(args.database, db)
        (plain_id, plain_ip), (slow_id, slow_ip) = customers(db)
        add_rules(db, slow_id, args.rules)
        base = [sys.executable, "-m", "connex_tui", "simulate", "--number", "441632960123",
                "--cli", "1" * 40, "--at", AT, "--no-store", "--json",
                "--database-url", f"sqlite+aiosqlite:///{db}", "--ip"]
        plain, slow = [], []
        for _ in range(args.repeat):
            seconds, _ = timed([*base, plain_ip])
            plain.append(seconds)
            seconds, out = timed([*base, slow_ip])
            slow.append(seconds)
    assert '"CLI Restriction In Effect"' in out, out[:300]
    ratio = min(slow) / min(plain)
    print(f"regex budget: simulate with {args.rules} slow-engine CLI rules vs none "
          f"(process start included, best of {args.repeat})")
    print(f"  {'figure':<40} {'reference':>12} {'ratio':>8} {'target':>9}")
    print(f"  {f'{args.rules} rules of {SLOW}  {min(slow):.2f} s':<40} "
          f"{f'{min(plain):.2f} s':>12} {ratio:>7.2f}x {'<= 2x':>9}   "
          f"{'ok' if ratio <= 2 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

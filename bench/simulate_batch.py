"""`connex-tui simulate --batch` end to end, against the floor of any batch tool in Python.

The floor is a bare Python loop that reads the same CSV, parses each IP (ipaddress) and
writes a 20-key JSON object per line. Both run as subprocesses, process start included,
alternately (the machine is shared and drifts), best of `--repeat`; the figure is the ratio.
The CSV is made from the demo database's ingress IPs, routes and customer card prefixes
(`make demo` builds it), deterministic for a seed.

    .venv/bin/python bench/simulate_batch.py [--lines N] [--repeat R] [--database FILE]
"""

from __future__ import annotations

import argparse
import csv
import ipaddress
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AT = "2026-11-25T12:00:00Z"

FLOOR = """\
import csv, ipaddress, json, sys
out = sys.stdout
with open(sys.argv[1], encoding="utf-8-sig", newline="") as fh:
    for n, row in enumerate(csv.DictReader(fh), 2):
        addr = ipaddress.ip_address(row["ip"])
        obj = {"line": n, "decision": "allow", "sip_code": 200, "reason": "OK",
               "customer": "Acme", "customer_id": 1, "auth": "IP " + str(addr),
               "auth_id": 1, "sip_user_id": None, "route": "", "route_id": 1,
               "number_in": row["number"], "cli_in": row["cli"], "number_out": row["number"],
               "cli_out": row["cli"], "pai": "", "card": "Card", "card_id": 1,
               "currency": "USD", "precision": 4}
        out.write(json.dumps(obj, ensure_ascii=False) + "\\n")
"""


def make_csv(db: Path, lines: int, seed: int, path: Path) -> None:
    """number,cli,ip lines: a customer's ingress IP, one of its routes' tech prefix and a
    prefix of that route's card extended to 11-13 digits; 3 % unknown IPs, 2 % bad lines."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    hosts: dict[int, list[str]] = {}
    for cid, host in con.execute("SELECT customer_id, host FROM ip_auth "
                                 "WHERE direction = 'ingress'"):
        net = ipaddress.ip_network(host, strict=False)
        addr = net.network_address + (1 if net.num_addresses > 1 else 0)
        hosts.setdefault(cid, []).append(str(addr))
    routes: dict[int, list[tuple[str, int]]] = {}
    for cid, tech, card in con.execute("SELECT customer_id, tech_prefix, rate_card_id "
                                       "FROM ingress_routes WHERE enabled"):
        routes.setdefault(cid, []).append((tech, card))
    prefixes: dict[int, list[str]] = {}
    for card, prefix in con.execute("SELECT DISTINCT card_id, prefix FROM rate_rows"):
        prefixes.setdefault(card, []).append(prefix)
    con.close()
    customers = sorted(c for c in hosts if c in routes)
    rnd = random.Random(seed)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["number", "cli", "ip"])
        for _ in range(lines):
            cid = rnd.choice(customers)
            tech, card = rnd.choice(routes[cid])
            base = rnd.choice(prefixes.get(card) or ["1"])
            number = tech + base + "".join(
                rnd.choices("0123456789", k=max(rnd.randint(11, 13) - len(base), 0)))
            cli = "44" + "".join(rnd.choices("0123456789", k=10))
            ip = rnd.choice(hosts[cid])
            roll = rnd.random()
            if roll < 0.03:
                ip = f"198.18.{rnd.randrange(256)}.{rnd.randrange(256)}"
            elif roll < 0.05:
                number = "12ab"
            w.writerow([number, cli, ip])


def timed(cmd: list[str], out: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of the child process."""
    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    with out.open("wb") as fh:
        c, t = cpu(), time.perf_counter()
        subprocess.run(cmd, stdout=fh, check=True)
        return time.perf_counter() - t, cpu() - c


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--database", type=Path, default=ROOT / ".demo" / "connex.db")
    args = ap.parse_args()
    if not args.database.exists():
        print(f"{args.database} does not exist: run `make demo` first", file=sys.stderr)
        return 2
    url = f"sqlite+aiosqlite:///{args.database}"
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        calls, floor_py = d / "calls.csv", d / "floor.py"
        make_csv(args.database, args.lines, args.seed, calls)
        floor_py.write_text(FLOOR)
        floor_cmd = [sys.executable, str(floor_py), str(calls)]
        sim_cmd = [sys.executable, "-m", "connex_tui", "simulate", "--batch", str(calls),
                   "--at", AT, "--database-url", url]
        floors, sims = [], []
        for _ in range(args.repeat):
            floors.append(timed(floor_cmd, d / "floor.out"))
            sims.append(timed(sim_cmd, d / "sim.out"))
        with (d / "sim.out").open() as fh:
            out_lines = sum(1 for _ in fh)
        assert out_lines == args.lines, out_lines
        allowed = (d / "sim.out").read_text().count('"decision": "allow"')
    floor_rate, sim_rate = args.lines / min(w for w, _ in floors), \
        args.lines / min(w for w, _ in sims)
    ratio = sim_rate / floor_rate
    cpu_ratio = min(c for _, c in floors) / min(c for _, c in sims)
    print(f"simulate --batch, {args.lines:,} lines, process start included "
          f"(best of {args.repeat}; {allowed / args.lines:.0%} allowed)")
    print(f"  {'figure':<40} {'reference':>12} {'ratio':>8} {'target':>9}")
    print(f"  {f'simulate --batch {sim_rate:,.0f} /s':<40} "
          f"{f'{floor_rate:,.0f} /s':>12} {ratio:>8.0%} {'>= 40%':>9}   "
          f"{'ok' if ratio >= 0.40 else 'MISSED'}")
    print("    (reference: a bare loop that reads the CSV, parses each IP and writes a "
          "20-key JSON object per line)")
    print(f"  {'the same in CPU seconds (shared machine)':<40} {'':>12} {cpu_ratio:>8.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

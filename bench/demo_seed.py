"""`connex-tui demo seed` at two sizes: peak memory (flat in customers and days) and speed.

Each size is seeded by the command itself in a child process into a fresh SQLite file; its
peak RSS comes from the kernel (wait4), its seconds from the wall clock. The memory figure
is the ratio of the larger run's peak to the smaller's (target <= 1.2: the history is
streamed, so memory does not grow with the CDRs). The speed figure is the larger run's CDRs
a second, whole seeding included, against a bare `executemany` of the same CDR rows (read
back from the seeded file) into a fresh `cdrs` table with its indexes, one transaction per
5,000 rows, measured in the same run (the machine drifts 3-5x between runs).

    .venv/bin/python bench/demo_seed.py [--small N] [--large N] [--days D]
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RSS = 1.2
BATCH = 5000  # the demo's CDRs per transaction
NOW = "2026-11-25T12:00:00+00:00"
CLI = [sys.executable, "-m", "connex_tui"]


def seed(path: Path, customers: int, days: int) -> tuple[float, int, int]:
    """Seconds, peak RSS (bytes) and CDRs of one `demo seed` in a child process."""
    url = f"sqlite+aiosqlite:///{path}"
    start = time.perf_counter()
    proc = subprocess.Popen([*CLI, "--database-url", url, "demo", "seed", "--customers",
                             str(customers), "--days", str(days), "--now", NOW],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"demo seed --customers {customers} failed: {out.strip()}")
    found = re.search(r"([\d,]+) CDRs", out)
    if not found:
        raise SystemExit(f"demo seed printed no CDR count: {out.strip()}")
    return seconds, usage.ru_maxrss * 1024, int(found.group(1).replace(",", ""))


def floor(seeded: Path, fresh: Path) -> tuple[float, int]:
    """Seconds to insert the seeded file's CDRs, bare, into a fresh migrated database."""
    subprocess.run([*CLI, "--database-url", f"sqlite+aiosqlite:///{fresh}", "db", "upgrade"],
                   check=True, capture_output=True)
    with sqlite3.connect(seeded) as src:
        cols = [r[1] for r in src.execute("PRAGMA table_info(cdrs)")]
        rows = src.execute(f"SELECT {', '.join(cols)} FROM cdrs ORDER BY id").fetchall()
    conn = sqlite3.connect(fresh, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    sql = f"INSERT INTO cdrs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    start = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        conn.execute("BEGIN")
        conn.executemany(sql, rows[i:i + BATCH])
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return seconds, len(rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--small", type=int, default=500, help="customers of the smaller run")
    p.add_argument("--large", type=int, default=2500, help="customers of the larger run")
    p.add_argument("--days", type=int, default=1)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for n in (args.small, args.large):
            runs[n] = seed(Path(tmp, f"demo{n}.db"), n, args.days)
            s, rss, cdrs = runs[n]
            print(f"demo seed --customers {n:,} --days {args.days}: {cdrs:,} CDRs in "
                  f"{s:.1f} s, peak RSS {rss / 2**20:,.0f} MiB")
        floor_s, floor_n = floor(Path(tmp, f"demo{args.large}.db"), Path(tmp, "floor.db"))
    ratio = runs[args.large][1] / runs[args.small][1]
    print(f"peak RSS {args.large:,} / {args.small:,} customers: {ratio:.2f}x "
          f"(target <= {TARGET_RSS}x) {'ok' if ratio <= TARGET_RSS else 'MISSED'}")
    s, _rss, cdrs = runs[args.large]
    rate, bare = cdrs / s, floor_n / floor_s
    print(f"seeding {rate:,.0f} CDRs/s (whole seed: customers, rating, rollups, ledger) vs "
          f"bare executemany {bare:,.0f} CDRs/s: {rate / bare:.0%} of the floor")
    return 0 if ratio <= TARGET_RSS else 1


if __name__ == "__main__":
    sys.exit(main())

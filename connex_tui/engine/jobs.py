"""What the periodic jobs charge (docs/domain.md §11 DID rent, §12 packages).

`connex-tui jobs run` asks each job for the charges due at a time, shows them (--dry-run,
the Packages tab's preview) or posts them to the ledger. Each charge names its interval by a
stable `ref`, recorded when it is charged, so a rerun (or a kill and a rerun) finds it
already done and charges nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class DueCharge:
    customer_id: int
    customer: str  # the customer's name, for the preview
    kind: str  # the ledger kind: "package" or "did"
    ref: str  # the interval's stable key, e.g. "package:12:2026-12-01" or "did:7:2026-12"
    interval_start: datetime
    amount: Decimal  # what the customer is charged (>= 0; the ledger gets -amount)
    currency: str
    note: str  # what the preview and the ledger entry say, e.g. "DID 4420... rent 2026-12"

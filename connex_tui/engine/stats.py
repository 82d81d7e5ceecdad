"""Traffic KPIs of docs/domain.md §9, computed from rollup sums (never from raw CDRs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Kpi:
    attempts: int = 0
    connected: int = 0
    duration_ms: int = 0
    pdd_sum_ms: int = 0
    pdd_count: int = 0
    peak_cps: int = 0

    @property
    def asr(self) -> float | None:
        return self.connected * 100 / self.attempts if self.attempts else None

    @property
    def acd_seconds(self) -> float | None:
        return self.duration_ms / 1000 / self.connected if self.connected else None

    @property
    def pdd_ms(self) -> float | None:
        return self.pdd_sum_ms / self.pdd_count if self.pdd_count else None


def fmt_pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def fmt_mss(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = round(seconds)
    return f"{s // 60}:{s % 60:02d}"


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:.1f}s"


def fmt_kpi_row(k: Kpi) -> tuple[str, str, str, str]:
    """ASR, ACD, PDD, CPS cells for the list: '-' when there were no attempts."""
    if not k.attempts:
        return "-", "-", "-", "-"
    return fmt_pct(k.asr), fmt_mss(k.acd_seconds), fmt_ms(k.pdd_ms), str(k.peak_cps)

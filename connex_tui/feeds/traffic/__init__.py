"""The switch simulator behind `connex-tui traffic` and the demo's live traffic."""

from connex_tui.feeds.traffic.callers import TrafficError
from connex_tui.feeds.traffic.switch import Summary, Switch, TrafficOptions

__all__ = ["Summary", "Switch", "TrafficError", "TrafficOptions"]

"""connex-tui: keyboard-driven console for wholesale VoIP carrier operators."""

__version__ = "0.1.0"

"""Command line: `connex-tui` opens the console; subcommands do the non-interactive work."""

from connex_tui.cli.commands import main

__all__ = ["main"]

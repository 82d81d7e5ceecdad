"""CDR import from real switches (docs/domain.md §7): FreeSWITCH, Asterisk, generic CSV."""

from connex_tui.feeds.cdr_import.formats import EXPORT_FIELDS, FORMATS
from connex_tui.feeds.cdr_import.importer import (
    ImportOptions,
    ImportRefused,
    Summary,
    import_cdrs,
)

__all__ = ["EXPORT_FIELDS", "FORMATS", "ImportOptions", "ImportRefused", "Summary",
           "import_cdrs"]

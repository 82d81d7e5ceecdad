"""The command-line progress bar."""

from __future__ import annotations

import io

from connex_tui.cli.progress import Progress


def test_plain_progress_says_each_tenth_and_the_end_once():
    out = io.StringIO()
    bar = Progress("importing", stream=out)
    for done in (0, 5, 10, 50, 100, 100):  # the end reported twice, as a dry run does
        bar(done, 100)
    assert out.getvalue().splitlines() == ["importing: 0%", "importing: 10%",
                                           "importing: 50%", "importing: 100%"]

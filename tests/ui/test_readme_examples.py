"""The README's command-line examples work as written, on the database `make run` opens.

The block is taken from README.md itself and run by bash in a folder laid out like a
checkout after `make run`: `.venv` (this interpreter's virtualenv) and `.demo/connex.db`
(the demo data). Editing the README so that its examples break fails this test.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "The examples run against the demo database that `make run` opens."


def example_block() -> str:
    text = README.read_text(encoding="utf-8")
    assert MARKER in text, "README lost the paragraph that introduces its CLI examples"
    match = re.search(r"```sh\n(.*?)```", text[text.index(MARKER):], re.S)
    assert match, "no sh block after the examples paragraph"
    return match.group(1)


@pytest.mark.skipif(shutil.which("jq") is None, reason="the README pipes into jq")
def test_readme_cli_examples_run_as_written(tmp_path, demo_template):
    venv = Path(sys.prefix)
    if not (venv / "bin" / "activate").exists():
        pytest.skip("not running inside a virtualenv")
    (tmp_path / ".venv").symlink_to(venv)
    (tmp_path / ".demo").mkdir()
    shutil.copy(demo_template, tmp_path / ".demo" / "connex.db")

    block = example_block()
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[0].startswith("ALLOW  would connect via"), out[:3]
    assert 'Customer      Acme Telecom' in done.stdout
    assert re.search(r"^Acme Telecom · Week \d+, \d{4}-\d\d-\d\d to \d\d-\d\d \(UTC\)$",
                     done.stdout, re.M)
    assert re.search(r'^\{"attempts":\d+,"asr":(null|[0-9.]+)\}$', done.stdout, re.M)
    assert "Recalc Acme Telecom" in done.stdout and "rerate only" in done.stdout
    assert out[-2:] == ['[2,"allow","OK","0.0072"]', '[3,"reject","Blocked by Dial Plan",null]']

"""`make demo` tells the story on a pipe: the ALTERs, apply's progress, old ids beside their
new UUIDs, and no escape codes when the output is not a terminal."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from checks import REPO, clean_env


@pytest.mark.slow
def test_the_demo_on_a_pipe() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "uuidpk.demo"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=clean_env(UUIDPK_DEMO_ORDERS="300"),
        timeout=120,
        check=False,
    )
    seconds = time.monotonic() - started
    text = result.stdout + result.stderr
    assert result.returncode == 0, text
    assert "\x1b" not in text and "\r" not in text
    assert "-- convert columns" in text and "ALTER COLUMN" in text
    assert "DECLARE" not in text  # the derivation block is not what the demo shows
    assert "uuidpk: convert columns (" in text and "tables were locked" in text
    assert len(re.findall(r"order O-\d+: id +\d+ -> [0-9a-f-]{36}", text)) == 3, text
    assert "all identical" in text
    assert seconds < 60, seconds

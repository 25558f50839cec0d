"""squawk, the PostgreSQL migration linter, on generated offline scripts: every rule that does
not apply to one all-or-nothing transaction is named with its reason and ignored file-wide,
so the real squawk passes them clean; without those lines it finds the issues."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pgutil
import pytest
from checks import assert_ok, shop_copy, uuidpk

from uuidpk.formats.lint import OFFLINE_REASONS, ignore_comments, rules_in

SQUAWK = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
needs_squawk = pytest.mark.skipif(
    not Path(SQUAWK).exists(), reason="squawk not installed (pip install squawk-cli: dev extra)"
)


def _squawk(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "migrate.sql"
    path.write_text(script)
    return subprocess.run(
        [SQUAWK, "--reporter", "gcc", str(path)], capture_output=True, text=True, check=False
    )


@needs_squawk
def test_squawk_passes_an_offline_script(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    dsn = shop_copy(pg, request)
    args = ("--table", "order_order", "--keep-old-id", "--mapping-table")
    script = assert_ok(uuidpk("generate", "--dsn", dsn, *args)).out
    result = _squawk(script, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # Each ignored rule has its reason in the header.
    for rule in rules_in(script.split("BEGIN;", 1)[1]):
        assert f"--   {rule}: {OFFLINE_REASONS[rule]}" in script
        assert f"-- squawk-ignore-file {rule}\n" in script
    # Without the ignores squawk has plenty to say: the test can fail.
    bare = "\n".join(line for line in script.splitlines() if "squawk-ignore" not in line)
    found = _squawk(bare, tmp_path)
    assert found.returncode != 0 and found.stdout.count("warning") >= 10, found.stdout


@needs_squawk
@pytest.mark.corpus
@pytest.mark.parametrize("corpus", ["forum", "chinook_identity"])
def test_squawk_passes_corpus_scripts(
    corpus_dsn_factory: Callable[[str], str], corpus: str, tmp_path: Path
) -> None:
    script = assert_ok(uuidpk("generate", "--dsn", corpus_dsn_factory(corpus), "--all")).out
    result = _squawk(script, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_only_rules_with_a_reason_are_ignored() -> None:
    text = 'ALTER TABLE "t"\n    ALTER COLUMN "id" TYPE uuid USING f("id");\nDROP SEQUENCE "s";'
    online = {"ban-drop-sequence": "the old column's sequence, after cutover"}
    lines = ignore_comments(text, online)
    assert lines[-1] == "squawk-ignore-file ban-drop-sequence"
    assert not any("changing-column-type" in line for line in lines)
    assert ignore_comments("SELECT 1;") == []

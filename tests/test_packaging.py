"""The built distribution carries sql_templates/ and an installed (non-editable) copy finds them.

sdist -> wheel -> fresh venv, as a user's `pip install uuidpk` would go; the repository checkout
is kept off sys.path so the top-level sql_templates/ cannot stand in for the packaged one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "sql_templates"


def repo_template_files() -> list[str]:
    return sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*") if p.is_file())


def _hatchling(what: str, source: Path, out: Path) -> Path:
    """Run hatchling's PEP 517 hook `what` in `source` (no build isolation: offline, fast)."""
    code = f"import hatchling.build as b; print(b.{what}({str(out)!r}))"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return out / proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("hatchling", reason="hatchling is in the dev extra; run `make venv`")
    tmp = tmp_path_factory.mktemp("packaging")
    dist = tmp / "dist"
    dist.mkdir()
    sdist = _hatchling("build_sdist", REPO, dist)
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp / "src", filter="data")
    (unpacked,) = (tmp / "src").iterdir()
    wheel = _hatchling("build_wheel", unpacked, dist)
    return {"tmp": tmp, "sdist": sdist, "wheel": wheel}


def test_sdist_contains_templates(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as tar:
        names = {m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name}
    missing = [f for f in repo_template_files() if f"sql_templates/{f}" not in names]
    assert not missing, f"sdist lacks {missing}"
    assert "pyproject.toml" in names


def test_sdist_carries_the_test_corpora(built: dict[str, Path]) -> None:
    """The sdist ships tests/, so it ships the data they load (with sources and licences)."""
    corpus = REPO / "tests" / "corpus"
    with tarfile.open(built["sdist"]) as tar:
        names = {m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name}
    files = sorted(p.relative_to(REPO).as_posix() for p in corpus.rglob("*") if p.is_file())
    assert any(f.endswith("/LICENSE") for f in files)
    assert [f for f in files if f not in names] == []


def test_wheel_maps_templates_into_package(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as whl:
        names = set(whl.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = whl.read(entry_points).decode()
    missing = [f for f in repo_template_files() if f"uuidpk/sql_templates/{f}" not in names]
    assert not missing, f"wheel lacks {missing}"
    assert not any(n.startswith("sql_templates/") for n in names), "templates outside the package"
    assert "uuidpk = uuidpk.cli:main" in scripts


def test_installed_wheel_finds_every_template(built: dict[str, Path]) -> None:
    target = built["tmp"] / "venv"
    venv.EnvBuilder(with_pip=False, clear=True).create(target)
    python = target / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    proc = subprocess.run(
        [*install, "--no-deps", "--no-index", str(built["wheel"])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr

    # The runtime dependencies come from the environment running the tests: appended with a
    # .pth line, that directory's own .pth files (the editable install of this checkout) are
    # not processed, so `uuidpk` can only resolve to the installed wheel.
    (site,) = {Path(p) for p in target.glob("lib/python*/site-packages")}
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_uuidpk_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")

    check = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        import uuidpk.templates as t
        names = t.names()
        loaded = {n: len(t.load(n)) for n in names}
        print(json.dumps({
            "module": t.__file__,
            "names": names,
            "loaded": loaded,
            "shipped": sorted(
                p.relative_to(Path(t.__file__).parent / "sql_templates").as_posix()
                for p in (Path(t.__file__).parent / "sql_templates").rglob("*") if p.is_file()
            ),
        }))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    proc = subprocess.run(
        [str(python), "-I", "-c", check],
        cwd=built["tmp"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)

    assert Path(result["module"]).is_relative_to(site), result["module"]
    expected_sql = sorted(f for f in repo_template_files() if f.endswith(".sql"))
    assert result["names"] == expected_sql
    assert result["shipped"] == repo_template_files()
    for name in expected_sql:
        assert result["loaded"][name] == len((TEMPLATES / name).read_text(encoding="utf-8"))

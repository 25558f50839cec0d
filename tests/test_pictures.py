"""inspect --format mermaid / dot: the closure drawn, hostile names escaped for each syntax,
and the dot text parsed by Graphviz itself where it is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pgutil
import pytest
from checks import assert_ok, shop_copy, uuidpk

from uuidpk.formats.pictures import dot, mermaid

HOSTILE = 'Order "x"\n#35;|]}) <b>&amp; \\N --> end\x1b[2J\u202e'


def _document(name: str = HOSTILE, column: str = 'the "id"') -> dict[str, Any]:
    relation = {
        "schema": "app",
        "table": name + " lines",
        "column": column + "_ref",
        "type": "integer",
        "kind": "many-to-one",
        "references": {"schema": "app", "table": name, "column": column},
    }
    return {
        "keys": [
            {
                "schema": "app",
                "table": name,
                "column": column,
                "type": "integer",
                "closure": {"relations": [relation, {**relation, "kind": "soft"}]},
                "problems": [
                    {"severity": "blocker", "what": "view", "name": name, "reason": "x"},
                    {"severity": "note", "what": "ordering", "name": name, "reason": "y"},
                ],
            }
        ]
    }


def _outside_quotes(line: str) -> str:
    return re.sub(r'"[^"]*"', '""', line)


def test_mermaid_is_balanced_and_escaped() -> None:
    text = mermaid(_document())
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    for line in lines[1:]:
        assert line.count('"') % 2 == 0, line  # every label closes
        bare = _outside_quotes(line)
        for opening, closing in ("[]", "{}", "()", "||"):
            if opening == closing:
                assert bare.count(opening) % 2 == 0, line
            else:
                assert bare.count(opening) == bare.count(closing), line
        inside = "".join(re.findall(r'"([^"]*)"', line))
        # Inside a label only safe characters, <br/> between lines and #NNN; entities.
        assert re.fullmatch(r"(?:[A-Za-z0-9 _.,:()\-]|<br/>|#\d+;)*", inside), line
    assert len(lines) == 1 + 2 + 2 + 2 + 1  # tables, arrows, the blocker and its link, style
    assert "\x1b" not in text and "\u202e" not in text
    assert "#34;" in text and "#60;b#62;" in text  # the quote and <b> as entities


def test_mermaid_names_every_table_and_the_blocker() -> None:
    text = mermaid(_document("order_order", "id"))
    assert 't0["app.order_order<br/>PK id integer"]' in text
    assert 't1 -->|"many-to-one<br/>id_ref"| t0' in text
    assert "t1 -.->" in text  # a soft reference: dashed
    assert re.search(r'b0\{\{"blocker: view order_order"\}\}:::stop', text), text
    assert "ordering" not in text  # notes are not drawn


def test_dot_escapes_quotes_and_backslashes() -> None:
    text = dot(_document())
    for line in text.splitlines():
        unescaped = re.sub(r"\\.", "", line)
        assert unescaped.count('"') % 2 == 0, line
    assert '\\"x\\"' in text and "\\\\N" in text and "\x1b" not in text


@pytest.mark.skipif(
    shutil.which("dot") is None, reason="graphviz not installed (apt install graphviz)"
)
def test_dot_parses_with_graphviz() -> None:
    result = subprocess.run(
        ["dot", "-Tsvg"], input=dot(_document()), capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and not result.stderr, result.stderr
    assert "Order &quot;x&quot;" in result.stdout and "\\N" in result.stdout


@pytest.fixture
def shop_dsn(pg: pgutil.PgCluster, request: pytest.FixtureRequest) -> str:
    return shop_copy(pg, request)


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_inspect_draws_the_closure(shop_dsn: str, fmt: str) -> None:
    text = assert_ok(
        uuidpk("inspect", "--dsn", shop_dsn, "--table", "order_order", "--format", fmt)
    ).out
    for table in ("public.order_order", "public.order_orderline", "public.invoice_invoice"):
        assert table in text
    assert "many-to-one" in text
    if fmt == "dot" and shutil.which("dot"):
        result = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr

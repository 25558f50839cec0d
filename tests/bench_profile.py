"""Where uuidpk's offline conversion spends its time, and what the alternatives cost.

Runs on the shop template `tests/bench.py --keep-server` leaves behind (or builds it), each
experiment on its own copy, every measure as wall seconds, server CPU seconds (all processes of
the server, from /proc: steadier than wall time on a shared machine) and WAL written:

    steps    the script of `uuidpk generate`, statement by statement, in one transaction
    memory   the largest table's ALTER under maintenance_work_mem 64MB/256MB/1GB and
             max_parallel_maintenance_workers 0/2
    hash     the derivation alone (SELECT count(expr)) per closure column, current vs proposed,
             and the largest table's ALTER with cheap sorted / cheap random / current / proposed
             expressions (rewrite + index cost apart from hashing)
    expr     candidate derivation expressions: equal to uuidpk.derive.derive_uuid? CPU per row?
    fk       restoring the foreign keys: ADD (validating) vs ANALYZE first vs NOT VALID +
             VALIDATE vs NOT VALID alone (the validation's whole cost), and the order
    index    CREATE INDEX on 3M random vs sorted uuids, 64MB vs 1GB
    script   the whole generated script as is vs with the proposed changes applied to its text

    .venv/bin/python tests/bench_profile.py --dsn 'host=127.0.0.1 port=... user=postgres' \\
        --orders 1000000 steps hash fk

Not part of `make bench`; a tool for proposing changes with numbers.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench
import pgutil

from uuidpk.derive import derive_uuid

ROOT = "public.order_order"
# (table, column) of the closure of order_order.id, and the foreign keys as the shop names them.
CLOSURE = (
    ("order_order", "id"),
    ("order_order", "original_id"),
    ("invoice_invoice", "order_id"),
    ("order_orderline", "order_id"),
    ("order_order_gift_cards", "order_id"),
    ("payment_payment", "order_id"),
)
FKS = {
    "invoice_invoice": "invoice_invoice_order_id_c5fc9ae9_fk_order_order_id",
    "order_order": "order_order_original_id_1dd680dd_fk_order_order_id",
    "order_order_gift_cards": "order_order_gift_cards_order_id_ce5608c4_fk_order_order_id",
    "order_orderline": "order_orderline_order_id_eb04ec2d_fk_order_order_id",
    "payment_payment": "payment_payment_order_id_22b45881_fk_order_order_id",
}
FK_COLUMN = {t: ("original_id" if t == "order_order" else "order_id") for t in FKS}
FK_ACTIONS = {
    "invoice_invoice": "ON DELETE CASCADE",
    "order_order": "ON DELETE SET NULL",
    "order_order_gift_cards": "ON DELETE CASCADE",
    "order_orderline": "ON DELETE CASCADE",
    "payment_payment": "",
}
KEY = bytes(range(32))
KEY_SQL = "'\\x" + KEY.hex() + "'::bytea"

# The derivation as uuidpk renders it today (sql_templates/migrate/key_function_*.sql): text of
# the value through decode(replace(...), 'escape'), hash, hex, two overlays, cast.
CURRENT_BODY = (
    "overlay(overlay(encode(substring(sha256({key} || decode(replace(root, '\\', '\\\\'), "
    "'escape') || '\\x00'::bytea || decode(replace(v, '\\', '\\\\'), 'escape')) FROM 1 FOR 16), "
    "'hex') PLACING '8' FROM 13) PLACING '8' FROM 17)::uuid"
)
# Version and variant nibbles set on the 16 bytes with set_bit (bits count from the least
# significant bit of byte 0: bits 52-55 are the high nibble of byte 6, 68-71 that of byte 8),
# instead of two overlays on the hex text -- a text overlay in a UTF8 database goes through
# multibyte-aware substring and concatenation, four allocations each.
_NIBBLES = (
    "set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit({digest}, "
    "55, 1), 54, 0), 53, 0), 52, 0), 71, 1), 70, 0), 69, 0), 68, 0)"
)
PROPOSED_TEXT_BODY = (
    "encode("
    + _NIBBLES.format(
        digest="substring(sha256({key} || decode(replace(root, '\\', '\\\\'), 'escape') "
        "|| '\\x00'::bytea || decode(replace(v, '\\', '\\\\'), 'escape')) FROM 1 FOR 16)"
    )
    + ", 'hex')::uuid"
)
# For integer keys (v bigint): the decimal text as bytes through the bytea input function,
# which is the identity on text without a backslash -- and a number's text has none.
PROPOSED_INT_BODY = (
    "encode("
    + _NIBBLES.format(
        digest="substring(sha256({key} || decode(replace(root, '\\', '\\\\'), 'escape') "
        "|| '\\x00'::bytea || v::text::bytea) FROM 1 FOR 16)"
    )
    + ", 'hex')::uuid"
)


def log(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Measure:
    wall: float = 0.0
    cpu: float | None = None
    wal_mb: float = 0.0

    def __str__(self) -> str:
        cpu = "-" if self.cpu is None else f"{self.cpu:7.2f}"
        return f"wall {self.wall:7.2f} s  server CPU {cpu} s  WAL {self.wal_mb:6.0f} MB"


class Lab:
    """A server, the template of one scale, and measures taken on copies of it."""

    def __init__(self, cluster: pgutil.PgCluster, orders: int) -> None:
        self.cluster = cluster
        self.orders = orders
        self.template = bench.template_name(orders)
        self.pm = bench.postmaster_pid(cluster)
        self.admin = cluster.connect_admin()

    @contextmanager
    def measure(self) -> Iterator[Measure]:
        m = Measure()
        lsn0, cpu0, t0 = bench.wal_lsn(self.admin), bench.server_cpu(self.pm), time.perf_counter()
        yield m
        m.wall = time.perf_counter() - t0
        cpu1 = bench.server_cpu(self.pm)
        m.cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
        m.wal_mb = (bench.wal_lsn(self.admin) - lsn0) / 2**20

    @contextmanager
    def copy(self, hint: str) -> Iterator[psycopg.Connection]:
        name = f"uuidpk_profile_{self.orders}_{hint}"
        bench.copy_database(self.cluster, self.template, name)
        try:
            with psycopg.connect(self.cluster.dsn(name), autocommit=True) as conn:
                yield conn
        finally:
            self.cluster.drop_database(name)

    def checkpoint(self) -> None:
        self.admin.execute("CHECKPOINT")


def key_function(body: str, signature: str = "root text, v text") -> str:
    return (
        f"CREATE FUNCTION pg_temp.uuidpk_uuid({signature}) RETURNS uuid "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $b$SELECT " + body.format(key=KEY_SQL) + "$b$"
    )


def drop_fks(conn: psycopg.Connection, tables: Sequence[str]) -> None:
    for table in tables:
        conn.execute(f"ALTER TABLE public.{table} DROP CONSTRAINT {FKS[table]}")


def add_fk(table: str, not_valid: bool = False) -> str:
    return (
        f"ALTER TABLE public.{table} ADD CONSTRAINT {FKS[table]} FOREIGN KEY "
        f"({FK_COLUMN[table]}) REFERENCES public.order_order (id) {FK_ACTIONS[table]} "
        "DEFERRABLE INITIALLY DEFERRED" + (" NOT VALID" if not_valid else "")
    )


def alter_sql(table: str, using: str) -> str:
    """The table's closure columns to uuid, `using` with {col} for the column."""
    columns = [c for t, c in CLOSURE if t == table]
    actions = []
    if table == "order_order":
        actions.append("ALTER COLUMN id DROP DEFAULT")
    actions += [f"ALTER COLUMN {c} TYPE uuid USING {using.format(col=c)}" for c in columns]
    return f"ALTER TABLE public.{table} " + ", ".join(actions)


CURRENT_USING = "pg_temp.uuidpk_uuid('public.order_order', {col}::text)"
PROPOSED_USING = "pg_temp.uuidpk_uuid('public.order_order', {col}::bigint)"


# ---------------------------------------------------------------------------------------------
# Experiments


def split_script(text: str) -> list[tuple[str, str]]:
    """(step, statement) from a generated script: `-- step` comment lines name the step;
    statements end with ';' at the end of a line outside dollar quotes; psql meta-commands and
    BEGIN/COMMIT are left out (the caller runs its own transaction)."""
    out: list[tuple[str, str]] = []
    step, buf, quote = "", [], None
    for line in text.splitlines():
        if quote is None and not buf:
            if line.startswith("-- "):
                step = line[3:].strip()
                continue
            if not line.strip() or line.startswith("\\") or line.strip() in ("BEGIN;", "COMMIT;"):
                continue
        buf.append(line)
        for tag in re.findall(r"\$[A-Za-z_]*\$", line):
            if quote is None:
                quote = tag
            elif tag == quote:
                quote = None
        if quote is None and line.rstrip().endswith(";"):
            out.append((step, "\n".join(buf).rstrip().rstrip(";")))
            buf = []
    return out


def generate_script(dsn: str) -> str:
    proc = subprocess.run(
        bench.uuidpk_argv("generate", "--dsn", dsn, "--table", ROOT),
        capture_output=True,
        text=True,
        cwd=bench.REPO,
        check=True,
    )
    return proc.stdout


def run_statements(lab: Lab, conn: psycopg.Connection, statements: list[tuple[str, str]]) -> None:
    per_step: dict[str, list[Measure]] = {}
    lab.checkpoint()
    with lab.measure() as total:
        conn.execute("BEGIN")
        for step, statement in statements:
            with lab.measure() as m:
                conn.execute(statement)
            per_step.setdefault(step, []).append(m)
            short = " ".join(statement.split())[:110]
            log(f"    {m}  {short}")
        with lab.measure() as m:
            conn.execute("COMMIT")
        per_step.setdefault("COMMIT", []).append(m)
    log("  per step:")
    for step, measures in per_step.items():
        cpu = [x.cpu for x in measures if x.cpu is not None]
        log(
            f"    {step:<40} wall {sum(x.wall for x in measures):7.2f} s  server CPU "
            f"{sum(cpu):7.2f} s  WAL {sum(x.wal_mb for x in measures):6.0f} MB"
        )
    log(f"  total: {total}")


def exp_steps(lab: Lab) -> None:
    log("\n## steps: the generated script, statement by statement (one transaction)")
    with lab.copy("steps") as conn:
        script = generate_script(lab.cluster.dsn(conn.info.dbname))
        run_statements(lab, conn, split_script(script))


def proposed_script(script: str) -> str:
    """The generated script with the proposals applied to its text (a stand-in for the
    template changes, to measure them end to end):
    - the derivation body without overlays (set_bit on the bytes), and an overload for integer
      keys that skips decode(replace(...));
    - integer columns passed as ::bigint instead of ::text.
    (ANALYZE before the foreign keys come back was tried: the validation plan is a hash anti
    join either way, and ANALYZE costs 0.6 s at 1M orders.)"""
    text = script.replace(
        "overlay(overlay(encode(substring(sha256(%L::bytea || decode(replace(root, '\\', '\\\\'), "
        "'escape') || '\\x00'::bytea || decode(replace(v, '\\', '\\\\'), 'escape')) FROM 1 FOR 16),"
        " 'hex') PLACING '8' FROM 13) PLACING '8' FROM 17)::uuid",
        PROPOSED_TEXT_BODY.replace("{key}", "%L::bytea"),
    )
    if text == script:
        raise SystemExit("the key function's body changed: update proposed_script()")
    # The DO block creates the (root text, v text) function; add the bigint overload next to it.
    text = re.sub(
        r"(EXECUTE format\(\$f\$CREATE FUNCTION pg_temp\.uuidpk_uuid\(root text, v text\).*?"
        r"\$b\$\$f\$, k\);)",
        lambda m: (
            m.group(1)
            + "\n"
            + m.group(1)
            .replace("v text", "v bigint")
            .replace(
                "decode(replace(v, '\\', '\\\\'), 'escape')",
                "v::text::bytea",
            )
        ),
        text,
        flags=re.S,
    )
    text = re.sub(r'(pg_temp\.uuidpk_uuid\(\'[^\']*\', "[^"]+")::text\)', r"\1::bigint)", text)
    text = text.replace(
        "-- restore foreign keys\n",
        "-- restore foreign keys\nANALYZE " + ", ".join(f"public.{t}" for t in FKS) + ";\n",
    )
    text = text.replace(
        "DROP FUNCTION pg_temp.uuidpk_uuid(text, text);",
        "DROP FUNCTION pg_temp.uuidpk_uuid(text, text);\n"
        "DROP FUNCTION pg_temp.uuidpk_uuid(text, bigint);",
    )
    return text


def exp_script(lab: Lab, repeat: int) -> None:
    log("\n## script: generated script as is vs with the proposals (psql, one transaction)")
    results: dict[str, list[Measure]] = {"current": [], "proposed": []}
    for rep in range(repeat):
        for label in results:
            with lab.copy(f"script_{label}") as conn:
                dsn = lab.cluster.dsn(conn.info.dbname)
                script = generate_script(dsn)
                if label == "proposed":
                    script = proposed_script(script)
                lab.checkpoint()
                with lab.measure() as m:
                    subprocess.run(
                        bench.psql_argv(dsn, "-f", "-"), input=script, text=True, check=True
                    )
                results[label].append(m)
                log(f"  {label:<9} #{rep + 1}: {m}")
    for label, ms in results.items():
        cpu = [m.cpu for m in ms if m.cpu is not None]
        log(
            f"  {label:<9} median: wall {statistics.median(m.wall for m in ms):7.2f} s  "
            f"server CPU {statistics.median(cpu) if cpu else 0:7.2f} s"
        )


def exp_memory(lab: Lab) -> None:
    log("\n## memory: ALTER of order_orderline (3 indexes, 2 of them on the key) per setting")
    with lab.copy("memory") as conn:
        conn.execute(key_function(CURRENT_BODY))
        for workers in (0, 2):
            for mwm in ("64MB", "256MB", "1GB"):
                lab.checkpoint()
                conn.execute("BEGIN")
                conn.execute(f"SET LOCAL maintenance_work_mem = '{mwm}'")
                conn.execute(f"SET LOCAL max_parallel_maintenance_workers = {workers}")
                drop_fks(conn, ["order_orderline"])
                with lab.measure() as m:
                    conn.execute(alter_sql("order_orderline", CURRENT_USING))
                conn.execute("ROLLBACK")
                log(f"  maintenance_work_mem {mwm:>5}, parallel workers {workers}: {m}")


def exp_hash(lab: Lab) -> None:
    log("\n## hash: the derivation alone per column (SELECT count(expr)), current vs proposed")
    with lab.copy("hash") as conn:
        conn.execute(key_function(CURRENT_BODY))
        conn.execute(key_function(PROPOSED_INT_BODY, "root text, v bigint"))
        conn.execute("SET max_parallel_workers_per_gather = 0")
        conn.execute("SET jit = off")
        totals = {"scan": 0.0, "current": 0.0, "proposed": 0.0}
        for table, column in CLOSURE:
            row: dict[str, float] = {}
            for label, expr in (
                ("scan", f"{column}::text"),
                ("current", CURRENT_USING.format(col=column)),
                ("proposed", PROPOSED_USING.format(col=column)),
            ):
                cpu = []
                for _ in range(3):
                    with lab.measure() as m:
                        conn.execute(f"SELECT count({expr}) FROM public.{table}").fetchone()
                    cpu.append(m.cpu or m.wall)
                row[label] = statistics.median(cpu)
                totals[label] += row[label]
            log(
                f"  {table + '.' + column:<32} scan {row['scan']:6.2f}  current "
                f"{row['current']:6.2f}  proposed {row['proposed']:6.2f}  (server CPU s)"
            )
        log(
            f"  {'all closure columns':<32} scan {totals['scan']:6.2f}  current "
            f"{totals['current']:6.2f}  proposed {totals['proposed']:6.2f}"
        )
        log("\n  ALTER of order_orderline by expression (maintenance_work_mem 1GB), rolled back:")
        cases = (
            ("int -> bigint of another column (rewrite+indexes)", None),
            ("sorted cheap uuid lpad(to_hex(col),32,'0')", "lpad(to_hex({col}), 32, '0')::uuid"),
            (
                "random cheap uuid from hashint8",
                "(lpad(to_hex(hashint8({col})), 16, '0') || "
                "lpad(to_hex(hashint8({col} + 1)), 16, '0'))::uuid",
            ),
            ("current derivation", CURRENT_USING),
            ("proposed derivation", PROPOSED_USING),
        )
        for label, using in cases:
            lab.checkpoint()
            conn.execute("BEGIN")
            conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
            drop_fks(conn, ["order_orderline"])
            with lab.measure() as m:
                if using is None:
                    conn.execute("ALTER TABLE public.order_orderline ALTER quantity TYPE bigint")
                else:
                    conn.execute(alter_sql("order_orderline", using))
            conn.execute("ROLLBACK")
            log(f"    {label:<50} {m}")


def exp_expr(lab: Lab) -> None:
    log("\n## expr: candidate derivations: equal to derive_uuid? server CPU per row")
    values = [0, 1, -1, 7, 42, 99999, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63), 10**12 + 7]
    candidates = {
        "current (text)": (CURRENT_BODY, "root text, v text", "v::text"),
        "proposed (text)": (PROPOSED_TEXT_BODY, "root text, v text", "v::text"),
        "proposed (bigint)": (PROPOSED_INT_BODY, "root text, v bigint", "v"),
    }
    with lab.copy("expr") as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")
        conn.execute("SET jit = off")
        for label, (body, signature, arg) in candidates.items():
            name = "uuidpk_" + re.sub(r"\W+", "_", label).strip("_")
            cast = "::text" if "v text" in signature else ""
            conn.execute(key_function(body, signature).replace("uuidpk_uuid", name))
            wrong = []
            for v in values:
                row = conn.execute(
                    f"SELECT pg_temp.{name}(%s, {arg}) FROM (SELECT %s::bigint AS v) s",
                    [ROOT, v],
                ).fetchone()
                assert row is not None
                if row[0] != derive_uuid(KEY, ROOT, v):
                    wrong.append(v)
            text_ok = ""
            if "v text" in signature:
                odd = ["O-1", "a\\b", "é", "\\x41", "x\x01y"]
                bad = [
                    s
                    for s in odd
                    if conn.execute(f"SELECT pg_temp.{name}(%s, %s)", [ROOT, s]).fetchone()
                    != (derive_uuid(KEY, ROOT, s),)
                ]
                text_ok = f", text values {'equal' if not bad else f'DIFFER: {bad}'}"
            inlined = conn.execute(
                f"EXPLAIN (VERBOSE) SELECT pg_temp.{name}('{ROOT}', order_id{cast}) "
                "FROM public.order_orderline"
            ).fetchall()
            is_inlined = "sha256" in " ".join(r[0] for r in inlined)
            cpu = []
            for _ in range(3):
                with lab.measure() as m:
                    conn.execute(
                        f"SELECT count(pg_temp.{name}('{ROOT}', order_id{cast})) "
                        "FROM public.order_orderline"
                    ).fetchone()
                cpu.append(m.cpu or m.wall)
            rows = conn.execute("SELECT count(*) FROM public.order_orderline").fetchone()
            assert rows is not None
            per_row = statistics.median(cpu) / rows[0] * 1e6
            verdict = "equal" if not wrong else f"DIFFER at {wrong}"
            log(
                f"  {label:<20} integers {verdict}{text_ok}; inlined: {is_inlined}; "
                f"{per_row:.2f} us/row (server CPU, incl. scan)"
            )


def exp_fk(lab: Lab) -> None:
    log("\n## fk: restoring the five foreign keys after the conversion")
    with lab.copy("fk") as conn:
        conn.execute("BEGIN")
        conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
        conn.execute(key_function(CURRENT_BODY))
        drop_fks(conn, list(FKS))
        log("  converting (once)...")
        for table in (
            "invoice_invoice",
            "order_order",
            "order_order_gift_cards",
            "order_orderline",
            "payment_payment",
        ):
            conn.execute(alter_sql(table, CURRENT_USING))
        conn.execute("SAVEPOINT converted")
        order = list(FKS)
        variants = {
            "ADD FOREIGN KEY (validates), as today": [add_fk(t) for t in order],
            "ANALYZE the 5 tables, then ADD": [
                "ANALYZE " + ", ".join(f"public.{t}" for t in order),
                *[add_fk(t) for t in order],
            ],
            "ADD ... NOT VALID, then VALIDATE each": [add_fk(t, True) for t in order]
            + [f"ALTER TABLE public.{t} VALIDATE CONSTRAINT {FKS[t]}" for t in order],
            "ADD in reverse order": [add_fk(t) for t in reversed(order)],
            "ADD ... NOT VALID only (no validation: its whole cost)": [
                add_fk(t, True) for t in order
            ],
        }
        for label, statements in variants.items():
            lab.checkpoint()
            parts = []
            with lab.measure() as m:
                for statement in statements:
                    with lab.measure() as one:
                        conn.execute(statement)
                    parts.append(f"{one.wall:.2f}")
            conn.execute("ROLLBACK TO SAVEPOINT converted")
            log(f"  {label:<55} {m}  [{' '.join(parts)}]")
        plan = conn.execute(
            "EXPLAIN SELECT fk.order_id FROM ONLY public.order_orderline fk LEFT JOIN ONLY "
            "public.order_order pk ON pk.id = fk.order_id WHERE pk.id IS NULL "
            "AND fk.order_id IS NOT NULL"
        ).fetchall()
        log("  the validation query's plan (work_mem as RI_Initial_Check sets it is larger):")
        for (line,) in plan:
            log(f"    {line}")
        conn.execute("ROLLBACK")


def exp_index(lab: Lab) -> None:
    log("\n## index: CREATE INDEX on 3M uuids, random vs sorted, by maintenance_work_mem")
    with lab.copy("index") as conn:
        conn.execute(
            "CREATE TABLE random_ids AS SELECT (lpad(to_hex(hashint8(i)), 16, '0') || "
            "lpad(to_hex(hashint8(i + 1)), 16, '0'))::uuid AS id FROM generate_series(1, 3000000) i"
        )
        conn.execute("CREATE TABLE sorted_ids AS SELECT id FROM random_ids ORDER BY id")
        conn.execute("CREATE TABLE int_ids AS SELECT i AS id FROM generate_series(1, 3000000) i")
        conn.execute("VACUUM ANALYZE random_ids, sorted_ids, int_ids")
        for mwm in ("64MB", "1GB"):
            for table in ("int_ids", "sorted_ids", "random_ids"):
                lab.checkpoint()
                conn.execute("BEGIN")
                conn.execute(f"SET LOCAL maintenance_work_mem = '{mwm}'")
                conn.execute("SET LOCAL max_parallel_maintenance_workers = 0")
                with lab.measure() as m:
                    conn.execute(f"CREATE INDEX ON {table} (id)")
                conn.execute("ROLLBACK")
                log(f"  {table:<11} maintenance_work_mem {mwm:>5}: {m}")


EXPERIMENTS = {
    "steps": exp_steps,
    "memory": exp_memory,
    "hash": exp_hash,
    "expr": exp_expr,
    "fk": exp_fk,
    "index": exp_index,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="*", default=[*EXPERIMENTS, "script"])
    parser.add_argument("--dsn", help="superuser DSN of the server bench.py --keep-server left")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of the script experiment")
    args = parser.parse_args(argv)
    cluster = bench.start_cluster(args.dsn, {})
    try:
        load = bench.build_template(cluster, args.orders)
        if load is not None:
            log(f"loaded {args.orders:,} orders in {load:.0f} s")
        lab = Lab(cluster, args.orders)
        log(f"profile at {args.orders:,} orders; load average {os.getloadavg()}")
        for name in args.experiments:
            if name == "script":
                exp_script(lab, args.repeat)
            else:
                EXPERIMENTS[name](lab)
    finally:
        if not args.dsn:
            cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

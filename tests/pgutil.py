"""PostgreSQL for the test suite: a throwaway server, per-test databases, the test corpora.

`UUIDPK_TEST_DSN` (a superuser DSN) selects an existing server; otherwise `start_server()` runs
initdb/pg_ctl into a temporary directory (as the `postgres` OS user when we are root, because
PostgreSQL refuses to run as root) and `PgCluster.close()` stops and removes it.

Corpora from tests/corpus/ (real schemas and data, each folder's SOURCE.txt says whose) are loaded
once per cluster into a template database and handed out as copies (CREATE DATABASE ...
TEMPLATE), so a test may change its copy freely.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import gzip
import itertools
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

REPO = Path(__file__).resolve().parent.parent

# Settings for a disposable server: durability off (nothing here must survive a crash).
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "256MB",
    "max_connections": "50",
    "max_prepared_transactions": "4",  # tests/test_inspect_online.py prepares one
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
}


class HarnessError(RuntimeError):
    """The test harness could not provide a server or a database."""


class PsqlError(HarnessError):
    """psql exited non-zero or reported an ERROR."""


# ---------------------------------------------------------------------------------------------
# Finding binaries


def _pg_bin_dirs() -> list[Path]:
    """Debian's versioned bin directories, newest first."""
    dirs = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")]

    def version(p: Path) -> tuple[int, ...]:
        digits = re.findall(r"\d+", p.parent.name)
        return tuple(int(d) for d in digits) or (0,)

    return sorted(dirs, key=version, reverse=True)


def find_binary(name: str) -> str:
    """Absolute path of a PostgreSQL program: PATH first, then /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        # /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb: use the real one. But
        # Debian's /usr/bin/psql links to pg_wrapper, which dispatches on its own name: keep it.
        real = os.path.realpath(found)
        return real if os.path.basename(real) == name else found
    for d in _pg_bin_dirs():
        candidate = d / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise HarnessError(
        f"{name} not found on PATH or in /usr/lib/postgresql/*/bin "
        "(install Debian's postgresql package, or set UUIDPK_TEST_DSN)"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------------------
# The cluster


_counter = itertools.count(1)


def unique_name(hint: str = "db") -> str:
    """A database name unique across this cluster's concurrent users (pid + counter + random)."""
    slug = re.sub(r"[^a-z0-9]+", "_", hint.lower()).strip("_")[:30] or "db"
    return f"t{os.getpid()}_{next(_counter)}_{secrets.token_hex(2)}_{slug}"[:63]


@dataclass
class PgCluster:
    """A PostgreSQL server the tests may do anything to.

    admin_dsn: superuser DSN to the `postgres` database. version: server_version_num.
    """

    admin_dsn: str
    version: int = 0
    owned: bool = False  # True when we started the server (and so stop it)
    tmpdir: Path | None = None
    port: int | None = None
    socket_dir: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    _pg_ctl: list[str] = field(default_factory=list)
    _data_dir: Path | None = None
    _databases: set[str] = field(default_factory=set)
    _templates: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: bool = False

    # -- connections -------------------------------------------------------------------------

    def dsn(self, dbname: str) -> str:
        """DSN of database `dbname` on this server (same host, port and user as admin_dsn)."""
        return make_conninfo(self.admin_dsn, dbname=dbname)

    def connect_admin(self) -> psycopg.Connection:
        return psycopg.connect(self.admin_dsn, autocommit=True)

    # -- databases ---------------------------------------------------------------------------

    def create_database(
        self, name: str | None = None, *, template: str | None = None
    ) -> tuple[str, str]:
        """Create a database (empty, or a copy of `template`); return (name, dsn)."""
        name = name or unique_name()
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with self.connect_admin() as conn:
            conn.execute(stmt)
        self._databases.add(name)
        return name, self.dsn(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever is still in it."""
        stmt = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        with self.connect_admin() as conn:
            conn.execute(stmt)
        self._databases.discard(name)
        for corpus, template in list(self._templates.items()):
            if template == name:
                del self._templates[corpus]

    def ensure_role(self, name: str, options: sql.Composable | None = None) -> None:
        """Create a cluster-wide role unless it exists (roles outlive databases)."""
        with self.connect_admin() as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone():
                return
            stmt = sql.SQL("CREATE ROLE {}").format(sql.Identifier(name))
            if options is not None:
                stmt += sql.SQL(" ") + options
            with contextlib.suppress(psycopg.errors.DuplicateObject):
                conn.execute(stmt)

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the server we started (and remove its files), or drop what we created."""
        if self._closed:
            return
        self._closed = True
        if self.owned:
            self._stop_server()
            return
        for name in sorted(self._databases):
            with contextlib.suppress(psycopg.Error):
                self.drop_database(name)

    def _stop_server(self) -> None:
        if self._data_dir is not None and (self._data_dir / "postmaster.pid").exists():
            # Immediate: nothing here needs a clean shutdown checkpoint.
            subprocess.run(
                [*self._pg_ctl, "stop", "-D", str(self._data_dir), "-m", "immediate", "-w"],
                cwd=self.tmpdir,
                capture_output=True,
                check=False,
                timeout=60,
            )
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stop_on_sigterm(cluster: PgCluster) -> None:
    """A SIGTERM (a CI timeout, `kill`) skips atexit: stop the server first, then die of it."""
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None):
        return  # someone else handles SIGTERM; atexit still covers a normal exit

    def handler(signum: int, frame: object) -> None:
        cluster.close()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, handler)


def _as_postgres() -> tuple[list[str], int | None, int | None]:
    """Command prefix plus uid/gid for running server programs (root cannot run postgres)."""
    if os.geteuid() != 0:
        return [], None, None
    import pwd

    try:
        pw = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise HarnessError("running as root but there is no 'postgres' OS user") from exc
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", "postgres", "--"], pw.pw_uid, pw.pw_gid


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, timeout=300)
    if proc.returncode != 0:
        raise HarnessError(f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def start_server() -> PgCluster:
    """initdb + pg_ctl start a disposable server on 127.0.0.1:<free port>; stopped at exit."""
    t0 = time.monotonic()
    initdb = find_binary("initdb")
    pg_ctl = find_binary("pg_ctl")
    prefix, uid, gid = _as_postgres()

    tmpdir = Path(tempfile.mkdtemp(prefix="uuidpk-pg-"))
    cluster = PgCluster(admin_dsn="", owned=True, tmpdir=tmpdir)
    cluster._pg_ctl = [*prefix, pg_ctl]
    # Registered before anything starts so that an interrupted session still cleans up.
    atexit.register(cluster.close)
    _stop_on_sigterm(cluster)

    data = tmpdir / "data"
    sock = tmpdir / "sock"
    sock.mkdir()
    if uid is not None and gid is not None:
        os.chown(tmpdir, uid, gid)
        os.chown(sock, uid, gid)
    cluster._data_dir = data
    cluster.socket_dir = sock

    # C.UTF-8 keeps sorting byte-wise and predictable; Debian's build has ICU, which the NetBox
    # corpus needs for its CREATE COLLATION ... provider = icu.
    _run(
        [
            *prefix,
            initdb,
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--locale=C.UTF-8",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        tmpdir,
        "initdb",
    )
    settings = {**SERVER_SETTINGS, "unix_socket_directories": f"'{sock}'"}
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write("\n# uuidpk test harness\n")
        conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
    cluster.timings["initdb"] = time.monotonic() - t0
    t1 = time.monotonic()

    log = tmpdir / "server.log"
    attempts = 5
    for attempt in range(1, attempts + 1):
        port = free_port()  # another process may take it before postgres binds: retry then
        proc = subprocess.run(
            [
                *cluster._pg_ctl,
                "start",
                "-D",
                str(data),
                "-w",
                "-t",
                "60",
                "-l",
                str(log),
                "-o",
                f"-p {port}",
            ],
            cwd=tmpdir,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if proc.returncode == 0:
            break
        server_log = log.read_text(errors="replace") if log.exists() else ""
        if "already in use" not in server_log or attempt == attempts:
            cluster.close()
            raise HarnessError(f"pg_ctl start failed:\n{proc.stdout}\n{proc.stderr}\n{server_log}")

    cluster.port = port
    cluster.admin_dsn = make_conninfo(
        host="127.0.0.1", port=port, user="postgres", dbname="postgres"
    )
    with cluster.connect_admin() as conn:
        row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
        assert row is not None
        cluster.version = int(row[0])
    cluster.timings["server start"] = time.monotonic() - t1
    return cluster


def external_server(admin_dsn: str) -> PgCluster:
    """Use an existing server (UUIDPK_TEST_DSN): nothing is stopped, created databases dropped."""
    cluster = PgCluster(admin_dsn=admin_dsn)
    with cluster.connect_admin() as conn:
        row = conn.execute(
            "SELECT current_setting('server_version_num')::int, "
            "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
        ).fetchone()
        assert row is not None
        cluster.version = int(row[0])
        if not row[1]:
            raise HarnessError("UUIDPK_TEST_DSN must connect as a superuser")
    atexit.register(cluster.close)
    return cluster


def cluster_from_env() -> PgCluster:
    """UUIDPK_TEST_DSN if set, else a throwaway server."""
    dsn = os.environ.get("UUIDPK_TEST_DSN")
    return external_server(dsn) if dsn else start_server()


@contextlib.contextmanager
def temporary_database(pg: PgCluster, hint: str = "db") -> Iterator[tuple[str, str]]:
    """A fresh empty database for the duration of the block: (name, dsn)."""
    name, dsn = pg.create_database(unique_name(hint))
    try:
        yield name, dsn
    finally:
        pg.drop_database(name)


# ---------------------------------------------------------------------------------------------
# psql


def psql_binary() -> str:
    return find_binary("psql")


def run_psql(
    dsn: str,
    file_or_sql: str | Path,
    *,
    variables: dict[str, str] | None = None,
    timeout: float = 600,
) -> str:
    """Run a script with psql -X -q -v ON_ERROR_STOP=1 and return its stdout.

    A Path is run as a file (-f); a str is SQL text fed on standard input. Raises PsqlError with
    psql's stderr when psql fails or reports any ERROR.
    """
    cmd = [psql_binary(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn]
    for key, value in (variables or {}).items():
        cmd += ["-v", f"{key}={value}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGCLIENTENCODING"] = "UTF8"
    if isinstance(file_or_sql, Path):
        cmd += ["-f", str(file_or_sql)]
        stdin_text = None
        label = str(file_or_sql)
    else:
        cmd += ["-f", "-"]
        stdin_text = file_or_sql
        label = "<sql text>"
    proc = subprocess.run(
        cmd,
        input=stdin_text,
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=timeout,
    )
    if proc.returncode != 0 or re.search(r"^(psql:[^\n]*)?ERROR:", proc.stderr, re.M):
        raise PsqlError(f"psql {label} failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
    return proc.stdout


# ---------------------------------------------------------------------------------------------
# Corpora: real schemas in tests/corpus/, loaded as each SOURCE.txt says

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"


def corpus_text(path: Path) -> str:
    """A corpus script's text: gzipped files (the large dumps) are read through gzip."""
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return f.read()
    return path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Corpus:
    """How to load one corpus.

    creates_db: the script creates (and \\c's into) this database itself; we rewrite the name.
    roles: cluster-wide roles to create first, (name, options SQL).
    strip_create_role: remove the script's own CREATE ROLE statements (we created them already;
    a second load in the same cluster would otherwise fail).
    """

    folder: str
    files: tuple[str, ...]
    creates_db: str | None = None
    roles: tuple[tuple[str, str], ...] = ()
    strip_create_role: bool = False


CORPORA: dict[str, Corpus] = {
    "chinook": Corpus("chinook", ("Chinook_PostgreSql.sql.gz",), creates_db="chinook"),
    "chinook_serial": Corpus(
        "chinook", ("Chinook_PostgreSql_SerialPKs.sql.gz",), creates_db="chinook_serial"
    ),
    "chinook_identity": Corpus(
        "chinook",
        ("Chinook_PostgreSql_AutoIncrementPKs.sql.gz",),
        creates_db="chinook_auto_increment",
    ),
    "northwind": Corpus("northwind", ("northwind.sql.gz",)),
    "pgexercises": Corpus("pgexercises", ("clubdata.sql.gz",), creates_db="exercises"),
    "forum": Corpus(
        "postgraphile-forum",
        ("schema.sql", "data.sql"),
        roles=(
            ("forum_example_postgraphile", "LOGIN PASSWORD 'xyz'"),
            ("forum_example_anonymous", ""),
            ("forum_example_person", ""),
        ),
        strip_create_role=True,
    ),
    "netbox": Corpus("netbox", ("netbox-demo-v4.2.sql.gz",), roles=(("netbox", ""),)),
    "saleor": Corpus("saleor-gearzone", ("backup.sql.gz",), roles=(("saleor", ""),)),
}
CORPUS_NAMES: tuple[str, ...] = tuple(CORPORA)
_ALIASES = {"postgraphile-forum": "forum", "saleor-gearzone": "saleor"}

_CREATE_ROLE = re.compile(r"^[ \t]*create[ \t]+role[ \t]+[^;]*;[ \t]*$", re.I | re.M)


def _rename_database(text: str, old: str, new: str) -> str:
    """Point a script's DROP/CREATE DATABASE and \\c at `new` instead of `old`."""
    pattern = re.compile(
        r"^(\s*(?:DROP\s+DATABASE\s+IF\s+EXISTS|DROP\s+DATABASE|CREATE\s+DATABASE|\\c|\\connect)"
        r"\s+)" + re.escape(old) + r"\b",
        re.I | re.M,
    )
    result, count = pattern.subn(lambda m: m.group(1) + new, text)
    if not re.search(r"^\s*CREATE\s+DATABASE\s+" + re.escape(new) + r"\b", result, re.I | re.M):
        raise HarnessError(f"expected the script to CREATE DATABASE {old} (rewrote {count})")
    return result


def _corpus_spec(name: str) -> Corpus:
    key = _ALIASES.get(name, name)
    try:
        return CORPORA[key]
    except KeyError:
        raise HarnessError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}") from None


def load_corpus_into_new_database(pg: PgCluster, name: str, dbname: str) -> str:
    """Load corpus `name` into a new database called `dbname`; return its dsn."""
    spec = _corpus_spec(name)
    folder = CORPUS_DIR / spec.folder
    for role, options in spec.roles:
        pg.ensure_role(role, sql.SQL(options) if options else None)
    if spec.creates_db:
        (script,) = spec.files
        text = corpus_text(folder / script)
        # The script connects to the maintenance database, creates its own and \c's into it.
        pg._databases.add(dbname)
        dsn = pg.dsn(dbname)
        run_psql(pg.admin_dsn, _rename_database(text, spec.creates_db, dbname))
    else:
        _, dsn = pg.create_database(dbname)
        for script in spec.files:
            text = corpus_text(folder / script)
            run_psql(dsn, _CREATE_ROLE.sub("", text) if spec.strip_create_role else text)
    # A psql that silently did nothing (a wrapper, a wrong database) must not pass for a load.
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
    if not row or not row[0]:
        raise HarnessError(f"loading corpus {name!r} into {dbname} created no tables")
    return dsn


def corpus_template(pg: PgCluster, name: str) -> str:
    """Name of a database holding corpus `name`, loaded once per cluster. Do not modify it or stay
    connected to it: it is the template every copy is made from."""
    key = _ALIASES.get(name, name)
    _corpus_spec(key)
    with pg._lock:
        template = pg._templates.get(key)
        if template is None:
            t0 = time.monotonic()
            template = unique_name(f"tpl_{key}")
            load_corpus_into_new_database(pg, key, template)
            pg._templates[key] = template
            pg.timings[f"load {key}"] = time.monotonic() - t0
    return template


def clone_database(pg: PgCluster, template_name: str, hint: str = "copy") -> tuple[str, str]:
    """A new database copied from `template_name` (which nobody may be connected to)."""
    return pg.create_database(unique_name(hint), template=template_name)


def load_corpus(pg: PgCluster, name: str) -> str:
    """DSN of a fresh, private copy of corpus `name` (the load itself is cached per cluster).

    The copy lives until the cluster closes; use the `corpus_dsn_factory` fixture to have it
    dropped right after the test.
    """
    template = corpus_template(pg, name)
    _, dsn = clone_database(pg, template, hint=name)
    return dsn


def database_name(dsn: str) -> str:
    """The dbname of a DSN."""
    return str(conninfo_to_dict(dsn)["dbname"])

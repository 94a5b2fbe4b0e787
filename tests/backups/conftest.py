"""A real PostgreSQL server, a folder standing in for S3 and a loopback Pushgateway, for the backup image.

One throw-away cluster per session (initdb + pg_ctl under a private temp folder, password auth,
Unix socket only), stopped in a finalizer that also asserts no server process of the tests is
left. The image's scripts run unchanged under busybox ``sh`` (the image's shell, Alpine's ash)
as an unprivileged user (``postgres`` when the tests run as root: root cannot run a server).
``aws`` on their PATH is ``fake_aws.py``; ``METRICS_URL`` points at a capture server.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / "images/backup"
INSTALL_HINT = "`bash .ci/run` installs them (apt-get install postgresql busybox jq curl python3)"
DATABASE, USER, PASSWORD = "shop", "shop_owner", "s3cr:et\\pw"
KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
SCHEMA_SQL = """
CREATE SCHEMA sales;
CREATE SCHEMA "Inventory";
CREATE TABLE sales.orders (id int PRIMARY KEY, customer text NOT NULL, total numeric(10, 2));
INSERT INTO sales.orders SELECT g, 'customer ' || g, g * 1.5 FROM generate_series(1, 500) g;
CREATE TABLE sales."Order Lines" (order_id int REFERENCES sales.orders, line int, note text,
                                  PRIMARY KEY (order_id, line));
INSERT INTO sales."Order Lines" SELECT o, l, E'multi\\nline; with tab\\t' || o FROM generate_series(1, 500) o,
                                       generate_series(1, 3) l;
CREATE TABLE "Inventory".items (sku text PRIMARY KEY, qty int);
INSERT INTO "Inventory".items SELECT 'sku-' || g, g FROM generate_series(1, 40) g;
CREATE TABLE public.audit_log (at timestamptz, event text);
"""
EXPECTED_ROWS = {"sales.orders": 500, 'sales."Order Lines"': 1500, '"Inventory".items': 40, "public.audit_log": 0}


def _bin_dir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not candidates:
        pytest.fail(f"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: {INSTALL_HINT}")
    return candidates[-1].parent


def _require(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: {INSTALL_HINT}")


@dataclass
class Env:
    """Where the tests run things: the unprivileged user, a private folder, the tool paths."""

    work: Path
    pg_bin: Path
    shim_bin: Path
    user: pwd.struct_passwd | None

    def run(self, argv: list[str], env: Mapping[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ([] if self.user is None else
                  ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--init-groups"])
        base = {"PATH": f"{self.shim_bin}:{self.pg_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": str(self.work),
                "LC_ALL": "C", "TZ": "UTC"}
        proc = subprocess.run([*prefix, *argv], env={**base, **env}, capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"{argv} exited {proc.returncode}:\n{proc.stderr}")
        return proc

    def own(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def leftover_servers(self, under: Path | None = None, timeout: float = 5.0) -> list[str]:
        """Server processes under ``under`` (default: the tests' folder) still running after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while (left := server_processes(under or self.work)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return left

    def mkdir(self, path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        self.own(path)
        return path


def server_processes(work: Path) -> list[str]:
    """Command lines of running processes that mention the tests' folder (postgres servers)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(work) in cmd and "postgres" in cmd:
            found.append(f"{proc.name}: {cmd}")
    return found


@pytest.fixture(scope="session")
def env() -> Iterator[Env]:
    pg_bin = _bin_dir()
    _require("busybox", "jq", "curl", "setpriv")
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail(f"running as root and there is no 'postgres' user to run the server as: {INSTALL_HINT}")
    work = Path(tempfile.mkdtemp(prefix="pgdrill-"))
    work.chmod(0o755)
    python = "/usr/bin/python3" if user is not None else sys.executable  # the venv may be unreadable to the user
    if not os.access(python, os.X_OK):
        pytest.fail(f"{python} (for the stand-in `aws`, run as {user.pw_name if user else 'you'}) not found: {INSTALL_HINT}")
    shim_bin = work / "bin"
    shim_bin.mkdir()
    (shim_bin / "aws").write_text(f'#!/bin/sh\nexec {python} -I -S {ROOT / "tests/backups/fake_aws.py"} "$@"\n')
    (shim_bin / "aws").chmod(0o755)
    e = Env(work=work, pg_bin=pg_bin, shim_bin=shim_bin, user=user)
    e.own(work)
    yield e
    leftover = e.leftover_servers()
    shutil.rmtree(work, ignore_errors=True)
    assert not leftover, f"server processes left running: {leftover}"


@dataclass
class Source:
    """The session's database server: connection settings the backup job gets from its ConfigMap."""

    env: Env
    socket_dir: Path
    password_file: Path
    pgpass: Path
    port: str = "5432"
    expected: Mapping[str, int] = field(default_factory=lambda: dict(EXPECTED_ROWS))
    """Rows per table (as the dump names it) in the session's database; one table is empty."""

    def settings(self, database: str = DATABASE) -> dict[str, str]:
        return {"PGHOST": str(self.socket_dir), "PGPORT": self.port, "PGDATABASE": database, "PGUSER": USER,
                "PGPASSFILE": str(self.pgpass), "PGPASSWORD_FILE": str(self.password_file)}

    def sql(self, query: str, database: str = DATABASE) -> str:
        # Its own pgpass: the jobs' PGPASSFILE holds one database only (write_pgpass).
        own = self.pgpass.with_name("tests.pgpass")
        return self.env.run(["psql", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-tAq", "-c", query],
                            {**self.settings(database), "PGPASSFILE": str(own)}).stdout.strip()

    def counts(self, database: str = DATABASE) -> dict[str, int]:
        return {table: int(self.sql(f"SELECT count(*) FROM {table}", database))  # noqa: S608 - the tests' own names
                for table in self.expected}


@pytest.fixture(scope="session")
def source(env: Env) -> Iterator[Source]:
    data, sock = env.work / "source", env.mkdir(env.work / "source-run")
    secrets = env.mkdir(env.work / "secrets")
    pwfile = secrets / "password"
    pwfile.write_text(PASSWORD)
    env.own(pwfile)
    env.run(["initdb", f"--pgdata={data}", f"--username={USER}", "--auth=scram-sha-256", f"--pwfile={pwfile}",
             "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"], {})
    server = ["pg_ctl", f"--pgdata={data}", f"--log={env.work / 'source.log'}", "--wait"]
    env.run([*server, "start", f"--options=-c listen_addresses='' -c unix_socket_directories='{sock}'"], {})
    try:
        src = Source(env=env, socket_dir=sock, password_file=pwfile, pgpass=secrets / "job.pgpass")
        escaped = PASSWORD.replace("\\", "\\\\").replace(":", "\\:")
        own = secrets / "tests.pgpass"
        own.write_text(f"*:*:*:{USER}:{escaped}\n")
        own.chmod(0o600)
        env.own(own)
        src.sql(f"CREATE DATABASE {DATABASE}", "postgres")
        src.sql(SCHEMA_SQL)
        yield src
    finally:
        env.run([*server, "--mode=immediate", "stop"], {}, check=False)  # throw-away: no shutdown checkpoint


@dataclass
class Pushgateway:
    """Records what is POSTed to it, as the Pushgateway would receive it."""

    url: str
    pushes: list[tuple[str, str]] = field(default_factory=list)

    def metrics(self, group: str, namespace: str) -> dict[str, float]:
        """The samples pushed to ``/metrics/job/<group>/namespace/<namespace>``, later pushes overriding (POST)."""
        samples: dict[str, float] = {}
        for path, body in self.pushes:
            if path == f"/metrics/job/{group}/namespace/{namespace}":
                for line in body.splitlines():
                    if line and not line.startswith("#"):
                        name, value = line.split()
                        samples[name] = float(value)
        return samples


@pytest.fixture(scope="session")
def pushgateway() -> Iterator[Pushgateway]:
    gateway = Pushgateway(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            gateway.pushes.append((self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield gateway
    server.shutdown()
    server.server_close()
    thread.join(5)


@dataclass
class Bucket:
    """The fake S3 bucket of one test and the jobs that use it."""

    env: Env = field(repr=False)
    source: Source = field(repr=False)
    root: Path
    gateway: Pushgateway = field(repr=False)
    namespace: str
    """The pod's namespace: the Pushgateway grouping key that keeps each test's metrics apart."""
    name: str = "platform-test-backups"
    prefix: str = "postgres/"

    def metrics(self, group: str) -> dict[str, float]:
        return self.gateway.metrics(group, self.namespace)

    def path(self, key: str) -> Path:
        return self.root / self.name / key

    def metadata(self, key: str) -> dict:
        return json.loads((self.root / ".meta" / self.name / f"{key}.json").read_text())

    def keys(self, suffix: str = "") -> list[str]:
        base = self.root / self.name
        return sorted(str(p.relative_to(base)) for p in base.rglob(f"*{suffix}") if p.is_file())

    def json(self, key: str) -> dict:
        return json.loads(self.path(key).read_text())

    def rewrite(self, key: str, data: bytes, *, update_checksums: bool = False) -> None:
        """Replace an object's bytes (corruption); optionally as if the damage predated the checksum."""
        self.path(key).write_bytes(data)
        if update_checksums:
            sha = hashlib.sha256(data).hexdigest()
            meta = self.metadata(key)
            meta["Metadata"]["sha256"] = sha
            (self.root / ".meta" / self.name / f"{key}.json").write_text(json.dumps(meta))
            manifest_key = key.removesuffix(".dump") + ".manifest.json"
            self.path(manifest_key).write_text(json.dumps({**self.json(manifest_key), "sha256": sha}))

    def job_env(self, **extra: str) -> dict[str, str]:
        return {"FAKE_S3_ROOT": str(self.root), "BACKUP_BUCKET": self.name, "BACKUP_PREFIX": self.prefix,
                "BACKUP_KMS_KEY_ARN": KMS_KEY, "BACKUP_SPOOL_DIR": str(self.env.mkdir(self.root.parent / "spool")),
                "METRICS_URL": self.gateway.url, "POD_NAMESPACE": self.namespace, **extra}

    def script(self, name: str, *args: str, check: bool = True, **extra: str) -> subprocess.CompletedProcess[str]:
        return self.env.run(["busybox", "sh", str(IMAGE / name), *args], self.job_env(**extra), check=check)

    def backup(self, **extra: str) -> subprocess.CompletedProcess[str]:
        return self.script("backup.sh", **{**self.source.settings(), **extra})

    def drill(self, check: bool = False) -> subprocess.CompletedProcess[str]:
        drill_dir = self.drill_dir
        return self.script("drill.sh", check=check, DRILL_DIR=str(drill_dir), DRILL_REPORT_PREFIX="drills/postgres/")

    @property
    def drill_dir(self) -> Path:
        return self.root.parent / "drill"

    def newest(self, suffix: str) -> str:
        return [k for k in self.keys(suffix) if k.startswith(self.prefix) and "/" not in k[len(self.prefix):]][-1]


@pytest.fixture(scope="session")
def new_bucket(env: Env, source: Source, pushgateway: Pushgateway) -> Callable[..., Bucket]:
    """``new_bucket(seed=None)``: an empty fake bucket, or a copy of ``seed``'s objects."""
    def make(seed: Bucket | None = None) -> Bucket:
        case = Path(tempfile.mkdtemp(prefix="case-", dir=env.work))
        root = case / "s3"
        if seed is not None:
            shutil.copytree(seed.root, root)
            for path in [root, *root.rglob("*")]:
                env.own(path)
        env.mkdir(root)
        env.own(case)
        return Bucket(env=env, source=source, root=root, gateway=pushgateway, namespace=case.name)
    return make


@pytest.fixture
def bucket(new_bucket: Callable[..., Bucket]) -> Bucket:
    return new_bucket()


@pytest.fixture(scope="session")
def one_backup(new_bucket: Callable[..., Bucket]) -> Bucket:
    """A bucket holding one verified backup of the session's database (taken once)."""
    b = new_bucket()
    b.backup()
    return b


@pytest.fixture
def backed_up(new_bucket: Callable[..., Bucket], one_backup: Bucket) -> Bucket:
    """A fresh bucket with a copy of ``one_backup``'s objects, free to damage."""
    return new_bucket(seed=one_backup)

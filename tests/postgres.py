"""A private PostgreSQL on a free loopback port, for the PostgreSQL destination's tests and ``make bench``.

``initdb`` and the ``postgres`` server of the machine's ``postgresql`` package (Makefile: system-deps), a cluster in
a temporary directory, started by pid and stopped by pid; never the machine's own server. TLS is on, with a
self-signed certificate for ``localhost``: a client that asks for ``verify-full`` refuses it, ``prefer`` and
``require`` connect. Run as root (a container), the cluster belongs to the ``postgres`` user, as initdb requires.
"""

from __future__ import annotations

import datetime
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.stack import StackError, free_port, wait_until

SUPERUSER = "tdsuper"


def bin_dir() -> Path:
    """The newest installed server's programs (/usr/lib/postgresql/<version>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise StackError("PostgreSQL's initdb not found under /usr/lib/postgresql: install the postgresql package "
                         "(make test installs it)")
    return found[-1].parent


def _self_signed(directory: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    (directory / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
    (directory / "server.key").chmod(0o600)


@dataclass
class PostgreSQL:
    root: Path
    port: int
    password: str
    proc: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _owner(self) -> dict[str, Any]:
        """Popen's arguments that run a program as the cluster's owner (``postgres`` when run as root)."""
        if os.geteuid() != 0:
            return {}
        user = pwd.getpwnam("postgres")
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def start(self) -> None:
        with open(self.root / "postgres.log", "ab") as log:
            self.proc = subprocess.Popen(
                [str(bin_dir() / "postgres"), "-D", str(self.data), "-p", str(self.port), "-c",
                 "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}", "-c", "ssl=on",
                 "-c", "fsync=off", "-c", "max_connections=100"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **self._owner())
        wait_until(self._ready, timeout=30, what="PostgreSQL", proc=self.proc)

    def _ready(self) -> bool:
        with self.connect():
            return True

    def stop(self) -> None:
        """A fast shutdown (SIGINT to the postmaster: sessions are ended), by pid."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def connect(self, dbname: str = "postgres", **options: Any) -> psycopg.Connection[Any]:
        """A superuser's connection, autocommit."""
        return psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, password=self.password,
                               dbname=dbname, autocommit=True, sslmode="disable", connect_timeout=5, **options)

    def sql(self, statement: str, *params: Any, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement as the superuser; its rows (none for a statement that returns none)."""
        with self.connect(dbname) as connection:
            cursor = connection.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []


def postgresql() -> PostgreSQL:
    """A new cluster on a free port, started: superuser ``tdsuper`` with a random password, password
    authentication (scram-sha-256) on 127.0.0.1 only."""
    root = Path(tempfile.mkdtemp(prefix="tracedrop-pg-"))
    server = PostgreSQL(root=root, port=free_port(), password=secrets.token_hex(16))
    owner = server._owner()
    if owner:
        os.chown(root, owner["user"], owner["group"])
    (root / "pw").write_text(server.password)
    if owner:
        os.chown(root / "pw", owner["user"], owner["group"])
    done = subprocess.run([str(bin_dir() / "initdb"), "-D", str(server.data), "-U", SUPERUSER, "--pwfile",
                           str(root / "pw"), "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
                          capture_output=True, **owner)
    if done.returncode != 0:
        raise StackError(f"initdb failed: {done.stderr.decode()[-2000:]}")
    (root / "pw").unlink()
    (server.data / "pg_hba.conf").write_text("local all all scram-sha-256\n"
                                             "host all all 127.0.0.1/32 scram-sha-256\n")
    _self_signed(server.data)
    if owner:
        for name in ("server.crt", "server.key", "pg_hba.conf"):
            os.chown(server.data / name, owner["user"], owner["group"])
    server.start()
    return server

"""A PostgreSQL database for tests: a fresh database on the server at ``VOICEPLATFORM_TEST_PG``
(default 127.0.0.1:5432, as this machine kind runs one), or, when none answers, a throwaway
cluster started here on a free port (Debian's ``postgresql`` package, run as its user)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import psycopg

from voiceplatform.exceptions import VoicePlatformError


class PostgresUnavailable(VoicePlatformError):
    pass


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _own_cluster() -> Iterator[tuple[str, int]]:
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not binaries:
        raise PostgresUnavailable("no PostgreSQL server answers and none is installed (apt-get install postgresql)")
    bin_dir, port = binaries[-1], _free_port()
    data = tempfile.mkdtemp(prefix="vp-pg-")
    shutil.chown(data, "postgres", "postgres")
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    try:
        subprocess.run([*as_postgres, f"{bin_dir}/initdb", "-D", data, "-A", "trust", "-U", "postgres"],
                       check=True, capture_output=True)
        subprocess.run([*as_postgres, f"{bin_dir}/pg_ctl", "-D", data, "-w", "-l", f"{data}/log",
                        "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start"], check=True, capture_output=True)
    except subprocess.CalledProcessError as exc:
        raise PostgresUnavailable(f"cannot start a PostgreSQL cluster: {exc.stderr.decode(errors='replace')}") from exc
    try:
        yield "127.0.0.1", port
    finally:
        subprocess.run([*as_postgres, f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def fresh_database() -> Iterator[str]:
    """A SQLAlchemy URL of a new, empty database, dropped afterwards."""
    host, _, port_text = os.environ.get("VOICEPLATFORM_TEST_PG", "127.0.0.1:5432").partition(":")
    port = int(port_text or 5432)
    with (nullcontext((host, port)) if _answers(host, port) else _own_cluster()) as (host, port):
        name = f"vp_test_{uuid.uuid4().hex[:10]}"
        admin = f"host={host} port={port} user=postgres dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@{host}:{port}/{name}"
        finally:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


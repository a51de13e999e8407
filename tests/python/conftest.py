"""A real `reportstats serve` process per test, on SQLite and on PostgreSQL.

The binary comes from `REPORTSTATS_BIN` (tests/mode_clients.rs passes the one
cargo built); PostgreSQL from `REPORTSTATS_TEST_POSTGRES_URL`, each test in a
schema of its own. The server's clock is frozen at the fixtures' instant, so
the statistics must equal the fixture files exactly.

Two workspaces: `server` holds small.ndjson (report statistics), and
`usage_server` holds usage.ndjson (queries, charts, a deleted space, a report
in a space never upserted), for Mode's clients that read every listing.

Nothing here reaches the network: every test runs with connections refused
to anything but this machine, so the suite passes offline once its
virtualenv exists.
"""

import json
import os
import pathlib
import socket
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass

import pytest

BIN = os.environ.get("REPORTSTATS_BIN", str(pathlib.Path(__file__).parents[2] / "target/debug/reportstats"))
FIXTURES = pathlib.Path(os.environ.get("REPORTSTATS_FIXTURES", pathlib.Path(__file__).parents[3] / "shared/fixtures"))
POSTGRES_URL = os.environ.get("REPORTSTATS_TEST_POSTGRES_URL")
# amundsen-rds, which the extractors' records import, still uses SQLAlchemy
# 1.x idioms; its one-line warning about 2.0 says nothing about reportstats.
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
FIXTURE_NOW = "2026-11-01T00:00:00Z"
USAGE_EVENTS = FIXTURES / "usage.ndjson"
USAGE_EXPECTED = json.loads((FIXTURES / "usage.expected.json").read_text())
USAGE_NOW = USAGE_EXPECTED["as_of"]
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Refuses connections beyond this machine, so that a test that would
    need the network (a client's hard-coded https://app.mode.com, say) fails
    here, loudly, instead of passing only where the network is up."""
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            raise OSError(f"the suite runs offline, yet something connected to {address}")
        return real_connect(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK and host is not None:
            raise OSError(f"the suite runs offline, yet something looked up {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def expected(include_all: bool) -> list:
    name = "small.expected_all.json" if include_all else "small.expected.json"
    return json.loads((FIXTURES / name).read_text())


def psql(sql: str) -> None:
    subprocess.run(["psql", POSTGRES_URL, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path}/reportstats.db"
        return
    if not POSTGRES_URL:
        pytest.skip("REPORTSTATS_TEST_POSTGRES_URL is not set")
    schema = "py_" + uuid.uuid4().hex[:16]
    psql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-c%20search_path%3D{schema}"
    psql(f"DROP SCHEMA {schema} CASCADE")


def reportstats(database_url: str, *args: str) -> str:
    result = subprocess.run(
        [BIN, *args],
        env={**os.environ, "REPORTSTATS_DATABASE_URL": database_url, "RUST_LOG": "warn"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    base_url: str
    workspace: str
    token: str
    secret: str
    database_url: str


def start_server(database_url: str, events: pathlib.Path, now: str = FIXTURE_NOW):
    """A `reportstats serve` process holding `events` in workspace `acme`,
    its clock frozen at `now`."""
    key = json.loads(reportstats(database_url, "workspace", "create", "acme", "--json"))
    reportstats(database_url, "import", "--workspace", "acme", str(events))
    port = free_port()
    process = subprocess.Popen(
        [BIN, "serve", "--listen", f"127.0.0.1:{port}", "--frozen-clock", now],
        env={**os.environ, "REPORTSTATS_DATABASE_URL": database_url, "RUST_LOG": "warn"},
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"{base_url}/healthz", timeout=1)
            break
        except OSError:
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
    return process, Server(base_url, "acme", key["token"], key["secret"], database_url)


@pytest.fixture
def server(database_url):
    """A server holding the fixture stream in workspace `acme`."""
    process, server = start_server(database_url, FIXTURES / "small.ndjson")
    try:
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def usage_server(database_url):
    """A server holding usage.ndjson in workspace `acme`, at its `as_of`."""
    process, server = start_server(database_url, USAGE_EVENTS, now=USAGE_NOW)
    try:
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def usage_reference():
    """The independent reading of the SPEC over usage.ndjson."""
    from reference import Workspace

    return Workspace(USAGE_EVENTS.read_text().splitlines())


def mint(server) -> tuple:
    """A signature token's (token, access_key, access_secret), via mode-sdk."""
    from mode_sdk import create_signature_token

    signature = create_signature_token(
        server.workspace, token=server.token, secret=server.secret, name="python tests",
        expires_at="2027-01-01T00:00:00Z", base_url=server.base_url,
    )
    return signature

"""Fixtures for calling the Lambdas' code in-process against the lab's Postgres."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow

from integration import events_support
from labcore import clients, config, db
from tests_support import app_conninfo

# The handlers validate their settings at import, as on a cold start: give them what Terraform
# gives the deployed functions (tests then point the database settings where they need them).
DB_VARIABLES = {
    "DB_HOST": "host",
    "DB_PORT": "port",
    "DB_USER": "user",
    "DB_PASSWORD": "password",
    "DB_NAME": "dbname",
}
FUNCTION_SETTINGS = {
    "DISPATCHER_FUNCTION": "outbox-lab-dispatcher",
    "TOPIC_QUEUES": '{"conversion-jobs": "outbox-lab-jobs", "car-events": "outbox-lab-car-events.fifo"}',
}
if not any(os.environ.get(name) for name in ("DB_SECRET_ID", "DATABASE_URL", "DB_HOST")):
    os.environ.update({name: str(app_conninfo()[key]) for name, key in DB_VARIABLES.items()})
for _name, _value in FUNCTION_SETTINGS.items():
    os.environ.setdefault(_name, _value)


def reset_labcore() -> None:
    """Forget the cached settings and the environment's connection, as a cold start would."""
    if db._connection is not None:
        db._connection.close()
    db._connection = None
    config.db_settings.cache_clear()
    clients.client.cache_clear()


@pytest.fixture
def app_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """labcore configured from DB_* variables (the local fallback) for the app role."""
    info = app_conninfo()
    for name, key in DB_VARIABLES.items():
        monkeypatch.setenv(name, str(info[key]))
    for name in ("DB_SECRET_ID", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    reset_labcore()
    yield
    reset_labcore()


class RoundTripCounter:
    """A TCP proxy in front of the lab's Postgres counting the requests clients wait on.

    Counted on the wire, so no client code can hide a statement: each simple-protocol Query ('Q')
    and each extended-protocol Sync ('S') is one round trip; a pipeline would count high, never low.
    """

    def __init__(self, conninfo: dict[str, Any]) -> None:
        self.upstream = (str(conninfo["host"]), int(conninfo["port"]))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.round_trips = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def conninfo(self, conninfo: dict[str, Any]) -> dict[str, Any]:
        """Connection settings through the proxy; no TLS or GSS request, the stream stays readable."""
        return {
            **conninfo,
            "host": "127.0.0.1",
            "port": self.port,
            "sslmode": "disable",
            "gssencmode": "disable",
        }

    def reset(self) -> None:
        with self.lock:
            self.round_trips = 0

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed: the fixture is done
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._client_to_server, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()

    def _client_to_server(self, client: socket.socket, server: socket.socket) -> None:
        pending = bytearray()
        started = False  # the startup message has no type byte; every later message has one
        while data := _recv(client):
            pending += data
            while True:
                if not started:
                    if len(pending) < 4 or len(pending) < (size := int.from_bytes(pending[:4])):
                        break
                    started = True
                else:
                    if len(pending) < 5 or len(pending) < (size := int.from_bytes(pending[1:5]) + 1):
                        break
                    if pending[0] in b"QS":
                        with self.lock:  # counted before the server can see it, so before any reply
                            self.round_trips += 1
                del pending[:size]
            if not _send(server, data):
                break
        _close(server)

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        while (data := _recv(source)) and _send(target, data):
            pass
        _close(target)

    def close(self) -> None:
        self.listener.close()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the other side may have gone first
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.fixture
def round_trip_counter() -> Iterator[RoundTripCounter]:
    """A proxy counting the round trips of the connections opened through it."""
    counter = RoundTripCounter(app_conninfo())
    yield counter
    counter.close()


@pytest.fixture
def forget_test_cars(admin_db: psycopg.Connection[DictRow]) -> Iterator[None]:
    """Delete what a test wrote for its cars: a deployed dispatcher would otherwise publish their
    outbox rows to the projector, and the lab's cars would wait behind them."""
    yield
    pattern = f"{events_support.CAR_PREFIX}%"
    admin_db.execute("DELETE FROM outbox WHERE aggregate_type = 'car' AND aggregate_id LIKE %s", (pattern,))
    admin_db.execute(
        "DELETE FROM car_events WHERE event_id IN"
        " (SELECT event_id FROM car_event_entities WHERE entity_id LIKE %s)",
        (pattern,),
    )

"""TLS to the database: DB_SSLMODE and DB_SSLROOTCERT validated at cold start and carried to libpq."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from labcore import config
from labcore.config import ConfigError, db_settings

REQUIRED = {"DB_HOST": "127.0.0.1", "DB_USER": "app", "DB_PASSWORD": "secret", "DB_NAME": "outbox"}
SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


@pytest.fixture(autouse=True)
def database_variables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    db_settings.cache_clear()
    for name in ("DB_SSLMODE", "DB_SSLROOTCERT", "DB_SECRET_ID", "DATABASE_URL", "DB_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    yield
    db_settings.cache_clear()


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\nnot a real certificate\n-----END CERTIFICATE-----\n")
    return path


def test_unset_leaves_libpq_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    conninfo = db_settings().conninfo()
    assert "sslmode" not in conninfo and "sslrootcert" not in conninfo


def test_verify_full_and_its_bundle_reach_the_conninfo(monkeypatch: pytest.MonkeyPatch, bundle: Path) -> None:
    monkeypatch.setenv("DB_SSLMODE", "verify-full")
    monkeypatch.setenv("DB_SSLROOTCERT", str(bundle))
    conninfo = db_settings().conninfo()
    assert (conninfo["sslmode"], conninfo["sslrootcert"]) == ("verify-full", str(bundle))


def test_a_relative_bundle_is_found_in_the_package_folder(
    monkeypatch: pytest.MonkeyPatch, bundle: Path
) -> None:
    monkeypatch.setattr(config, "PACKAGE_DIR", bundle.parent)
    monkeypatch.setenv("DB_SSLMODE", "verify-ca")
    monkeypatch.setenv("DB_SSLROOTCERT", bundle.name)
    assert db_settings().conninfo()["sslrootcert"] == str(bundle)


def test_the_secret_keeps_the_tls_settings(monkeypatch: pytest.MonkeyPatch, bundle: Path) -> None:
    secret = {"host": "db.aws", "port": 5432, "username": "app", "password": "pw", "dbname": "outbox"}

    class Secrets:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:
            return {"SecretString": json.dumps(secret)}

    monkeypatch.setattr(config, "secrets_client", Secrets)
    monkeypatch.setenv("DB_SECRET_ID", "arn:secret:db")
    monkeypatch.setenv("DB_SSLMODE", "verify-full")
    monkeypatch.setenv("DB_SSLROOTCERT", str(bundle))
    settings = db_settings()
    assert (settings.host, settings.sslmode, settings.sslrootcert) == ("db.aws", "verify-full", str(bundle))


@pytest.mark.parametrize("mode", ["verify-ca", "verify-full"])
def test_verifying_without_a_bundle_fails_at_cold_start(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setenv("DB_SSLMODE", mode)
    with pytest.raises(ConfigError, match=f"DB_SSLMODE {mode} needs DB_SSLROOTCERT"):
        db_settings()


def test_a_missing_bundle_fails_at_cold_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DB_SSLMODE", "verify-full")
    monkeypatch.setenv("DB_SSLROOTCERT", str(tmp_path / "absent.pem"))
    with pytest.raises(ConfigError, match=r"DB_SSLROOTCERT: no CA bundle at .*absent\.pem"):
        db_settings()


def test_an_unknown_mode_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_SSLMODE", "verify")
    with pytest.raises(ConfigError, match="DB_SSLMODE"):
        db_settings()


class FakePostgres:
    """Accepts one connection and records what libpq asks first; it refuses TLS (and GSS) with 'N'."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.requests: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn, self.server:
            conn.settimeout(5)
            while len(header := _receive(conn, 8)) == 8:
                _, code = struct.unpack("!ii", header)
                if code not in (SSL_REQUEST, GSSENC_REQUEST):
                    self.requests.append("startup")  # plaintext from here on; closing ends the attempt
                    return
                self.requests.append("tls" if code == SSL_REQUEST else "gss")
                conn.sendall(b"N")

    def seen(self) -> list[str]:
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "libpq never finished talking to the fake server"
        return [request for request in self.requests if request != "gss"]


def _receive(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size and (chunk := conn.recv(size - len(data))):
        data += chunk
    return data


def connect_to(server: FakePostgres, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DB_PORT", str(server.port))
    with pytest.raises(psycopg.OperationalError) as failure:
        psycopg.connect(**db_settings().conninfo())
    return failure.value


def test_verify_full_never_falls_back_to_plaintext(monkeypatch: pytest.MonkeyPatch, bundle: Path) -> None:
    monkeypatch.setenv("DB_SSLMODE", "verify-full")
    monkeypatch.setenv("DB_SSLROOTCERT", str(bundle))
    server = FakePostgres()
    error = connect_to(server, monkeypatch)
    assert server.seen() == ["tls"]  # asked for TLS, was refused, sent nothing in the clear
    assert "SSL" in str(error)


def test_disable_sends_the_startup_in_the_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_SSLMODE", "disable")
    server = FakePostgres()
    connect_to(server, monkeypatch)
    assert server.seen() == ["startup"]


def test_unset_asks_for_tls_and_falls_back_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakePostgres()
    connect_to(server, monkeypatch)
    assert server.seen() == ["tls", "startup"]  # libpq's prefer: what the lab did before these settings

"""labcore.db's one retry: a connection found dead at BEGIN is replaced once; started work is never rerun."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import DictRow, dict_row

from labcore import db
from labcore.errors import Unavailable
from tests_support import admin_conninfo, app_conninfo

pytestmark = pytest.mark.usefixtures("app_environment")


def terminate(backend_pid: int) -> None:
    with psycopg.connect(**admin_conninfo(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (backend_pid,))


def test_work_that_already_began_is_not_run_again() -> None:
    calls: list[int] = []

    def work(conn: psycopg.Connection[DictRow]) -> None:
        calls.append(conn.info.backend_pid)
        conn.execute("SELECT 1")
        terminate(conn.info.backend_pid)  # dies mid-transaction: rerunning could apply it twice
        conn.execute("SELECT 1")

    with pytest.raises(Unavailable) as raised:
        db.run_in_transaction(work)
    assert isinstance(raised.value.__cause__, psycopg.OperationalError), "the driver error is the cause"
    assert len(calls) == 1


def test_a_connection_dead_at_begin_is_replaced_once_then_the_error_surfaces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[int] = []

    def open_dead() -> psycopg.Connection[DictRow]:
        conn = psycopg.connect(**app_conninfo(), autocommit=True, row_factory=dict_row)
        opened.append(conn.info.backend_pid)
        terminate(conn.info.backend_pid)
        return conn

    monkeypatch.setattr(db, "_open", open_dead)
    work_calls: list[int] = []
    with pytest.raises(Unavailable):
        db.run_in_transaction(lambda conn: work_calls.append(1))
    assert (len(opened), work_calls) == (2, []), "one replacement, and the work never started"


def test_the_environment_connection_autocommits_so_a_listen_takes_effect() -> None:
    """The dispatcher LISTENs on it outside any transaction: left uncommitted, it would hear nothing."""
    conn = db.connection()
    conn.execute("LISTEN labcore_autocommit_probe")
    with psycopg.connect(**app_conninfo(), autocommit=True) as other:
        other.execute("NOTIFY labcore_autocommit_probe, 'hello'")
    heard = [n.payload for n in conn.notifies(timeout=2, stop_after=1)]
    conn.execute("UNLISTEN *")
    assert heard == ["hello"]

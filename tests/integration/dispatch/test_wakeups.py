"""Waking the dispatcher: NOTIFY on every outbox insert, lingering after a nudge, reconnecting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from psycopg.rows import DictRow

from dispatcher import service
from dispatcher.service import DispatchSettings
from integration.dispatch.support import (
    RecordingPublisher,
    in_transaction_on,
    insert_rows,
    plenty_of_time,
)
from tests_support import app_conninfo, poll


def test_lingering_dispatcher_publishes_rows_committed_after_its_drain(
    admin: psycopg.Connection[DictRow], connect: Callable[[], psycopg.Connection[DictRow]]
) -> None:
    from labcore import outbox

    settings = DispatchSettings(batch_size=10, linger_s=2.0)
    publisher = RecordingPublisher()
    conn = connect()
    conn.execute(f"LISTEN {outbox.NOTIFY_CHANNEL}")
    results: list[service.PassResult] = []
    lingering = threading.Thread(
        target=lambda: results.append(
            service.drain_and_linger(
                lambda: conn, in_transaction_on(conn), publisher, settings, plenty_of_time
            )
        )
    )
    started = time.monotonic()
    lingering.start()
    backend = conn.info.backend_pid

    def waiting_on_listen() -> bool:
        # Its first drain has committed: from now on only a notification can wake it.
        row = admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (backend,)).fetchone()
        return row is not None and row["query"].startswith("COMMIT")

    poll(waiting_on_listen, timeout=5, interval=0.01, what="the dispatcher to finish its first drain")
    writer = connect()
    with writer.transaction():
        committed_id = outbox.enqueue(
            writer,
            aggregate_type="t",
            aggregate_id="1",
            topic="conversion-jobs",
            event_type="e",
            payload={},
            headers={},
        )
    committed_at = time.monotonic()
    poll(lambda: committed_id in publisher.sent, timeout=1, interval=0.005, what="the row to be published")
    published_after_s = time.monotonic() - committed_at
    lingering.join(timeout=5)
    assert publisher.sent == [committed_id]
    assert published_after_s < 0.5, "woken by NOTIFY, not by a poll"
    assert results[0].published == 1
    assert 2.0 <= time.monotonic() - started < 3.5, "it lingered, then returned"


def test_a_rolled_back_outbox_row_notifies_nobody(connect: Callable[[], psycopg.Connection[DictRow]]) -> None:
    from labcore import outbox

    listener, writer = connect(), connect()
    listener.execute(f"LISTEN {outbox.NOTIFY_CHANNEL}")
    with pytest.raises(RuntimeError), writer.transaction():
        outbox.enqueue(
            writer, aggregate_type="t", aggregate_id="1", topic="x", event_type="e", payload={}, headers={}
        )
        raise RuntimeError("rolled back")
    assert list(listener.notifies(timeout=0.3, stop_after=1)) == []


def test_any_committed_insert_into_the_outbox_notifies(
    admin: psycopg.Connection[DictRow], connect: Callable[[], psycopg.Connection[DictRow]]
) -> None:
    from labcore import outbox

    listener = connect()
    listener.execute(f"LISTEN {outbox.NOTIFY_CHANNEL}")
    insert_rows(admin, 3)  # plain SQL, not labcore.outbox.enqueue
    woken = list(listener.notifies(timeout=2, stop_after=1))
    assert [note.channel for note in woken] == [outbox.NOTIFY_CHANNEL]


def test_inbox_retention_deletes_only_old_rows(
    admin: psycopg.Connection[DictRow], connect: Callable[[], psycopg.Connection[DictRow]]
) -> None:
    admin.execute("TRUNCATE inbox")
    admin.execute(
        "INSERT INTO inbox (consumer, message_key, received_at) VALUES"
        " ('worker', 'old', now() - interval '16 days'), ('worker', 'recent', now() - interval '13 days')"
    )
    with connect() as conn, conn.transaction():  # as the app role: it may delete from the inbox
        assert service.purge_inbox(conn, retention_hours=360) == 1
    assert [r["message_key"] for r in admin.execute("SELECT message_key FROM inbox")] == ["recent"]


def test_nudged_dispatcher_publishes_after_its_connection_died(
    admin: psycopg.Connection[DictRow], dispatch_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Postgres restarted since the last invocation: LISTEN must reconnect, not fail the invocation."""
    from dispatcher import handler as dispatcher_handler
    from integration.conftest import DB_VARIABLES, reset_labcore
    from labcore import db
    from tests_support import lambda_context

    info = {**app_conninfo(), "dbname": dispatch_db}
    for name, key in DB_VARIABLES.items():
        monkeypatch.setenv(name, str(info[key]))
    reset_labcore()
    publisher = RecordingPublisher()
    monkeypatch.setattr(dispatcher_handler, "publisher", lambda: publisher)
    monkeypatch.setattr(
        dispatcher_handler, "dispatch_settings", DispatchSettings(batch_size=10, linger_s=0.3)
    )
    try:
        dead = db.connection().info.backend_pid  # the environment's connection from an earlier invocation
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (dead,))  # waits for the backend to exit
        ids = insert_rows(admin, 3)
        counts = dispatcher_handler.handler({"source": "jobs-api"}, lambda_context("dispatcher"))
        assert counts["published"] == 3
        assert sorted(publisher.sent) == ids
        assert db.connection().info.backend_pid != dead
    finally:
        reset_labcore()


def test_linger_drains_in_full_passes_and_stops_listening_afterwards(
    admin: psycopg.Connection[DictRow], connect: Callable[[], psycopg.Connection[DictRow]]
) -> None:
    insert_rows(admin, 15)
    conn = connect()
    settings = DispatchSettings(batch_size=10, linger_s=0)
    passes: list[service.PassResult] = []
    result = service.drain_and_linger(
        lambda: conn, in_transaction_on(conn), RecordingPublisher(), settings, plenty_of_time, passes.append
    )
    assert (result.claimed, result.published) == (15, 15)
    assert [p.claimed for p in passes] == [10, 5], "each pass is reported"
    channels = conn.execute("SELECT count(*) AS n FROM pg_listening_channels()").fetchone()
    assert channels == {"n": 0}, "UNLISTEN on the way out: a warm connection must not queue notifications"


def test_linger_ends_early_when_the_invocation_runs_out_of_time(
    admin: psycopg.Connection[DictRow], connect: Callable[[], psycopg.Connection[DictRow]]
) -> None:
    conn = connect()
    settings = DispatchSettings(linger_s=5.0, time_reserve_ms=3000)
    started = time.monotonic()
    result = service.drain_and_linger(
        lambda: conn, in_transaction_on(conn), RecordingPublisher(), settings, lambda: 3300
    )
    took = time.monotonic() - started
    assert result.claimed == 0
    assert 0.2 <= took < 1.5, f"lingered {took:.2f} s with 0.3 s to spare"

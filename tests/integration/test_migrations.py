"""The migration runner against the lab's Postgres: applied once, recorded, least privilege."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import DictRow

import migrate


def test_every_migration_is_recorded_with_its_checksum(admin_db: psycopg.Connection[DictRow]) -> None:
    recorded = {
        row["version"]: row["checksum"] for row in admin_db.execute("SELECT * FROM schema_migrations")
    }
    files = sorted(migrate.MIGRATIONS.glob("*.sql"))
    assert files, "no migrations found"
    for path in files:
        assert recorded.get(path.stem) == hashlib.sha256(path.read_text().encode()).hexdigest()


def test_running_again_applies_nothing() -> None:
    assert migrate.migrate("outbox") == []


def test_an_applied_migration_that_changed_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, admin_db: psycopg.Connection[DictRow]
) -> None:
    changed = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, changed)
    first = sorted(changed.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after the fact\n")
    before = admin_db.execute("SELECT count(*) AS n FROM schema_migrations").fetchone()
    monkeypatch.setattr(migrate, "MIGRATIONS", changed)
    with pytest.raises(SystemExit, match=f"{first.name} changed after it was applied"):
        migrate.migrate("outbox")
    assert admin_db.execute("SELECT count(*) AS n FROM schema_migrations").fetchone() == before


def test_app_role_has_only_the_grants_it_needs(app_db: psycopg.Connection[DictRow]) -> None:
    user = app_db.execute(
        "SELECT current_user AS u, usesuper FROM pg_user WHERE usename = current_user"
    ).fetchone()
    assert user == {"u": "outbox_app", "usesuper": False}
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_db.execute("CREATE TABLE not_allowed (id int)")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_db.execute("DELETE FROM conversion_jobs")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_db.execute("SELECT * FROM schema_migrations")

"""The migration runner against the lab's Postgres: applied once, recorded, least privilege."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from iso4217 import Currency
from psycopg.rows import DictRow, dict_row

import migrate
from tests_support import admin_conninfo


@pytest.fixture(scope="module")
def fresh_db() -> Iterator[psycopg.Connection[DictRow]]:
    """A database built from db/migrations as they are now (the lab's applied them long ago)."""
    with (
        migrate.scratch_database("outbox_migrations_test") as name,
        psycopg.connect(**admin_conninfo(name), autocommit=True, row_factory=dict_row) as conn,
    ):
        yield conn


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


def test_currency_minor_units_and_names_are_iso_4217(fresh_db: psycopg.Connection[DictRow]) -> None:
    rows = fresh_db.execute("SELECT code, minor_units, name FROM currencies ORDER BY code").fetchall()
    assert len(rows) >= 14, "the reference data was seeded"
    by_iso = {currency.code: currency for currency in Currency}
    for row in rows:
        iso = by_iso.get(row["code"])
        assert iso is not None, f"{row['code']} is not an ISO 4217 code"
        assert (row["minor_units"], row["name"]) == (iso.exponent, iso.currency_name), row["code"]
    assert {row["code"]: row["minor_units"] for row in rows}.items() >= {"BHD": 3, "JPY": 0, "USD": 2}.items()


def test_every_rate_pair_is_seeded_both_ways(fresh_db: psycopg.Connection[DictRow]) -> None:
    codes = [row["code"] for row in fresh_db.execute("SELECT code FROM currencies")]
    pairs = {
        (row["source_currency"], row["target_currency"]): row["rate"]
        for row in fresh_db.execute("SELECT source_currency, target_currency, rate FROM exchange_rates")
    }
    assert len(pairs) == len(codes) * (len(codes) - 1)
    usd_eur, eur_usd = pairs["USD", "EUR"], pairs["EUR", "USD"]
    assert abs(usd_eur * eur_usd - 1) < 1e-8, "one table, inverse rates"

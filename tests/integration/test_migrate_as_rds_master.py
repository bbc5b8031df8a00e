"""The migration runner as a master user (CREATEROLE, CREATEDB, not superuser), as on RDS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

import migrate
from tests_support import admin_conninfo, app_conninfo

MASTER, MASTER_PASSWORD, DBNAME = "lab_rds_like_master", "master-pw-for-tests", "outbox_rds_like_test"


@pytest.fixture
def master() -> Iterator[dict[str, Any]]:
    """A role like RDS's master user; the app role is granted to it as RDS's master has the roles it made."""
    drop_db = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DBNAME))
    drop_role = sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(MASTER))
    app_user = app_conninfo()["user"]
    with psycopg.connect(**admin_conninfo("postgres"), autocommit=True) as conn:
        conn.execute(drop_db)
        conn.execute(drop_role)
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB PASSWORD {}").format(
                sql.Identifier(MASTER), sql.Literal(MASTER_PASSWORD)
            )
        )
        grant = sql.SQL("GRANT {} TO {} WITH ADMIN OPTION")
        conn.execute(grant.format(sql.Identifier(app_user), sql.Identifier(MASTER)))
    try:
        yield {"user": MASTER, "password": MASTER_PASSWORD}
    finally:
        with psycopg.connect(**admin_conninfo("postgres"), autocommit=True) as conn:
            conn.execute(drop_db)
            conn.execute(drop_role)


def test_bootstrap_and_migrations_run_without_a_superuser(
    master: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migrate, "admin_conninfo", lambda dbname=None: {**admin_conninfo(dbname), **master})
    app = app_conninfo()
    migrate.bootstrap(DBNAME, app["user"], app["password"])
    applied = migrate.migrate(DBNAME)
    assert applied == [path.stem for path in sorted(migrate.MIGRATIONS.glob("*.sql"))]
    with psycopg.connect(**{**app, "dbname": DBNAME}) as conn:
        role = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        assert role.fetchone() == (False, False, False)
        assert conn.execute("SELECT count(*) FROM conversion_jobs").fetchone() == (0,)

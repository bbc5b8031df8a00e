"""Creates the lab's database and application role, then applies db/migrations/*.sql once each.

Forward-only: pending files run in file-name order in one transaction (each in a savepoint) under
an advisory lock, so a failing file applies none of them; each is recorded in schema_migrations
with its checksum, and an applied file that changed afterwards is an error, not a silent re-run.
Settings: LAB_PG_HOST, LAB_PG_PORT, LAB_PG_USER, LAB_PG_PASSWORD (superuser), LAB_DB_NAME,
LAB_APP_DB_PASSWORD (of `outbox_app`, the least-privilege role the Lambdas use; the migrations
grant to it by name).
"""

from __future__ import annotations

import hashlib
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from lab import settings
from labtools import admin_conninfo, app_conninfo

MIGRATIONS = Path(__file__).resolve().parent.parent / "db" / "migrations"
LOCK_ID = 7_301_001  # pg_advisory_xact_lock key: one migrator at a time


def bootstrap(dbname: str, app_user: str, app_password: str) -> None:
    """Database and role: not transactional in Postgres, so idempotent statements outside migrations."""
    with psycopg.connect(**admin_conninfo("postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (app_user,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(app_user)))
        # Only a superuser may name the SUPERUSER attribute at all; RDS's master user is not one
        # (rds_superuser), and a role it creates or alters cannot be a superuser anyway.
        superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        attributes = (
            "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
            if superuser and superuser[0]
            else "LOGIN NOCREATEDB NOCREATEROLE"
        )
        # The server gets the SCRAM verifier, never the password: a logged statement (log_statement,
        # an error's STATEMENT line) would put the password in the server's log.
        verifier = conn.pgconn.encrypt_password(app_password.encode(), app_user.encode()).decode()
        conn.execute(
            sql.SQL("ALTER ROLE {} WITH " + attributes + " PASSWORD {}").format(
                sql.Identifier(app_user), sql.Literal(verifier)
            )
        )
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    with psycopg.connect(**admin_conninfo(dbname), autocommit=True) as conn:
        # The app role may use the schema but not create objects in it.
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(app_user)))
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(dbname), sql.Identifier(app_user)
            )
        )


def migrate(dbname: str) -> list[str]:
    applied_now: list[str] = []
    with psycopg.connect(**admin_conninfo(dbname)) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_ID,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied: dict[str, str] = dict(
            conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
        )
        for path in sorted(MIGRATIONS.glob("*.sql")):
            text = path.read_text()
            checksum = hashlib.sha256(text.encode()).hexdigest()
            if path.stem in applied:
                if applied[path.stem] != checksum:
                    raise SystemExit(
                        f"migrate: {path.name} changed after it was applied; add a new migration instead"
                    )
                continue
            with conn.transaction():
                conn.execute(text.encode())  # psycopg accepts several statements without parameters
                conn.execute(
                    "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                    (path.stem, checksum),
                )
            applied_now.append(path.stem)
    return applied_now


@contextmanager
def scratch_database(prefix: str, *, name: str | None = None) -> Iterator[str]:
    """A database of its own, built from the migrations as they are now, dropped afterwards.

    For tests, benchmarks and mutation runs that must neither see nor disturb the lab's database.
    `name` fixes the name (a leftover of an interrupted run is dropped first); else it is unique.
    """
    dbname = name or f"{prefix}_{uuid.uuid4().hex[:8]}"
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
    with psycopg.connect(**admin_conninfo("postgres"), autocommit=True) as conn:
        conn.execute(drop)
    app = app_conninfo()
    bootstrap(dbname, app["user"], app["password"])
    migrate(dbname)
    try:
        yield dbname
    finally:
        with psycopg.connect(**admin_conninfo("postgres"), autocommit=True) as conn:
            conn.execute(drop)


def main() -> None:
    try:
        bootstrap(settings.DB_NAME, settings.APP_DB_USER, settings.APP_DB_PASSWORD)
        applied = migrate(settings.DB_NAME)
    except psycopg.OperationalError as exc:
        sys.exit(f"migrate: cannot reach Postgres: {str(exc).strip().splitlines()[0]}")
    except psycopg.Error as exc:
        sys.exit(f"migrate: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
    print(f"migrate: {len(applied)} applied ({', '.join(applied) or 'up to date'})")


if __name__ == "__main__":
    main()

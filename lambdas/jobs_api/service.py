"""Rules of the jobs API: create a job and its outbox event in one transaction, idempotently."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
from psycopg.rows import DictRow

from jobs_api.models import CreateJobRequest, Job
from labcore import outbox, topics
from labcore.errors import Conflict, NotFound

EVENT_CREATED = "conversion_job.created"


@dataclass(frozen=True)
class CreateResult:
    job: Job
    created: bool  # False: an earlier request with the same idempotency key made this job


def create_job(
    conn: psycopg.Connection[DictRow], request: CreateJobRequest, headers: dict[str, str]
) -> CreateResult:
    """Insert the job and its outbox row; a replayed idempotency key returns the original job.

    Runs inside the caller's transaction. Concurrency-safe through the unique index: of N requests
    with one key, one insert wins and the others wait for it, then read the committed job.
    """
    request_hash = request.fingerprint()
    row = conn.execute(
        "INSERT INTO conversion_jobs (job_id, client_id, source_currency, target_currency,"
        " source_amount, idempotency_key, request_hash) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (client_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
        " RETURNING *",
        (
            uuid.uuid4(),
            request.client_id,
            request.source_currency,
            request.target_currency,
            request.source_amount,
            request.idempotency_key,
            request_hash,
        ),
    ).fetchone()
    if row is None:
        return _replay(conn, request, request_hash)
    job = Job.from_row(row)
    outbox.enqueue(
        conn,
        aggregate_type="conversion_job",
        aggregate_id=str(job.job_id),
        topic=topics.CONVERSION_JOBS,
        event_type=EVENT_CREATED,
        payload={
            "job_id": str(job.job_id),
            "client_id": job.client_id,
            "source_currency": job.source_currency,
            "target_currency": job.target_currency,
            "source_amount": format(job.source_amount, "f"),
        },
        headers=headers,
    )
    return CreateResult(job=job, created=True)


def _replay(conn: psycopg.Connection[DictRow], request: CreateJobRequest, request_hash: str) -> CreateResult:
    existing = conn.execute(
        "SELECT * FROM conversion_jobs WHERE client_id = %s AND idempotency_key = %s",
        (request.client_id, request.idempotency_key),
    ).fetchone()
    if existing is None:  # the conflicting insert rolled back between our insert and this read
        raise Conflict("a concurrent request with this idempotency key did not complete; retry")
    if existing["request_hash"] != request_hash:
        raise Conflict("idempotency_key was already used with a different request")
    return CreateResult(job=Job.from_row(existing), created=False)


def get_job(conn: psycopg.Connection[DictRow], job_id: uuid.UUID) -> Job:
    row = conn.execute("SELECT * FROM conversion_jobs WHERE job_id = %s", (job_id,)).fetchone()
    if row is None:
        raise NotFound(f"job {job_id} not found")
    return Job.from_row(row)

-- The app role gets the columns its statements write, not whole tables; no temp tables, no large objects.

-- Table-wide INSERT and UPDATE become the columns the Lambdas' statements name (REVOKE on a table
-- takes its column grants too). SELECT stays table-wide where a statement reads the row (SELECT *,
-- RETURNING *, ON CONFLICT, FOR UPDATE); a table that is only written to loses it.

-- jobs_api inserts a job; the worker locks it (FOR UPDATE needs UPDATE on a column) and completes it.
REVOKE INSERT, UPDATE ON conversion_jobs FROM outbox_app;
GRANT INSERT (job_id, client_id, source_currency, target_currency, source_amount, idempotency_key,
              request_hash)
    ON conversion_jobs TO outbox_app;
GRANT UPDATE (status, failure_reason, rate, target_amount, completed_at, updated_at)
    ON conversion_jobs TO outbox_app;

-- The APIs enqueue; the dispatcher claims, marks published or failed or parked, and purges.
REVOKE INSERT, UPDATE ON outbox FROM outbox_app;
GRANT INSERT (aggregate_type, aggregate_id, topic, event_type, payload, headers) ON outbox TO outbox_app;
GRANT UPDATE (published_at, attempts, last_error, next_attempt_at, parked_at) ON outbox TO outbox_app;

-- Consumers record a message key; the dispatcher purges old keys. A key is never rewritten.
REVOKE INSERT ON inbox FROM outbox_app;
GRANT INSERT (consumer, message_key) ON inbox TO outbox_app;

-- The events API stores an event and its entities; it reads events back, never their entities.
REVOKE SELECT, INSERT ON car_events, car_event_entities FROM outbox_app;
GRANT SELECT ON car_events TO outbox_app;
GRANT INSERT (event_id, event_name, event_type, created_date, saved_date, body, body_hash)
    ON car_events TO outbox_app;
GRANT INSERT (event_id, position, entity_id, entity_type, created_at, updated_at, properties)
    ON car_event_entities TO outbox_app;

-- The projector upserts a car (every column but the key on conflict); the events API reads it.
REVOKE INSERT, UPDATE ON car_entities FROM outbox_app;
GRANT INSERT (entity_id, entity_type, vin, make, model, year, color, mileage, last_service_date,
              total_balance, last_loan_payment_date, owner, created_at, updated_at, last_event_id)
    ON car_entities TO outbox_app;
GRANT UPDATE (entity_type, vin, make, model, year, color, mileage, last_service_date, total_balance,
              last_loan_payment_date, owner, created_at, updated_at, last_event_id, projected_at)
    ON car_entities TO outbox_app;

-- Every role may create temporary tables (and so functions in pg_temp) by default: not this one.
-- The database's name is not known here: the migrations run in whichever database they build.
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END
$$;

-- Nor may every role create large objects (storage outside any table); the lab uses none.
REVOKE EXECUTE ON FUNCTION lo_creat(integer), lo_create(oid), lo_from_bytea(oid, bytea) FROM PUBLIC;

-- Amounts at the scale they mean, a trigger that wakes the dispatcher, inbox retention, less cruft.

-- A source amount keeps the scale the client gave ("12.5" stays "12.5"); a target amount has the
-- target currency's minor units (the worker rounds to them). At most 4 places, as before, and the
-- old precisions as upper bounds.
ALTER TABLE conversion_jobs
    ALTER COLUMN source_amount TYPE numeric,
    ALTER COLUMN target_amount TYPE numeric,
    ADD CONSTRAINT conversion_jobs_source_amount_scale
        CHECK (scale(source_amount) <= 4 AND source_amount < 1e14),
    ADD CONSTRAINT conversion_jobs_target_amount_scale
        CHECK (scale(target_amount) <= 4 AND target_amount < 1e20);

-- Completed jobs were stored at 4 places; their values already had the currency's minor units.
UPDATE conversion_jobs AS j
SET target_amount = round(j.target_amount, c.minor_units)
FROM currencies AS c
WHERE c.code = j.target_currency AND j.target_amount IS NOT NULL;

-- 'processing' was never written: a job goes from queued to completed or failed in one transaction.
ALTER TABLE conversion_jobs
    DROP CONSTRAINT conversion_jobs_status_check,
    ADD CONSTRAINT conversion_jobs_status_check CHECK (status IN ('queued', 'completed', 'failed'));

-- Every committed insert into the outbox wakes a listening dispatcher, whoever wrote the rows.
-- The channel is labcore.outbox.NOTIFY_CHANNEL; Postgres delivers it only if the transaction commits.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_enqueued', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- The scheduled dispatcher deletes inbox rows past their retention oldest first, through this index.
CREATE INDEX inbox_received ON inbox (received_at);
GRANT DELETE ON inbox TO outbox_app;

-- The jobs worker proves the SQS -> Lambda -> Postgres path: the smoke function and its table go.
DROP TABLE smoke_messages;

-- Smoke check of the SQS -> Lambda -> Postgres path: one row per message the smoke worker saw.
CREATE TABLE smoke_messages (
    message_id  text PRIMARY KEY,
    body        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT ON smoke_messages TO outbox_app;

-- Delivery bookkeeping: the consumers' dedup table, and cheap cleanup of published outbox rows.

-- One row per message a consumer has applied: a redelivery finds its key and is skipped.
CREATE TABLE inbox (
    consumer    text NOT NULL,
    message_key text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_key)
);

-- Retention cleanup deletes published rows oldest first through this index only.
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;

GRANT SELECT, INSERT ON inbox TO outbox_app;

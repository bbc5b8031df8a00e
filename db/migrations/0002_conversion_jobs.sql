-- Conversion jobs, the transactional outbox, and the reference data the worker converts with.

CREATE TABLE currencies (
    code        char(3) PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
    minor_units smallint NOT NULL CHECK (minor_units BETWEEN 0 AND 4),
    name        text NOT NULL
);

CREATE TABLE exchange_rates (
    source_currency char(3) NOT NULL REFERENCES currencies (code),
    target_currency char(3) NOT NULL REFERENCES currencies (code),
    rate            numeric(20, 10) NOT NULL CHECK (rate > 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_currency, target_currency),
    CHECK (source_currency <> target_currency)
);

CREATE TABLE conversion_jobs (
    job_id          uuid PRIMARY KEY,
    client_id       text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 64),
    source_currency char(3) NOT NULL CHECK (source_currency ~ '^[A-Z]{3}$'),
    target_currency char(3) NOT NULL CHECK (target_currency ~ '^[A-Z]{3}$'),
    source_amount   numeric(18, 4) NOT NULL CHECK (source_amount > 0),
    target_amount   numeric(24, 4),
    rate            numeric(20, 10),
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
    failure_reason  text,
    idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    request_hash    text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    CHECK (source_currency <> target_currency),
    CHECK ((status = 'completed') = (target_amount IS NOT NULL AND rate IS NOT NULL)),
    CHECK ((status IN ('completed', 'failed')) = (completed_at IS NOT NULL)),
    CHECK ((status = 'failed') = (failure_reason IS NOT NULL))
);

-- Idempotency per client: INSERT ... ON CONFLICT on this index, never check-then-insert.
CREATE UNIQUE INDEX conversion_jobs_client_idempotency_key
    ON conversion_jobs (client_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE outbox (
    outbox_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    aggregate_type  text NOT NULL,
    aggregate_id    text NOT NULL,
    topic           text NOT NULL,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    headers         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    published_at    timestamptz,
    parked_at       timestamptz
);

-- "Unpublished, due, oldest first" reads this partial index only.
CREATE INDEX outbox_due ON outbox (next_attempt_at, outbox_id)
    WHERE published_at IS NULL AND parked_at IS NULL;

GRANT SELECT ON currencies, exchange_rates TO outbox_app;
GRANT SELECT, INSERT, UPDATE ON conversion_jobs TO outbox_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO outbox_app;

-- Reference data: minor units per ISO 4217, and mid-market rates derived from one USD table.
INSERT INTO currencies (code, minor_units, name) VALUES
    ('USD', 2, 'US Dollar'),
    ('EUR', 2, 'Euro'),
    ('GBP', 2, 'Pound Sterling'),
    ('JPY', 0, 'Yen'),
    ('CHF', 2, 'Swiss Franc'),
    ('CAD', 2, 'Canadian Dollar'),
    ('AUD', 2, 'Australian Dollar'),
    ('SEK', 2, 'Swedish Krona'),
    ('NOK', 2, 'Norwegian Krone'),
    ('PLN', 2, 'Zloty'),
    ('INR', 2, 'Indian Rupee'),
    ('KRW', 0, 'Won'),
    ('BHD', 3, 'Bahraini Dinar'),
    ('KWD', 3, 'Kuwaiti Dinar');

WITH per_usd (code, units) AS (
    VALUES ('USD', 1.0), ('EUR', 0.9215), ('GBP', 0.7862), ('JPY', 151.42), ('CHF', 0.8817),
           ('CAD', 1.3655), ('AUD', 1.5281), ('SEK', 10.4650), ('NOK', 10.7230), ('PLN', 3.9870),
           ('INR', 83.3150), ('KRW', 1345.50), ('BHD', 0.3770), ('KWD', 0.3075)
)
INSERT INTO exchange_rates (source_currency, target_currency, rate)
SELECT s.code, t.code, round(t.units / s.units, 10)
FROM per_usd AS s CROSS JOIN per_usd AS t
WHERE s.code <> t.code;

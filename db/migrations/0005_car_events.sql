-- Car events: what the events API accepted, the entities each carried, and the projection of them.

-- One row per accepted event, keyed by eventHeader.uuid. `body_hash` tells a replay of the same
-- event (a duplicate: nothing written) from a different event under a used uuid (a conflict).
CREATE TABLE car_events (
    event_id     uuid PRIMARY KEY,
    event_name   text NOT NULL,
    event_type   text NOT NULL,
    created_date timestamptz NOT NULL,
    saved_date   timestamptz NOT NULL,
    body         jsonb NOT NULL,
    body_hash    text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT car_events_saved_after_created CHECK (saved_date >= created_date)
);

-- The entities of each event, in their order in the event; `properties` are the entity's root fields.
CREATE TABLE car_event_entities (
    event_id    uuid NOT NULL REFERENCES car_events ON DELETE CASCADE,
    position    smallint NOT NULL CHECK (position >= 0),
    entity_id   text NOT NULL,
    entity_type text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    properties  jsonb NOT NULL,
    PRIMARY KEY (event_id, position)
);

-- An entity's history, newest last.
CREATE INDEX car_event_entities_entity ON car_event_entities (entity_id, updated_at);

-- The read model the projector keeps: one row per car, the state of its newest update. An update
-- whose updated_at is older than the row's never overwrites it (a redrive or republish is safe).
CREATE TABLE car_entities (
    entity_id              text PRIMARY KEY,
    entity_type            text NOT NULL,
    vin                    text NOT NULL,
    make                   text NOT NULL,
    model                  text NOT NULL,
    year                   smallint NOT NULL,
    color                  text,
    mileage                integer NOT NULL CHECK (mileage >= 0),
    last_service_date      timestamptz,
    total_balance          numeric NOT NULL CHECK (total_balance >= 0 AND scale(total_balance) <= 2),
    last_loan_payment_date timestamptz,
    owner                  text,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    last_event_id          uuid NOT NULL,
    projected_at           timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT ON car_events, car_event_entities TO outbox_app;
GRANT SELECT, INSERT, UPDATE ON car_entities TO outbox_app;

"""The events ingestion API: car entity events into Postgres through the transactional outbox."""

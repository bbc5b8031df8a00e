"""SQS-triggered worker: applies each outbox event once, routed by its topic."""

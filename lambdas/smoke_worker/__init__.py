"""Smoke-check SQS consumer: records each message of the smoke queue in Postgres."""

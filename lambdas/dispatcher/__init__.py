"""Outbox dispatcher: publishes due outbox rows to SQS, on a schedule and when nudged."""

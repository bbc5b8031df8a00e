"""Smoke-check function behind GET /ping: proves API Gateway, the layer and Postgres work."""

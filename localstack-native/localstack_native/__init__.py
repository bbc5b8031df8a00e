"""LocalStack plugins that let the lab run without Docker (installed into the LocalStack venv)."""

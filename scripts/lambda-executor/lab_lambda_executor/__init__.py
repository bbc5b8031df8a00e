"""LocalStack Lambda runtime executor that runs each function environment as a local process."""

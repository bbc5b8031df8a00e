"""The native plugins' own tests (a package, so they can share their harness)."""

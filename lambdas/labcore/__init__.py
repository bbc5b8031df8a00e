"""Shared code for the lab's Lambdas (configuration, database access), shipped in the layer."""

"""The local stack: a local AWS endpoint and a local Port-compatible catalog, for development, tests and demos."""

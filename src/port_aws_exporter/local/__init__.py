"""The local stack: servers that stand in for AWS and Port during development, tests and demos."""

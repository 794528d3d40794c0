"""Edges towards AWS: boto3 clients, Cloud Control and native fetchers, identity."""

"""Full-sync checkpoints in S3, next to the config (positions and identifiers only, no secrets)."""

from __future__ import annotations

import posixpath

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.lambda_runtime.settings import S3Location
from port_aws_exporter.sync.checkpoint import SyncCheckpoint


class S3CheckpointStore:
    """Saves, loads and deletes checkpoints under an S3 prefix."""

    def __init__(self, clients: AwsClients, prefix: S3Location, region: str) -> None:
        self._clients = clients
        self._prefix = prefix
        self._region = region

    def save(self, name: str, checkpoint: SyncCheckpoint) -> S3Location:
        location = S3Location(self._prefix.bucket, posixpath.join(self._prefix.key, f"{name}.json"))
        self._clients.client("s3", self._region).put_object(
            Bucket=location.bucket, Key=location.key, Body=checkpoint.to_json().encode(), ContentType="application/json"
        )
        return location

    def load(self, location: S3Location) -> SyncCheckpoint:
        body = self._clients.client("s3", self._region).get_object(Bucket=location.bucket, Key=location.key)["Body"]
        return SyncCheckpoint.from_json(body.read().decode())

    def delete(self, location: S3Location) -> None:
        self._clients.client("s3", self._region).delete_object(Bucket=location.bucket, Key=location.key)

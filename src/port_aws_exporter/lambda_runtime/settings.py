"""The Lambda functions' settings: the one place that reads their environment variables.

Where an invocation finds its config and its Port credentials, as the original exporter:

- Config: `PORT_AWS_EXPORTER_CONFIG` (a path or an `s3://` URL) when set, else the S3 object
  `BUCKET_NAME` / `CONFIG_JSON_FILE_KEY` (default `config.json`).
- Port credentials: `PORT_CLIENT_ID` + `PORT_CLIENT_SECRET` (+ `PORT_API_URL`) when set; else the
  invocation event's `port_client_id` / `port_client_secret` / `port_api_url` (the original allows
  them); else the Secrets Manager secret named by `PORT_CREDS_SECRET_ARN`, a JSON object
  `{"id": …, "clientSecret": …}`.
- Checkpoints of long full syncs go next to the config in S3.

Numbers (retry limits, cache times, the time reserve, the log level, the function's memory) are
read by `int_setting` and `float_setting`, so a bad value names its variable.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.core.config import ExporterConfig
from port_aws_exporter.core.jq.worker import memory_limit_for
from port_aws_exporter.port import PortConfigurationError, PortCredentials

EVENT_CREDENTIAL_KEYS = ("port_client_id", "port_client_secret")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @classmethod
    def parse(cls, url: str) -> S3Location | None:
        if not url.startswith("s3://"):
            return None
        bucket, _, key = url.removeprefix("s3://").partition("/")
        return cls(bucket, key) if bucket and key else None


@dataclass(frozen=True)
class ShardedSyncSettings:
    """The sharded sync's queue, run table and state bucket in the deployed stack."""

    tasks_queue_url: str
    run_table: str
    bucket: str


@dataclass(frozen=True)
class LambdaEnvironment:
    """The exporter's settings read from a Lambda function's environment variables."""

    config_source: str
    checkpoint_prefix: S3Location | None
    secret_arn: str | None
    environ: Mapping[str, str]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> LambdaEnvironment:
        override = environ.get("PORT_AWS_EXPORTER_CONFIG", "").strip()
        bucket = environ.get("BUCKET_NAME", "").strip()
        key = environ.get("CONFIG_JSON_FILE_KEY", "").strip() or "config.json"
        if override:
            source = override
        elif bucket:
            source = f"s3://{bucket}/{key}"
        else:
            raise PortConfigurationError(
                "no config: set PORT_AWS_EXPORTER_CONFIG (a path or s3:// URL) or BUCKET_NAME "
                "(and CONFIG_JSON_FILE_KEY, default config.json)"
            )
        config_location = S3Location.parse(source)
        if config_location is not None:
            prefix: S3Location | None = S3Location(
                config_location.bucket, posixpath.join(posixpath.dirname(config_location.key), "checkpoints")
            )
        elif bucket:
            prefix = S3Location(bucket, "checkpoints")
        else:
            prefix = None
        secret = environ.get("PORT_CREDS_SECRET_ARN", "").strip() or None
        return cls(source, prefix, secret, environ)

    def sharded_sync(self) -> ShardedSyncSettings | None:
        """Where the sharded sync's runs live (the template's ShardedSync): the tasks queue, the run
        table and the config bucket; None when the stack runs the sync in one process."""
        queue_url = self.environ.get("SYNC_TASKS_QUEUE_URL", "").strip()
        table = self.environ.get("SYNC_RUN_TABLE", "").strip()
        if not queue_url and not table:
            return None
        bucket = self.environ.get("BUCKET_NAME", "").strip()
        if not (queue_url and table and bucket):
            missing = [
                name
                for name, value in (
                    ("SYNC_TASKS_QUEUE_URL", queue_url),
                    ("SYNC_RUN_TABLE", table),
                    ("BUCKET_NAME", bucket),
                )
                if not value
            ]
            raise PortConfigurationError(f"a sharded sync needs {', '.join(missing)} set as well")
        return ShardedSyncSettings(queue_url, table, bucket)

    def accounts_role(self, config: ExporterConfig) -> ExporterConfig:
        """The config with the stack's member role (`ACCOUNTS_ROLE_NAME`, `ACCOUNTS_EXTERNAL_ID`, the
        template's MemberRoleName and MemberRoleExternalId) where its `accounts` section names none."""
        accounts = config.accounts
        if accounts is None:
            return config
        update: dict[str, str] = {}
        role = self.environ.get("ACCOUNTS_ROLE_NAME", "").strip()
        external = self.environ.get("ACCOUNTS_EXTERNAL_ID", "").strip()
        if role and "role_name" not in accounts.model_fields_set:
            update["role_name"] = role
        if external and "external_id" not in accounts.model_fields_set:
            update["external_id"] = external
        if not update:
            return config
        return config.model_copy(update={"accounts": accounts.model_copy(update=update)})

    def port_credentials(self, event: Mapping[str, Any], clients: AwsClients, region: str) -> PortCredentials:
        """Credentials from the environment, the event, or the secret, in that order."""
        if self.environ.get("PORT_CLIENT_ID") and self.environ.get("PORT_CLIENT_SECRET"):
            return PortCredentials.from_env(self.environ)
        api_url = str(event.get("port_api_url") or self.environ.get("PORT_API_URL") or "") or None
        if all(event.get(key) for key in EVENT_CREDENTIAL_KEYS):
            return _credentials(str(event["port_client_id"]), str(event["port_client_secret"]), api_url)
        if self.secret_arn is None:
            raise PortConfigurationError(
                "no Port credentials: set PORT_CREDS_SECRET_ARN (a secret holding "
                '{"id": ..., "clientSecret": ...}) or PORT_CLIENT_ID and PORT_CLIENT_SECRET'
            )
        return self._secret_credentials(clients, region, api_url)

    def _secret_credentials(self, clients: AwsClients, region: str, api_url: str | None) -> PortCredentials:
        secret_region = (
            self.secret_arn.split(":")[3] if self.secret_arn and self.secret_arn.startswith("arn:") else region
        )
        response = clients.client("secretsmanager", secret_region).get_secret_value(SecretId=self.secret_arn)
        try:
            document = json.loads(response.get("SecretString") or "")
            return _credentials(str(document["id"]), str(document["clientSecret"]), api_url)
        except (ValueError, KeyError, TypeError):
            # Never echo the secret's content: only what is wrong with its shape.
            raise PortConfigurationError(
                f"the secret {self.secret_arn} must hold a JSON object with 'id' and 'clientSecret'"
            ) from None


def _credentials(client_id: str, client_secret: str, api_url: str | None) -> PortCredentials:
    values: dict[str, Any] = {"client_id": client_id, "client_secret": client_secret}
    if api_url:
        values["api_url"] = api_url
    return PortCredentials(**values)


def lambda_environment() -> LambdaEnvironment:
    """Where this function finds its config and credentials."""
    return LambdaEnvironment.from_environ(os.environ)


def int_setting(name: str, default: int) -> int:
    """A whole-number setting, `default` when unset or blank; ValueError naming it when malformed."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {text!r}") from None


def float_setting(name: str, default: float) -> float:
    """A number-of-seconds setting, `default` when unset or blank; ValueError naming it when malformed."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {text!r}") from None


def port_max_requests_per_minute() -> int | None:
    """`PORT_MAX_REQUESTS_PER_MINUTE`: this process's budget of Port requests (None: Port's limit)."""
    value = int_setting("PORT_MAX_REQUESTS_PER_MINUTE", 0)
    if value < 0:
        raise ValueError(f"PORT_MAX_REQUESTS_PER_MINUTE must be a positive whole number, not {value}")
    return value or None


def metrics_namespace() -> str:
    """`POWERTOOLS_METRICS_NAMESPACE`: the CloudWatch namespace of the functions' metrics."""
    return os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "").strip() or "PortAwsExporter"


def metrics_service() -> str:
    """`POWERTOOLS_SERVICE_NAME`: the `service` dimension of the functions' metrics."""
    return os.environ.get("POWERTOOLS_SERVICE_NAME", "").strip() or "port-aws-exporter"


def log_level() -> str:
    """`LOG_LEVEL`, default INFO."""
    return os.environ.get("LOG_LEVEL", "INFO")


def jq_memory_limit_bytes() -> int:
    """The jq worker's memory limit for this function's memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`)."""
    megabytes = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    return memory_limit_for(int(megabytes) if megabytes.isdigit() else None)

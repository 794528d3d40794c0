"""Start and stop the local AWS endpoint: moto's WSGI app, in-process, behind our middleware.

One endpoint (one port) serves every AWS service moto has, plus our Cloud Control emulator and the
fault-injection and control routes. boto3 reaches all of it through `AWS_ENDPOINT_URL`.

moto keeps its state in module-level backends, so every endpoint started in one process shares the
same AWS state; start one per process.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any

from port_aws_exporter.local.aws.accounts import LocalSts, RegionOptIns
from port_aws_exporter.local.aws.bulk_seed import BulkLambdaSpec, bulk_create_lambda_functions
from port_aws_exporter.local.aws.cloudcontrol.emulator import TARGET_PREFIX, CloudControlEmulator
from port_aws_exporter.local.aws.control_routes import ControlRoutes
from port_aws_exporter.local.aws.eventbridge import (
    TEST_EVENT_PATTERN_TARGET,
    EventBridgeMetrics,
    answer_test_event_pattern,
    install_local_eventbridge,
)
from port_aws_exporter.local.aws.faults import FaultInjector
from port_aws_exporter.local.aws.middleware import LocalAwsMiddleware, ServerStats, TargetHandler

_log = logging.getLogger(__name__)
# Enough for concurrent clients plus SQS long polls, which hold a worker while they wait.
_WORKER_THREADS = 32
_KEEP_ALIVE_CONNECTIONS = 2048


def _reset_moto() -> None:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


class RunningLocalAws:
    """A running local AWS endpoint. Use as a context manager, or call `stop()`.

    - `url`: the base URL (`http://127.0.0.1:PORT`) to give boto3 as `AWS_ENDPOINT_URL`.
    - `faults`: the fault-injection controller (also at `/_local/faults` over HTTP).
    - `cloudcontrol`: the Cloud Control emulator.
    - `eventbridge`: what the local EventBridge delivered and failed to, per rule (also at
      `/_local/eventbridge` over HTTP).
    - `sts`: the AssumeRole calls answered (`.calls`), decided by the roles' trust policies.
    - `regions`: the opt-in regions enabled per account (`.enable(account, region)`).
    """

    def __init__(
        self,
        server: Any,
        middleware: LocalAwsMiddleware,
        cloudcontrol: CloudControlEmulator,
        eventbridge: EventBridgeMetrics,
        sts: LocalSts,
        regions: RegionOptIns,
    ) -> None:
        self._server = server
        self._middleware = middleware
        self.cloudcontrol = cloudcontrol
        self.eventbridge = eventbridge
        self.sts = sts
        self.regions = regions
        self.faults = middleware.faults
        host, port = server.bind_addr[:2]
        self.host: str = str(host)
        self.port: int = int(port)
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=server.serve, name=f"local-aws:{self.port}", daemon=True)
        self._stopped = False

    def _start(self) -> None:
        self._thread.start()

    def reset(self, *, faults: bool = True) -> None:
        """Back to an empty account: moto's state, the Cloud Control store, the EventBridge metrics and
        (by default) fault rules."""
        _reset_moto()
        self.cloudcontrol.reset()
        self.eventbridge.clear()
        self.sts.clear()
        self.regions.clear()
        if faults:
            self.faults.clear()

    def stats(self) -> dict[str, Any]:
        """Requests served and seconds spent, per part (`moto`, `CloudApiService`, `faults`, `control`)."""
        return self._middleware.stats.snapshot()

    @property
    def server_stats(self) -> ServerStats:
        """The live counters behind `stats()` (call `.clear()` to start a measurement)."""
        return self._middleware.stats

    def add_target_handler(self, prefix: str, handler: TargetHandler, *, name: str | None = None) -> None:
        """Answer JSON calls whose `X-Amz-Target` starts with `prefix` with `handler` (e.g. EventBridge)."""
        self._middleware.add_target_handler(prefix, handler, name=name)

    def bulk_create_lambda_functions(
        self, count: int, *, region: str = "us-east-1", account_id: str = "123456789012", **options: Any
    ) -> list[str]:
        """Write `count` Lambda functions straight into moto (see `BulkLambdaSpec` for the options)."""
        return bulk_create_lambda_functions(account_id, BulkLambdaSpec(count=count, region=region, **options))

    def stop(self) -> None:
        """Stop serving and close the socket; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._server.stop()
        self._thread.join(timeout=10)

    def __enter__(self) -> RunningLocalAws:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _header_preserving_gateway() -> type[Any]:
    """cheroot's WSGI gateway, plus the original spelling of headers moto wants to keep.

    CGI-style environ keys turn `x-amz-meta-my_key` into `HTTP_X_AMZ_META_MY_KEY`, losing the
    underscore; moto's own server passes the original names along, so S3 metadata keeps them.
    """
    from cheroot import wsgi
    from moto.core.request import (
        PRESERVED_HEADER_NAMES_ENVIRON_KEY,
        environ_key_for_header,
        should_preserve_original_header_name,
    )

    class HeaderPreservingGateway(wsgi.Gateway_10):
        def get_environ(self) -> Any:
            environ: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
            names = (raw.decode("latin-1") for raw in self.req.inheaders)
            environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = {
                environ_key_for_header(name): name for name in names if should_preserve_original_header_name(name)
            }
            return environ

    return HeaderPreservingGateway


def _http_server(host: str, port: int, app: Any) -> Any:
    """A keep-alive, thread-pooled WSGI server (cheroot).

    werkzeug's development server, which `moto_server` uses, closes the connection after every
    response and starts a thread per connection: boto3 then pays a TCP handshake per call, which
    more than doubled the time of a Cloud Control call measured through it.
    """
    from cheroot import wsgi

    server = wsgi.Server((host, port), app, numthreads=_WORKER_THREADS, shutdown_timeout=1, server_name="local-aws")
    server.gateway = _header_preserving_gateway()
    # cheroot closes idle keep-alive connections past 10; AWS keeps them. A client with more
    # connections open (one pool per account and region) would see resets and back off.
    server.keep_alive_conn_limit = _KEEP_ALIVE_CONNECTIONS
    try:
        server.prepare()
    except OSError as error:
        raise OSError(f"cannot serve the local AWS endpoint on {host}:{port}: {error}") from error
    return server


def start_local_aws(*, host: str = "127.0.0.1", port: int = 0, log_requests: bool = False) -> RunningLocalAws:
    """Serve the local AWS endpoint on `host:port` (port 0: a free port) in a background thread.

    `log_requests`: print one line per request on stderr.

    Example::

        with start_local_aws() as aws:
            cc = boto3.client("cloudcontrol", endpoint_url=aws.url, region_name="us-east-1")
            cc.list_resources(TypeName="AWS::Lambda::Function")
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    import port_aws_exporter.local.aws.cloudcontrol.moto_types  # noqa: F401  (registers the moto-backed types)

    faults = FaultInjector()
    cloudcontrol = CloudControlEmulator()
    eventbridge = install_local_eventbridge()
    stats = ServerStats()

    def reset() -> None:  # `running` is bound below, before the endpoint serves its first request
        running.reset()

    control = ControlRoutes(
        faults=faults,
        stats=stats,
        reset=reset,
        bulk_lambda=bulk_create_lambda_functions,
        eventbridge=eventbridge,
    )
    middleware = LocalAwsMiddleware(
        DomainDispatcherApplication(create_backend_app), faults, control, stats, log_requests=log_requests
    )
    sts, regions = LocalSts(), RegionOptIns()
    middleware.add_guard("sts", sts)
    middleware.add_guard("ec2-regions", regions)
    middleware.add_target_handler(TARGET_PREFIX, cloudcontrol.handle, name="CloudApiService")
    middleware.add_target_handler(TEST_EVENT_PATTERN_TARGET, answer_test_event_pattern, name="EventBridge")
    running = RunningLocalAws(_http_server(host, port, middleware), middleware, cloudcontrol, eventbridge, sts, regions)
    running._start()
    _log.info("local AWS endpoint at %s", running.url)
    return running

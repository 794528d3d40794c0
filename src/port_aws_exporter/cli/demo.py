"""The demo: the whole exporter on the local stack, with no AWS or Port account.

It starts the local AWS endpoint with an organisation of three accounts (the management account,
where the exporter runs, and two members, each with the exporter's read role) and seeds the demo
world in each, starts the local catalog (kept in a SQLite file so it can be looked at afterwards),
applies the project's example blueprints (and the region entities they relate to), and runs a full
sync of the whole organisation with the example `config.json` (plus `"accounts": {"organization": {}}`
and the organisation's accounts, as `organization.config.json` maps them). Live changes then go
through the example rules (seed-format messages) in the management account, and through raw
events in two member accounts: their rules (`rules generate --raw`, member layout) forward every
write event to the management account's bus, whose raw rule (central layout) sends them whole to
the same queue, where the worker resolves and routes them by account.
With a `serve` callback, everything stays up while it runs: the catalog and its page, the local AWS,
and the worker that applies the example rules' events.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import port_aws_exporter
from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.identity import CallerIdentity, resolve_identity
from port_aws_exporter.cli.event_session import open_event_batch
from port_aws_exporter.cli.organization import run_organization_sync
from port_aws_exporter.cli.sharded_demo import run_sharded_demo_sync
from port_aws_exporter.cli.sharded_sync import ShardProgress
from port_aws_exporter.core.config import ExporterConfig, load_config
from port_aws_exporter.events.worker import SqsWorker, WorkerOptions
from port_aws_exporter.local.aws import (
    deploy_rule_template,
    make_change,
    seed_organization,
    seed_organization_worlds,
    start_local_aws,
)
from port_aws_exporter.local.aws.service_clients import local_client
from port_aws_exporter.local.catalog import start_catalog
from port_aws_exporter.port import PortClient, PortCredentials
from port_aws_exporter.port.blueprint_order import order_by_relations
from port_aws_exporter.rules.generate import generate_raw_rules
from port_aws_exporter.rules.rule_output import render_raw_cloudformation
from port_aws_exporter.sync.accounts import OrganizationReport
from port_aws_exporter.sync.full_sync import SyncOptions

REGION_BLUEPRINT = "awsRegion"
DEMO_REGIONS = ("us-east-1", "eu-west-1")
# Member accounts of the demo's organisation (with the management account: three accounts).
DEMO_MEMBER_ACCOUNTS = 2
# Dummy credentials for the local endpoint; the local AWS accepts any.
LOCAL_AWS_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local-demo", "AWS_SECRET_ACCESS_KEY": "local-demo"}


class ExamplesNotFoundError(FileNotFoundError):
    """The project's `examples/` directory could not be found."""


def find_examples_dir(explicit: Path | None = None) -> Path:
    """The project's `examples/`: given, in the current directory, or beside the source checkout."""
    candidates = [explicit] if explicit is not None else []
    candidates += [Path.cwd() / "examples", Path(port_aws_exporter.__file__).resolve().parents[2] / "examples"]
    for candidate in candidates:
        if candidate is not None and (candidate / "config.json").is_file() and (candidate / "blueprints").is_dir():
            return candidate
    tried = ", ".join(str(c) for c in candidates if c is not None)
    raise ExamplesNotFoundError(
        f"the examples directory (config.json and blueprints/) was not found (tried {tried}); "
        "run from the project's checkout or pass --examples DIR"
    )


def load_blueprints(examples: Path) -> list[dict[str, Any]]:
    """The example blueprints, relation targets first."""
    blueprints = [json.loads(path.read_text()) for path in sorted((examples / "blueprints").glob("*.json"))]
    return [dict(blueprint) for blueprint in order_by_relations(blueprints)]


def apply_example_blueprints(port: PortClient, examples: Path, regions: Sequence[str]) -> list[str]:
    """Create or update the example blueprints and one region entity per region; their identifiers."""
    applied = [port.apply_blueprint(blueprint).identifier for blueprint in load_blueprints(examples)]
    if REGION_BLUEPRINT in applied:
        region_entities = [
            {
                "identifier": region,
                "title": region,
                "properties": {"link": f"https://{region}.console.aws.amazon.com/console/home?region={region}"},
            }
            for region in regions
        ]
        failed = [result for result in port.bulk_upsert(REGION_BLUEPRINT, region_entities) if not result.ok]
        if failed:
            raise RuntimeError(f"creating region entities failed: {failed[0].error}: {failed[0].message}")
    return applied


@contextmanager
def local_aws_environment(endpoint_url: str, region: str = DEMO_REGIONS[0]) -> Iterator[None]:
    """Point boto3 (everything built inside the block) at the local AWS endpoint."""
    settings = {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        **LOCAL_AWS_CREDENTIALS,
    }
    previous = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass(frozen=True)
class DemoStep:
    """A step of the demo, for progress output."""

    title: str
    seconds: float


StepReporter = Callable[[DemoStep], None]


@dataclass(frozen=True)
class LiveChange:
    """One change of the live part of the demo, and what it should do to the catalog."""

    kind: str
    action: str
    name: str
    blueprint: str
    # A member account of the demo's organisation, by name (None: the management account).
    member: str | None = None

    @property
    def gone(self) -> bool:
        return self.action == "delete"


# Creates, updates, tags and deletes of the demo's main kinds, in the region the rules watch.
LIVE_CHANGES = (
    LiveChange("AWS::Lambda::Function", "create", "demo-live-checkout", "awsLambdaFunction"),
    LiveChange("AWS::Lambda::Function", "update", "demo-live-checkout", "awsLambdaFunction"),
    LiveChange("AWS::Lambda::Function", "tag", "demo-live-checkout", "awsLambdaFunction"),
    LiveChange("AWS::SQS::Queue", "create", "demo-live-jobs", "awsSqsQueue"),
    LiveChange("AWS::SQS::Queue", "update", "demo-live-jobs", "awsSqsQueue"),
    LiveChange("AWS::DynamoDB::Table", "create", "demo-live-carts", "awsDynamoDbTable"),
    LiveChange("AWS::Lambda::Function", "delete", "demo-live-checkout", "awsLambdaFunction"),
    LiveChange("AWS::SQS::Queue", "delete", "demo-live-jobs", "awsSqsQueue"),
    LiveChange("AWS::DynamoDB::Table", "delete", "demo-live-carts", "awsDynamoDbTable"),
)
# Then in two member accounts, through raw events forwarded to the management account's bus.
MEMBER_LIVE_CHANGES = (
    LiveChange("AWS::SQS::Queue", "create", "team-a-live-jobs", "awsSqsQueue", "team-a"),
    LiveChange("AWS::Lambda::Function", "create", "team-b-live-checkout", "awsLambdaFunction", "team-b"),
    LiveChange("AWS::SQS::Queue", "tag", "team-a-live-jobs", "awsSqsQueue", "team-a"),
    LiveChange("AWS::Lambda::Function", "update", "team-b-live-checkout", "awsLambdaFunction", "team-b"),
    LiveChange("AWS::SQS::Queue", "delete", "team-a-live-jobs", "awsSqsQueue", "team-a"),
    LiveChange("AWS::Lambda::Function", "delete", "team-b-live-checkout", "awsLambdaFunction", "team-b"),
)
EVENTS_QUEUE = "port-aws-exporter-events"
IAM_ROLE_IDENTIFIER = '.RoleName + "@" + .__AccountId'
LIVE_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class LiveEvent:
    """A live change as it went: the events AWS would have sent, the catalog's answer, the latency."""

    change: LiveChange
    event_names: list[str]
    applied: bool
    seconds: float
    account: str = ""

    @property
    def effect(self) -> str:
        entity = f"{self.change.blueprint}/{self.change.name}"
        if not self.applied:
            return f"{entity} did not change within {LIVE_TIMEOUT_SECONDS:.0f} s"
        return f"{entity} {_EFFECTS[self.change.action]}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.change.kind,
            "account": self.account,
            "action": self.change.action,
            "name": self.change.name,
            "events": self.event_names,
            "effect": self.effect,
            "applied": self.applied,
            "seconds": round(self.seconds, 3),
        }


_EFFECTS = {"create": "created", "update": "updated", "tag": "updated (tags)", "delete": "deleted"}


LiveReporter = Callable[[LiveEvent], None]


@dataclass(frozen=True)
class ServingDemo:
    """What is up while `run_demo`'s `serve` callback runs."""

    catalog_url: str
    aws_url: str
    region: str
    watching: bool  # the example rules feed a worker: a change made now reaches the catalog


@dataclass
class DemoResult:
    """What the demo did."""

    report: OrganizationReport
    seeded: dict[str, Any]
    catalog_db: Path
    blueprints: list[str]
    steps: list[DemoStep]
    live: list[LiveEvent]
    # The sharded run's id (`demo --sharded`), for `sync status`.
    run_id: str | None = None


def run_demo(
    catalog_db: Path,
    *,
    examples: Path,
    resources: int | None = None,
    regions: Sequence[str] = DEMO_REGIONS,
    on_step: StepReporter = lambda step: None,
    live: bool = True,
    on_live_event: LiveReporter = lambda event: None,
    on_synced: Callable[[OrganizationReport], None] | None = None,
    members: int = DEMO_MEMBER_ACCOUNTS,
    serve: Callable[[ServingDemo], None] | None = None,
    catalog_port: int = 0,
    sharded: bool = False,
    on_shards: ShardProgress | None = None,
) -> DemoResult:
    """Local AWS + demo world + local catalog + example blueprints + one full sync; then, with
    `live`, the example rules in the local EventBridge, a worker on their queue, and live changes.
    Finally `serve` (if given) is called with everything still up, which stays up until it returns.
    The catalog listens on loopback, on `catalog_port` (0: a free port). With `sharded`, the full
    sync runs as shards on worker processes (`cli.sharded_demo`), `on_shards` seeing the run as
    its shards settle."""
    steps: list[DemoStep] = []

    def done(title: str, started: float) -> None:
        step = DemoStep(title, time.monotonic() - started)
        steps.append(step)
        on_step(step)

    config = demo_config(examples)
    started = time.monotonic()
    with start_local_aws() as aws, local_aws_environment(aws.url, regions[0]):
        done(f"local AWS endpoint started at {aws.url}", started)
        started = time.monotonic()
        organization = seed_organization(aws.url, members=members)
        seed_organization_worlds(aws.url, organization, regions=list(regions), resources=resources)
        home = organization.worlds[organization.management_account_id]
        names = ", ".join(member.name for member in organization.members)
        done(
            f"organisation of {members + 1} accounts (management + {names}), demo world seeded in each: "
            f"{organization.count()} resources in {', '.join(regions)}",
            started,
        )
        started = time.monotonic()
        with start_catalog(catalog_db, port=catalog_port) as catalog:
            clients = AwsClients()
            caller = resolve_identity(clients.session)
            with PortClient(catalog.credentials(), caller.installation) as port:
                blueprints = apply_example_blueprints(port, examples, regions)
                done(f"local catalog at {catalog.url} ({catalog_db}), {len(blueprints)} blueprints applied", started)
                started = time.monotonic()
                report, run_id, how = _full_sync(
                    examples, config, clients, caller, port, catalog.credentials(), regions[0], sharded, on_shards
                )
                done(
                    f"full sync of {len(report.accounts)} accounts{how}: {report.written} entities written, "
                    f"{report.deleted} stale deleted",
                    started,
                )
                if on_synced is not None:
                    on_synced(report)
                events: list[LiveEvent] = []
                if live:
                    started = time.monotonic()
                    with _live_worker(aws.url, examples, config, catalog.credentials(), regions[0]) as rules:
                        done(
                            f"{len(rules)} example rules deployed to the local EventBridge; a worker is consuming",
                            started,
                        )
                        for change in LIVE_CHANGES:
                            event = _apply_live_change(aws.url, port, change, regions[0])
                            events.append(event)
                            on_live_event(event)
                        started = time.monotonic()
                        members_by_name = {member.name: member.account_id for member in organization.members}
                        raw = deploy_raw_rules(aws.url, config, organization, regions[0])
                        done(
                            f"raw event rules deployed: {raw} forwarding rule(s) in {len(organization.members)} member "
                            "accounts, one central rule to the queue",
                            started,
                        )
                        for change in MEMBER_LIVE_CHANGES:
                            if change.member not in members_by_name:
                                continue
                            event = _apply_live_change(
                                aws.url, port, change, regions[0], account_id=members_by_name[change.member]
                            )
                            events.append(event)
                            on_live_event(event)
                        if serve is not None:
                            serve(ServingDemo(catalog.url, aws.url, regions[0], watching=True))
                elif serve is not None:
                    serve(ServingDemo(catalog.url, aws.url, regions[0], watching=False))
    return DemoResult(
        report,
        {**home.to_dict(), "organization": organization.to_dict()},
        catalog_db,
        blueprints,
        steps,
        events,
        run_id,
    )


def _full_sync(
    examples: Path,
    config: ExporterConfig,
    clients: AwsClients,
    caller: CallerIdentity,
    port: PortClient,
    credentials: PortCredentials,
    region: str,
    sharded: bool,
    on_shards: ShardProgress | None,
) -> tuple[OrganizationReport, str | None, str]:
    """The demo's full sync in this process, or `sharded` on worker processes; its report, the
    sharded run's id, and how it ran (for the step's title)."""
    if not sharded:
        return run_organization_sync(config, clients, caller, port, SyncOptions(default_region=region)), None, ""
    run = run_sharded_demo_sync(
        demo_config_document(examples), clients, caller, credentials, region, on_progress=on_shards
    )
    run_id = run.state.run_id
    return run.report, run_id, f" as {len(run.state.shards)} shards on {run.workers} worker processes (run {run_id})"


def demo_config(examples: Path) -> ExporterConfig:
    """The example config for the whole organisation (`demo_config_document`)."""
    return load_config(demo_config_document(examples))


def demo_config_document(examples: Path) -> dict[str, Any]:
    """The example config for the whole organisation, as JSON: `accounts` and the accounts' own entry
    (the awsAccount blueprint) from `organization.config.json`, then the examples' kinds."""
    document = json.loads((examples / "config.json").read_text())
    organization = json.loads((examples / "organization.config.json").read_text())
    accounts_entries = [entry for entry in organization["resources"] if entry["kind"] == "AWS::Organizations::Account"]
    document["accounts"] = {"organization": {}}
    document["resources"] = [*accounts_entries, *document["resources"]]
    for entry in document["resources"]:
        if entry["kind"] == "AWS::IAM::Role":
            # AWS gives every member account roles of the same names (OrganizationAccountAccessRole,
            # the exporter's read role): one entity per account's role, not one for all of them.
            for mapping in entry["port"]["entity"]["mappings"]:
                mapping["identifier"] = IAM_ROLE_IDENTIFIER
    return dict(document)


def deploy_raw_rules(endpoint_url: str, config: ExporterConfig, organization: Any, region: str) -> int:
    """The raw rules: the central layout in the management account (its bus admitting the
    organisation), the member layout in each member account; how many rules each member has."""
    rules, _ = generate_raw_rules(config)
    home = organization.management_account_id
    deploy_rule_template(endpoint_url, render_raw_cloudformation(rules, "central"), EVENTS_QUEUE, region=region)
    # What the central template's OrganizationEventsPolicy does (the local stack deploys only rules).
    local_client(endpoint_url, "events", region).put_permission(
        EventBusName="default",
        Action="events:PutEvents",
        Principal="*",
        StatementId="PortAWSExporterOrganization",
        Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": organization.organization_id},
    )
    member_template = render_raw_cloudformation(rules, "member")
    for member in organization.members:
        deploy_rule_template(
            endpoint_url,
            member_template,
            EVENTS_QUEUE,
            parameters={"CentralAccountId": home},
            region=region,
            account_id=member.account_id,
        )
    return len(rules)


@contextmanager
def _live_worker(
    endpoint_url: str, examples: Path, config: ExporterConfig, credentials: PortCredentials, region: str
) -> Iterator[list[str]]:
    """The example rules deployed, feeding a queue that a worker consumes (in a thread); the worker
    serves the whole organisation (`config`'s accounts)."""
    deployed = deploy_rule_template(endpoint_url, examples / "rules.yaml", EVENTS_QUEUE, region=region)
    with open_event_batch(config, credentials) as session:
        sqs = session.clients.client("sqs", region)
        worker = SqsWorker(session.batch.process, sqs, WorkerOptions(deployed.queue_url, concurrency=1, wait_seconds=1))
        thread = threading.Thread(target=worker.run, name="demo-worker", daemon=True)
        thread.start()
        try:
            yield deployed.names
        finally:
            worker.stop()
            thread.join(timeout=30)


def _apply_live_change(
    endpoint_url: str, port: PortClient, change: LiveChange, region: str, *, account_id: str | None = None
) -> LiveEvent:
    """Make the change (in `account_id`, a member account), then wait until the catalog shows it;
    the latency is change to catalog."""
    before = port.get_entity(change.blueprint, change.name)
    started = time.monotonic()
    result = make_change(endpoint_url, change.kind, change.action, change.name, region=region, account_id=account_id)
    names = [str(event.get("detail", {}).get("eventName", event.get("detail-type"))) for event in result.events]
    while time.monotonic() - started < LIVE_TIMEOUT_SECONDS:
        current = port.get_entity(change.blueprint, change.name)
        if _shows(change, before, current):
            return LiveEvent(change, names, True, time.monotonic() - started, result.account_id)
        time.sleep(0.05)
    return LiveEvent(change, names, False, time.monotonic() - started, result.account_id)


def _shows(change: LiveChange, before: dict[str, Any] | None, current: dict[str, Any] | None) -> bool:
    if change.gone:
        return current is None
    if current is None:
        return False
    return before is None or current.get("updatedAt") != before.get("updatedAt")

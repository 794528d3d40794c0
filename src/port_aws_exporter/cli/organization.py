"""A full sync as `config.json` asks for it, wired to AWS and Port: one account, or with `accounts`
an AWS Organization (`sync.accounts.OrganizationSync` over `aws.account_sessions`).

Used by `port-aws-exporter sync` and the demo; the Lambda wires the same pieces in
`lambda_runtime.sync_invocation`.
"""

from __future__ import annotations

from dataclasses import replace

from rich.markup import escape
from rich.table import Table

from port_aws_exporter.aws.account_sessions import (
    AccountSessions,
    OrganizationDirectory,
    RoleSettings,
    single_account_regions_for,
)
from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.identity import CallerIdentity
from port_aws_exporter.cli.output import stderr_console, stdout_console
from port_aws_exporter.core.config import ExporterConfig
from port_aws_exporter.port import PortClient
from port_aws_exporter.sync.accounts import AccountProgress, OrganizationReport, OrganizationSync
from port_aws_exporter.sync.full_sync import SyncOptions


def run_organization_sync(
    config: ExporterConfig,
    clients: AwsClients,
    caller: CallerIdentity,
    port: PortClient,
    options: SyncOptions,
    *,
    delete_departed: bool | None = None,
    on_progress: AccountProgress | None = None,
    sessions: AccountSessions | None = None,
) -> OrganizationReport:
    """The multi-account sync of a config with `accounts`; each account writes through its own
    view of `port` (its User-Agent)."""
    assert config.accounts is not None
    sessions = sessions or AccountSessions(clients, caller, RoleSettings.of(config.accounts))
    sync = OrganizationSync(
        config,
        OrganizationDirectory(sessions),
        port.for_installation,
        options,
        delete_departed=delete_departed,
        on_progress=on_progress,
    )
    return sync.run()


def single_account_options(
    config: ExporterConfig, clients: AwsClients, caller: CallerIdentity, options: SyncOptions
) -> SyncOptions:
    """The options of a single-account sync; with `["*"]` or a `regionPolicy` somewhere, the regions
    of each kind come from the account's enabled regions and the policy."""
    regions_for, problem = single_account_regions_for(config, caller, clients)
    if problem is not None:
        stderr_console.print(f'[yellow]warning:[/] {escape(problem)}: kinds with regions ["*"] are not read')
    return options if regions_for is None else replace(options, regions_for=regions_for)


def print_organization_summary(report: OrganizationReport) -> None:
    """Per account: status, counts, deletions; then warnings, skipped deletions and the first errors."""
    table = Table("account", "name", "status", "listed", "written", "failed", "deleted", "warnings", title="Accounts")
    for part in report.parts:
        row = part.as_dict()
        label = "organisation" if part is report.organization else part.source
        status = part.status if part.status == "synced" else f"[yellow]{part.status}[/]"
        table.add_row(
            part.account_id,
            escape(part.name or label),
            status,
            str(row["listed"]),
            str(row["written"]),
            f"[red]{row['failed']}[/]" if row["failed"] else "0",
            str(row["deleted"]),
            str(row["warning_count"]),
        )
    stdout_console.print(table)
    verb = "would delete" if report.dry_run else "deleted"
    stdout_console.print(
        f"{len(report.accounts)} accounts: {report.listed} resources listed, {report.written} entities "
        f"{'to write' if report.dry_run else 'written'} ({report.unchanged} unchanged), {report.failed} failures, "
        f"{report.deleted} stale entities {verb}, in {report.seconds:.1f} s",
        soft_wrap=True,
    )
    for part in report.parts:
        if part.reason and part.status != "synced":
            stdout_console.print(f"[yellow]{part.status} {part.account_id}:[/] {escape(part.reason)}", soft_wrap=True)
    for account, warning in report.warnings:
        if warning.kind == "*":
            continue  # the account's own status line says it
        where = f"{account} {warning.kind} {warning.region}" if warning.kind else account
        stdout_console.print(f"[yellow]warning:[/] {escape(where)}: {escape(warning.reason)}", soft_wrap=True)
    for part in report.parts:
        for blueprint, reason in sorted((part.report.deletion_skipped if part.report else {}).items()):
            stdout_console.print(
                f"[yellow]stale deletion skipped for {part.account_id}/{escape(blueprint)}:[/] {escape(reason)}",
                soft_wrap=True,
            )
    errors = report.as_dict()["errors"]
    for error in errors[:10]:
        where = " ".join(str(error[key]) for key in ("account", "kind", "region", "identifier") if error.get(key))
        stderr_console.print(f"[red]error:[/] {escape(where)}: {escape(str(error['error']))}", soft_wrap=True)
    if report.error_count > 10:
        stderr_console.print(f"... and {report.error_count - 10} more errors (--json lists them)")

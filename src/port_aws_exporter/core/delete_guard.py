"""The guard against rules that over-match deletes, and the hint that names the likely rule mistake.

A rule whose action says `delete` for more events than the delete call turns ordinary changes into
deletions: the seed's own template tests `startswith("Delete")`, and its pattern's prefix
`DeleteFunction` also admits `DeleteFunctionConcurrency20171031`, a change to a function that
still exists. Before deleting, the event path reads the identifier as a resource of the kind; when
the resource exists and still maps to the entity about to be deleted, the delete is held back
(retried a few times, for eventual consistency), then dropped with `overmatch_hint`'s explanation;
meanwhile the entity is written from the resource's current state, as an upsert would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from port_aws_exporter.core.kinds.cloudtrail import base_operation_name
from port_aws_exporter.core.kinds.registry import spec_for


def overmatch_hint(kind: str, body: Mapping[str, Any]) -> str:
    """Why a delete message names a resource that still exists: the likely mistake in its rule."""
    facts = spec_for(kind).cloudtrail
    event_name = _event_name(body, facts.event_names if facts else ())
    if facts is None or not facts.delete:
        return (
            "the rule's action says delete for an event that does not delete the resource: make it test the "
            f"delete call's exact event name (a prefix such as DeleteX also matches DeleteXPolicy…) for {kind}"
        )
    deletes = ", ".join(facts.delete)
    if event_name is None:
        return (
            f"the rule's action says delete for an event that does not delete the resource (the delete of {kind} "
            f"is {deletes}): a prefix or startswith test on the delete's name also matches other calls, e.g. "
            "DeleteFunction matches DeleteFunctionConcurrency20171031; test the whole event name"
        )
    if event_name in facts.delete:
        return (
            f"the event {event_name} is the delete of {kind}, yet the resource still exists: the call may have "
            'failed (match only successful calls: "errorCode": [{"exists": false}] in the rule\'s pattern), or the '
            "identifier names another resource"
        )
    base = _longest_matching_base(event_name, facts.delete)
    if base is not None:
        return (
            f"the rule's prefix {base} also matches {event_name}, which is not a delete of {kind} (its delete is "
            f"{deletes}): make the action test the whole event name, e.g. "
            f'test("^{base}[0-9v]*$") instead of startswith("Delete") or test("{base}")'
        )
    return (
        f"the event {event_name} is not a delete of {kind} (its delete is {deletes}), but the rule's action says "
        "delete for it: make the action test the delete call's exact event name"
    )


def _event_name(body: Mapping[str, Any], known: Iterable[str]) -> str | None:
    """The CloudTrail event name the rule copied into the message, if it did (a whole event's
    `detail.eventName`)."""
    value = body.get("eventName")
    if isinstance(value, str) and value:
        return value
    detail = body.get("detail")
    value = detail.get("eventName") if isinstance(detail, Mapping) else None
    if isinstance(value, str) and value:
        return value
    names = set(known)
    return next((item for item in body.values() if isinstance(item, str) and item in names), None)


def _longest_matching_base(event_name: str, deletes: Iterable[str]) -> str | None:
    bases = [base_operation_name(name) for name in deletes]
    matching = [base for base in bases if base and event_name.startswith(base)]
    return max(matching, key=len) if matching else None

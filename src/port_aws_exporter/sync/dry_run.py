"""What a dry run checks of each mapped entity, so that its "to create" is what the real run writes.

The real run sends each entity to Port, which refuses it for the route schema (`core.entity_rules`,
checked by the client before sending), for its blueprint (`core.blueprint_rules`: undeclared or
mistyped properties, relation shape, required fields), or for a relation target that does not
exist (the exporter writes without `create_missing_related_entities`). A dry run writes nothing, so
it runs the same rules here, against the blueprints read at the start of the run and the
identifiers of the relation targets: those already in the catalog, and those this run writes
(relation targets are written first, `core.write_order`).

    check = DryRunCheck(blueprints, {"awsSqsQueue": {"q1"}})
    problem = check.problem("awsSnsTopic", entity, current=None, written={})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from port_aws_exporter.core.blueprint_rules import (
    INVALID_REQUEST,
    EntityProblem,
    missing_related_entity,
    properties_problem,
    relation_links,
    relations_problem,
)
from port_aws_exporter.core.entity_rules import entity_problems


class DryRunCheck:
    """Port's refusals of an upsert-with-merge, foreseen without writing."""

    def __init__(self, blueprints: Mapping[str, Mapping[str, Any]], known: Mapping[str, set[str]]) -> None:
        self._blueprints = blueprints
        self._known = known  # identifiers in the catalog, per relation-target blueprint

    @staticmethod
    def target_blueprints(blueprints: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """The blueprints the given blueprints' relations point at (whose identifiers `known` needs)."""
        targets = (
            relation.get("target")
            for definition in blueprints.values()
            for relation in (definition.get("relations") or {}).values()
        )
        return sorted({target for target in targets if isinstance(target, str)})

    def problem(
        self,
        blueprint: str,
        entity: Mapping[str, Any],
        current: Mapping[str, Any] | None,
        written: Mapping[str, set[str]],
    ) -> EntityProblem | None:
        """Why Port would refuse to merge `entity` into `blueprint` (over `current`, the entity it
        holds), or None; `written` holds the identifiers this run has written so far."""
        shape = entity_problems(entity)
        if shape:
            return EntityProblem(INVALID_REQUEST, "; ".join(shape))
        definition = self._blueprints.get(blueprint)
        if definition is None:
            return None  # the run skips the kinds of a missing blueprint before mapping
        identifier = entity.get("identifier")
        if not isinstance(identifier, str):
            return None  # an identifier search query: Port resolves it, a dry run cannot
        # Merge: what Port checks is the stored entity with the sent fields over it. A relation given
        # as a search query is resolved by Port, so it is left out here.
        properties = {**((current or {}).get("properties") or {}), **(entity.get("properties") or {})}
        merged = {**((current or {}).get("relations") or {}), **(entity.get("relations") or {})}
        relations = {name: value for name, value in merged.items() if not isinstance(value, dict)}
        problem = properties_problem(definition, identifier, properties) or relations_problem(
            definition, identifier, relations
        )
        if problem is not None:
            return problem
        for relation, target_blueprint, target in relation_links(definition, relations):
            is_self = (target_blueprint, target) == (blueprint, identifier)
            known = target in self._known.get(target_blueprint, set()) or target in written.get(target_blueprint, set())
            if not (is_self or known):
                return missing_related_entity(relation, target_blueprint, target, identifier)
        return None

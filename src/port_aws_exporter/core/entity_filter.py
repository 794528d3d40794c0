"""Port search queries from what a person types: a few words, or a query in Port's own JSON.

The local catalog's page (its filter and search boxes) and `catalog list --filter` read a filter
the same way, and hand the query to the same search as the API (`POST .../entities/search`), so
a filter that narrows the page narrows the listing, against the local catalog and Port alike.

>>> filter_query("checkout", [])["rules"][0]
{'property': '$identifier', 'operator': 'contains', 'value': 'checkout'}
>>> filter_query('{"property": "runtime", "operator": "=", "value": "python3.12"}', [])
{'combinator': 'and', 'rules': [{'property': 'runtime', 'operator': '=', 'value': 'python3.12'}]}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

MATCH_ALL: dict[str, Any] = {"combinator": "and", "rules": []}


class FilterError(ValueError):
    """A filter that is neither plain text nor a query in Port's JSON."""


def text_query(text: str, blueprints: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Entities whose identifier, title or a string property of `blueprints` contains `text`."""
    names = sorted(
        {
            name
            for blueprint in blueprints
            for name, definition in ((blueprint.get("schema") or {}).get("properties") or {}).items()
            if isinstance(definition, Mapping) and definition.get("type") == "string"
        }
    )
    rules = [{"property": name, "operator": "contains", "value": text} for name in ("$identifier", "$title", *names)]
    return {"combinator": "or", "rules": rules}


def filter_query(text: str, blueprints: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The query a filter means: JSON that starts with `{` is a query (or one rule) as Port takes
    it; anything else is searched for as text (`text_query`). Blank text matches everything."""
    stripped = text.strip()
    if not stripped:
        return dict(MATCH_ALL)
    if not stripped.startswith("{"):
        return text_query(stripped, blueprints)
    try:
        query = json.loads(stripped)
    except ValueError as error:
        raise FilterError(f"the filter starts with '{{' but is not JSON: {error}") from error
    if not isinstance(query, dict):
        raise FilterError("the filter must be a JSON object")
    if "combinator" in query:
        return query
    if "property" in query:
        return {"combinator": "and", "rules": [query]}
    raise FilterError("a JSON filter is a query ({'combinator', 'rules'}) or one rule ({'property', 'operator', ...})")


def all_of(*queries: Mapping[str, Any]) -> dict[str, Any]:
    """One query matching what every one of `queries` matches (empty ones are dropped)."""
    rules: list[Any] = []
    for query in queries:
        if query.get("combinator") == "and":
            rules.extend(query.get("rules") or [])
        else:
            rules.append(dict(query))
    return {"combinator": "and", "rules": rules}

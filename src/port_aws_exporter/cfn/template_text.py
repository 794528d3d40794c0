"""Reading CloudFormation template text (YAML with short-form tags, or JSON) into plain data.

Short-form tags become their long forms (`!Ref X` -> `{"Ref": "X"}`, `!GetAtt A.B` ->
`{"Fn::GetAtt": ["A", "B"]}`, `!Sub ...` -> `{"Fn::Sub": ...}`), so the resolver sees one shape.
Scalars that YAML 1.1 would turn into dates stay strings, as CloudFormation keeps them.
"""

from __future__ import annotations

import json
from typing import Any

import yaml


class TemplateSyntaxError(ValueError):
    """Template text that is neither valid YAML nor valid JSON."""


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation's short-form tags, without YAML timestamps."""


_CloudFormationLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _short_form(loader: _CloudFormationLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # `!GetAtt Resource.Attribute.With.Dots`: only the first dot separates the resource.
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _short_form)


def parse_template_text(text: str, source: str) -> Any:
    """Parse template text; JSON when it looks like JSON, YAML otherwise."""
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            # Flow-style YAML also starts with "{"; give YAML a chance before failing.
            json_error = exc
    else:
        json_error = None
    try:
        return yaml.load(text, Loader=_CloudFormationLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        detail = f"{source}: not valid YAML{where}: {problem}"
        if json_error is not None:
            detail += f" (nor JSON: {json_error})"
        raise TemplateSyntaxError(detail) from exc

"""CloudFormation resource schemas, read from the files cfn-lint ships, without importing cfn-lint.

cfn-lint keeps, per region, a map from type name to a schema file (`data/schemas/providers/`) and the
deduplicated schema files themselves (`data/schemas/resources/<hash>.json`). Importing cfn-lint takes
about a second; reading two JSON files takes milliseconds. Both provider layouts cfn-lint has used
are read: `<region>.json` (newer) and `<region_with_underscores>.py` with a `types` dict (older).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

FALLBACK_REGION = "us-east-1"


class SchemaDataMissing(RuntimeError):
    """cfn-lint (which ships the schemas) is not installed."""


def cfn_lint_schema_root() -> Path:
    """`<site-packages>/cfnlint/data/schemas`, found without importing cfn-lint."""
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or spec.origin is None:
        raise SchemaDataMissing("cfn-lint is not installed; install port-aws-exporter[local]")
    return Path(spec.origin).parent / "data" / "schemas"


def _pointer_name(pointer: str) -> str:
    """`/properties/ServiceArn` -> `ServiceArn`."""
    return pointer.removeprefix("/properties/")


@dataclass(frozen=True)
class ResourceSchema:
    """One CloudFormation resource type's schema, with the facts Cloud Control derives from it."""

    type_name: str
    document: Mapping[str, Any] = field(repr=False)

    @property
    def properties(self) -> Mapping[str, Any]:
        """The top-level property definitions."""
        return dict(self.document.get("properties", {}))

    @cached_property
    def primary_identifier(self) -> tuple[str, ...]:
        """The property names whose values, joined with `|`, form the Cloud Control identifier."""
        return tuple(_pointer_name(p) for p in self.document.get("primaryIdentifier", []))

    def _top_level(self, key: str) -> frozenset[str]:
        return frozenset(_pointer_name(p).split("/")[0] for p in self.document.get(key, []))

    @cached_property
    def read_only(self) -> frozenset[str]:
        """Top-level properties only AWS sets (`Arn`, generated ids...)."""
        return frozenset(
            _pointer_name(p) for p in self.document.get("readOnlyProperties", []) if "/" not in _pointer_name(p)
        )

    @cached_property
    def create_only(self) -> frozenset[str]:
        """Top-level properties an update may not change."""
        return self._top_level("createOnlyProperties")

    def identifier_of(self, properties: Mapping[str, Any]) -> str | None:
        """The Cloud Control identifier of a resource model, None when a part is missing."""
        parts = [properties.get(name) for name in self.primary_identifier]
        if not parts or any(part in (None, "") for part in parts):
            return None
        return "|".join(str(part) for part in parts)

    @cached_property
    def _validator(self) -> Any:
        import jsonschema

        def lenient_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
            # Some schemas use regex syntax Python lacks (\p{L}...): skip those checks, keep the rest.
            try:
                compiled = re.compile(pattern)
            except re.error:
                return
            if isinstance(instance, str) and not compiled.search(instance):
                yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")

        validator_class = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
            jsonschema.Draft7Validator, {"pattern": lenient_pattern}
        )
        document = {key: value for key, value in self.document.items() if key != "$schema"}
        return validator_class(document)

    def validation_errors(self, properties: Mapping[str, Any], *, as_read: bool = False) -> list[str]:
        """Schema violations of a resource model, as `path: message` lines (empty when valid).

        `as_read`: the model is what a read returns, so required write-only properties may be absent.
        """
        document = dict(properties)
        errors = []
        for error in self._validator.iter_errors(document):
            if as_read and error.validator == "required" and self._only_write_only_missing(error, document):
                continue
            path = "/".join(str(part) for part in error.absolute_path) or "#"
            errors.append(f"{path}: {error.message}")
        return sorted(errors)

    def model_validation_failures(self, properties: Mapping[str, Any]) -> list[str]:
        """Schema violations of a desired state, worded as AWS's "Model validation failed" lists
        them (`#/Tags/0: extraneous key [Foo] is not permitted`, `#: required key [Name] not
        found`); empty when the model is valid."""
        failures: list[str] = []
        for error in sorted(self._validator.iter_errors(dict(properties)), key=lambda e: list(e.absolute_path)):
            pointer = "/".join(["#", *(str(part) for part in error.absolute_path)])
            if error.validator == "additionalProperties" and isinstance(error.instance, dict):
                allowed = set(error.schema.get("properties", {}))
                patterns = [re.compile(p) for p in error.schema.get("patternProperties", {}) if _compiles(p)]
                extra = [k for k in error.instance if k not in allowed and not any(p.search(k) for p in patterns)]
                failures += [f"{pointer}: extraneous key [{key}] is not permitted" for key in extra]
            elif error.validator == "required" and isinstance(error.instance, dict):
                failures += [
                    f"{pointer}: required key [{key}] not found"
                    for key in error.validator_value
                    if key not in error.instance
                ]
            elif error.validator == "type":
                failures.append(
                    f"{pointer}: expected type: {_aws_type(error.validator_value)}, found: "
                    f"{_aws_type_of(error.instance)}"
                )
            else:
                failures.append(f"{pointer}: {error.message}")
        return failures

    def _only_write_only_missing(self, error: Any, document: Mapping[str, Any]) -> bool:
        if list(error.absolute_path):
            return False
        missing = [name for name in error.validator_value if name not in document]
        return all(self._is_write_only(name) for name in missing)

    def _is_write_only(self, name: str) -> bool:
        pointers = self.document.get("writeOnlyProperties", [])
        return any(_pointer_name(p) == name or _pointer_name(p).startswith(name + "/") for p in pointers)


_AWS_TYPE_NAMES = {
    "object": "JSONObject",
    "array": "JSONArray",
    "string": "String",
    "integer": "Integer",
    "number": "Number",
    "boolean": "Boolean",
    "null": "Null",
}


def _aws_type(declared: Any) -> str:
    names = declared if isinstance(declared, list) else [declared]
    return " or ".join(_AWS_TYPE_NAMES.get(str(name), str(name)) for name in names)


def _aws_type_of(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    kinds: dict[type, str] = {float: "BigDecimal", str: "String", dict: "JSONObject", list: "JSONArray"}
    return kinds.get(type(value), type(value).__name__)


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


class ResourceSchemas:
    """All resource schemas cfn-lint ships, per region, loaded on first use and cached."""

    def __init__(self, root: Path | None = None) -> None:
        self._root = root
        self._lock = threading.Lock()
        self._types: dict[str, dict[str, str]] = {}
        self._schemas: dict[str, ResourceSchema] = {}

    @property
    def root(self) -> Path:
        """The cfn-lint schema directory."""
        if self._root is None:
            self._root = cfn_lint_schema_root()
        return self._root

    def type_files(self, region: str) -> dict[str, str]:
        """Type name -> schema file stem, for `region` (us-east-1's when the region is unknown)."""
        with self._lock:
            if region not in self._types:
                self._types[region] = self._read_provider(region) or self._read_provider(FALLBACK_REGION) or {}
            return self._types[region]

    def _read_provider(self, region: str) -> dict[str, str] | None:
        providers = self.root / "providers"
        as_json = providers / f"{region}.json"
        if as_json.is_file():
            return dict(json.loads(as_json.read_text()))
        as_python = providers / f"{region.replace('-', '_')}.py"
        if as_python.is_file():
            for node in ast.parse(as_python.read_text()).body:
                if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "types":
                    return dict(ast.literal_eval(node.value)) if node.value is not None else None
        return None

    def get(self, type_name: str, region: str) -> ResourceSchema | None:
        """The schema of `type_name` in `region`, None when CloudFormation has no such type there."""
        stem = self.type_files(region).get(type_name)
        if stem is None:
            return None
        with self._lock:
            schema = self._schemas.get(stem)
            if schema is None:
                path = self.root / "resources" / f"{stem}.json"
                schema = ResourceSchema(type_name, json.loads(path.read_text()))
                self._schemas[stem] = schema
            return schema

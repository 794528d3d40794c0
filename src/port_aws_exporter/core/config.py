"""`config.json`: the original exporter's format (spec §2.1), validated all at once.

A config written for the original exporter loads unchanged. Extensions are additive and optional.
Every problem is reported with its JSON path (`resources[2].port.entity.mappings[0].properties.memory`),
the expression when it is one, and what is wrong (jq's own message for a bad expression), so a user
fixes them all in one pass. Keys this version does not know are warnings, not errors, so that newer
configs still load.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches
from functools import cache
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from port_aws_exporter.core.jq.engine import JqCompileError, compile_program
from port_aws_exporter.core.jq.root_fields import root_fields
from port_aws_exporter.core.kinds.cloudcontrol import listed_properties
from port_aws_exporter.core.kinds.registry import FetcherName, spec_for

KIND_PATTERN = r"^[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+$"
DEFAULT_DELETION_THRESHOLD = 0.9
# `selector.aws.regions: ["*"]`: every region enabled in the account being read.
ALL_ENABLED_REGIONS = "*"
DEFAULT_ROLE_NAME = "PortAwsExporterReadRole"
DEFAULT_ACCOUNT_CONCURRENCY = 5
ACCOUNT_ID_PATTERN = r"^\d{12}$"
# IAM role names (with an optional path) and external ids, as STS accepts them.
ROLE_NAME_PATTERN = r"^([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$"
EXTERNAL_ID_PATTERN = r"^[\w+=,.@:/-]+$"
# An organisational unit (`ou-ab12-cd34ef56`) or the organisation's root (`r-ab12`).
OU_ID_PATTERN = r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$"


class _Section(BaseModel):
    """A config object: unknown keys are kept (and reported as warnings), values are not coerced."""

    model_config = ConfigDict(extra="allow", strict=True, populate_by_name=True)


class RegionConfig(_Section):
    """`selector.aws.regions_config.<region>`: parent models for kinds whose list needs one."""

    resources_models: list[StrictStr] = Field(default_factory=lambda: ["{}"])

    @field_validator("resources_models")
    @classmethod
    def _models_are_json_objects(cls, models: list[str]) -> list[str]:
        for position, model in enumerate(models):
            try:
                parsed = json.loads(model)
            except json.JSONDecodeError as error:
                raise ValueError(f"resources_models[{position}] is not JSON: {error.msg}") from None
            if not isinstance(parsed, dict):
                raise ValueError(f"resources_models[{position}] must be a JSON-encoded object")
        return models


class RegionPolicy(_Section):
    """`selector.aws.regionPolicy` (extension): which of the regions to read. A region is read when
    `allow` is empty or names it, and `deny` does not."""

    allow: list[StrictStr] = Field(default_factory=list)
    deny: list[StrictStr] = Field(default_factory=list)

    def allows(self, region: str) -> bool:
        return (not self.allow or region in self.allow) and region not in self.deny


class AwsSelector(_Section):
    """`selector.aws`: where and how to list a kind."""

    # Region names, or `["*"]` (extension) for every region enabled in the account.
    regions: list[StrictStr] | None = None
    region_policy: RegionPolicy | None = Field(default=None, alias="regionPolicy")
    regions_config: dict[str, RegionConfig] = Field(default_factory=dict)
    list_parameters: dict[str, Any] = Field(default_factory=dict)
    # Extension: map ListResources' properties directly instead of a GetResource per identifier.
    use_list_properties: StrictBool = Field(default=False, alias="useListProperties")
    # Written by the original exporter into its checkpoint files; accepted and ignored.
    next_token: StrictStr | None = None

    @field_validator("regions")
    @classmethod
    def _star_alone(cls, regions: list[str] | None) -> list[str] | None:
        if regions is not None and ALL_ENABLED_REGIONS in regions and len(regions) > 1:
            raise ValueError('"*" means every enabled region and stands alone: ["*"], or name the regions')
        return regions

    @property
    def all_enabled_regions(self) -> bool:
        """Whether the kind is read in every region enabled in the account (`["*"]`)."""
        return self.regions == [ALL_ENABLED_REGIONS]


class Selector(_Section):
    """`selector`: which resources of the kind to sync."""

    query: StrictStr | None = None
    aws: AwsSelector = Field(default_factory=AwsSelector)


class EntityMapping(_Section):
    """`port.entity.mappings[]`: one AWS object → one Port entity (or one per item)."""

    identifier: StrictStr
    blueprint: StrictStr
    title: StrictStr | None = None
    team: StrictStr | None = None
    icon: StrictStr | None = None
    properties: dict[str, StrictStr] = Field(default_factory=dict)
    relations: dict[str, StrictStr] | None = None
    items_to_parse: StrictStr | None = Field(default=None, alias="itemsToParse")

    @property
    def blueprint_identifier(self) -> str:
        """The blueprint, a static string; the original strips surrounding quotes (`"\\"lambda\\""`)."""
        return self.blueprint.strip().strip('"')

    @field_validator("blueprint")
    @classmethod
    def _blueprint_not_empty(cls, blueprint: str) -> str:
        if not blueprint.strip().strip('"'):
            raise ValueError("the blueprint must be a non-empty static string")
        return blueprint


class EntitySection(_Section):
    mappings: list[EntityMapping] = Field(min_length=1)


class PortSection(_Section):
    entity: EntitySection


class ResourceConfig(_Section):
    """`resources[]`: one AWS kind and how its resources become entities."""

    kind: StrictStr = Field(pattern=KIND_PATTERN)
    selector: Selector = Field(default_factory=Selector)
    port: PortSection


class OrganizationScope(_Section):
    """`accounts.organization`: the organisation's accounts; `{}` is all of them, `ouIds` those under
    these organisational units (walked recursively)."""

    ou_ids: list[Annotated[str, StringConstraints(strict=True, pattern=OU_ID_PATTERN)]] | None = Field(
        default=None, alias="ouIds", min_length=1
    )


AccountId = Annotated[str, StringConstraints(strict=True, pattern=ACCOUNT_ID_PATTERN)]


class AccountsConfig(_Section):
    """`accounts` (extension): the AWS accounts one exporter reads, each through an assumed role.

    Without it the exporter reads the account its credentials belong to, as the original does.
    """

    role_name: str = Field(default=DEFAULT_ROLE_NAME, alias="roleName", pattern=ROLE_NAME_PATTERN, strict=True)
    external_id: str | None = Field(
        default=None, alias="externalId", pattern=EXTERNAL_ID_PATTERN, min_length=2, max_length=1224, strict=True
    )
    organization: OrganizationScope | None = None
    ids: list[AccountId] = Field(default_factory=list)
    exclude: list[AccountId] = Field(default_factory=list)
    # The exporter's own account, read with its own credentials (no role is assumed there).
    include_home: StrictBool = Field(default=True, alias="includeHome")
    # Accounts read at once.
    concurrency: int = Field(default=DEFAULT_ACCOUNT_CONCURRENCY, ge=1, le=100, strict=True)
    # Delete the entities of accounts Organizations lists as closed or suspended (never by default).
    delete_departed_accounts: StrictBool = Field(default=False, alias="deleteDepartedAccounts")

    @model_validator(mode="after")
    def _names_accounts(self) -> AccountsConfig:
        if self.organization is None and not self.ids:
            raise ValueError(
                "accounts needs 'organization' ({} for the whole organisation, or {\"ouIds\": [...]}) "
                "or 'ids' (a list of account ids), or leave 'accounts' out to read only this account"
            )
        return self


class ExporterConfig(_Section):
    """The whole `config.json`."""

    resources: list[ResourceConfig]
    # Extension: stale deletion is skipped for a blueprint when more than this share would go.
    deletion_threshold: float = Field(default=DEFAULT_DELETION_THRESHOLD, gt=0, le=1, alias="deletionThreshold")
    # Extension: several accounts (an AWS Organization) from one exporter.
    accounts: AccountsConfig | None = None

    def kinds(self) -> list[str]:
        """The distinct kinds, in config order."""
        return list(dict.fromkeys(resource.kind for resource in self.resources))

    def entries_for_kind(self, kind: str) -> list[tuple[int, ResourceConfig]]:
        """(index in `resources[]`, entry) for every entry of `kind` (a kind may have several)."""
        return [(index, resource) for index, resource in enumerate(self.resources) if resource.kind == kind]


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a config: where, which expression (if any), what."""

    path: str
    message: str
    expression: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"path": self.path, "expression": self.expression, "message": self.message}

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        expression = f" (expression: {self.expression})" if self.expression is not None else ""
        return f"{where}{self.message}{expression}"


@dataclass
class ConfigReport:
    """The outcome of checking a config: the model when valid, every error and warning otherwise."""

    config: ExporterConfig | None
    errors: list[ConfigProblem] = field(default_factory=list)
    warnings: list[ConfigProblem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.config is not None and not self.errors


class ConfigError(ValueError):
    """A config that cannot be used; `problems` lists everything wrong with it."""

    def __init__(self, problems: list[ConfigProblem], source: str = "config") -> None:
        self.problems = problems
        listed = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{source} is not valid ({len(problems)} problem(s)):\n{listed}")


def _json_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


_ALIASES = {
    "use_list_properties": "useListProperties",
    "items_to_parse": "itemsToParse",
    "region_policy": "regionPolicy",
    "role_name": "roleName",
    "external_id": "externalId",
    "ou_ids": "ouIds",
    "include_home": "includeHome",
    "delete_departed_accounts": "deleteDepartedAccounts",
}


def _schema_problems(error: ValidationError, document: Any) -> list[ConfigProblem]:
    problems = []
    for detail in error.errors():
        location = tuple(_ALIASES.get(str(p), p) if isinstance(p, str) else p for p in detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "missing":
            message = f"required field '{location[-1]}' is missing"
        elif detail["type"] == "string_pattern_mismatch" and location[-1] == "kind":
            message = f"kind must look like AWS::Service::Type, not {detail['input']!r}"
        elif detail["type"] == "string_pattern_mismatch":
            message = _pattern_message(location, detail["input"]) or message
        elif detail["type"].endswith("_type") or detail["type"] == "model_type":
            message = f"{message} (got {type(detail['input']).__name__})"
        problems.append(ConfigProblem(_json_path(location), message))
    if not isinstance(document, dict) or "resources" not in document:
        hint = _root_hint(document)
        problems = [ConfigProblem("", hint)] if hint else problems
    return problems


def _pattern_message(location: tuple[int | str, ...], value: Any) -> str | None:
    """What a value of the `accounts` section should look like, for a value that does not."""
    names = [part for part in location if isinstance(part, str)]
    field = names[-1] if names else ""
    if field in ("ids", "exclude"):
        return f"an AWS account id is 12 digits, not {value!r}"
    if field == "ouIds":
        return f"an organisational unit id looks like ou-ab12-cd34ef56 (or the root, r-ab12), not {value!r}"
    if field == "roleName":
        return f"not an IAM role name (letters, digits and +=,.@_-, at most 64, after an optional path/): {value!r}"
    if field == "externalId":
        return "an external id is 2 to 1224 letters, digits or +=,.@:/_- (no spaces)"
    return None


def _root_hint(document: Any) -> str | None:
    if isinstance(document, dict) and "kind" in document and "port" in document:
        return (
            "the root must be an object with a 'resources' list; this looks like a single "
            'resources[] entry: wrap it as {"resources": [ ... ]}'
        )
    if not isinstance(document, dict):
        return f"the root must be an object with a 'resources' list, not {type(document).__name__}"
    return None


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _expressions(document: Any) -> Iterator[tuple[str, str]]:
    """(path, expression) of every jq expression in a raw config document.

    Walks the raw document rather than the model so that jq errors are reported together with
    structural ones; values of the wrong type are left to the schema check.
    """
    for r, entry in enumerate(_as_list(_as_dict(document).get("resources"))):
        resource = _as_dict(entry)
        query = _as_dict(resource.get("selector")).get("query")
        if isinstance(query, str):
            yield f"resources[{r}].selector.query", query
        entity = _as_dict(_as_dict(resource.get("port")).get("entity"))
        for m, mapping in enumerate(_as_list(entity.get("mappings"))):
            yield from _mapping_expressions(f"resources[{r}].port.entity.mappings[{m}]", _as_dict(mapping))


def _mapping_expressions(base: str, mapping: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for name in ("identifier", "title", "team", "icon", "itemsToParse"):
        if isinstance(mapping.get(name), str):
            yield f"{base}.{name}", mapping[name]
    for section in ("properties", "relations"):
        for key, expression in _as_dict(mapping.get(section)).items():
            if isinstance(expression, str):
                yield f"{base}.{section}.{key}", expression


def _jq_problems(document: Any) -> list[ConfigProblem]:
    problems = []
    for path, expression in _expressions(document):
        try:
            compile_program(expression)
        except JqCompileError as error:
            problems.append(ConfigProblem(path, error.message, expression))
    return problems


def _model_types(annotation: Any) -> Iterator[tuple[type[BaseModel], str]]:
    """The config sections a field's type holds, each with how its place is written after the field
    (`[]` for a list's items, `.<key>` for a dict's values)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, ""
        return
    origin = get_origin(annotation)
    arguments = get_args(annotation)
    if origin is list and arguments:
        yield from ((model, f"[]{suffix}") for model, suffix in _model_types(arguments[0]))
    elif origin is dict and len(arguments) == 2:
        yield from ((model, f".<key>{suffix}") for model, suffix in _model_types(arguments[1]))
    else:
        for argument in arguments:
            yield from _model_types(argument)


def _key_places(model: type[BaseModel], place: str = "") -> Iterator[tuple[str, str]]:
    """(key, where it belongs) for every key of the config's sections, from the models themselves,
    so a new field is known here the day it is added."""
    for name, info in model.model_fields.items():
        key = info.alias or name
        yield key, place
        for section, suffix in _model_types(info.annotation):
            yield from _key_places(section, f"{place}.{key}{suffix}" if place else f"{key}{suffix}")


@cache
def _places_of_keys() -> dict[str, tuple[str, ...]]:
    places: dict[str, list[str]] = {}
    for key, place in _key_places(ExporterConfig):
        places.setdefault(key, []).append(place)
    return {key: tuple(dict.fromkeys(found)) for key, found in places.items()}


def _unknown_key_message(model: BaseModel, key: str, path: str) -> str:
    """Why a key is ignored, and where it belongs when it is a key of another section (a `regions`
    under `selector` belongs under `selector.aws`) or a near miss of a known key (`useListProperty`)."""
    message = f"unknown key '{key}' is ignored by this version"
    places = _places_of_keys()
    if key in places:
        return f"{message}: '{key}' belongs under {_shown_places(places[key], path)}"
    own = [info.alias or name for name, info in type(model).model_fields.items()]
    close = get_close_matches(key, own, n=1, cutoff=0.75) or get_close_matches(key, list(places), n=1, cutoff=0.8)
    if not close:
        return message
    where = "" if close[0] in own else f" (under {_shown_places(places[close[0]], path)})"
    return f"{message}: did you mean '{close[0]}'{where}?"


def _shown_places(places: tuple[str, ...], path: str) -> str:
    """The places, with the list positions of `path` filled in where they share its beginning:
    `resources[].selector.aws` seen from `resources[2].regions` is `resources[2].selector.aws`."""
    steps = path.split(".")
    shown = []
    for place in places:
        parts = place.split(".") if place else []
        for position, part in enumerate(parts):
            if position >= len(steps) or steps[position].split("[")[0] != part.split("[")[0]:
                break
            if part.endswith("[]"):
                parts[position] = steps[position]
        shown.append(".".join(parts) or "the top level")
    return " or ".join(shown)


def _unknown_keys(model: BaseModel, path: str) -> Iterator[ConfigProblem]:
    for key in model.model_extra or {}:
        where = f"{path}.{key}" if path else key
        yield ConfigProblem(where, _unknown_key_message(model, key, where))
    for name, value in model:
        display = _ALIASES.get(name, name)
        child = f"{path}.{display}" if path else display
        if isinstance(value, BaseModel):
            yield from _unknown_keys(value, child)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _unknown_keys(item, f"{child}[{index}]")
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, BaseModel):
                    yield from _unknown_keys(item, f"{child}.{key}")


def _list_properties_warnings(config: ExporterConfig) -> Iterator[ConfigProblem]:
    """`useListProperties` maps what ListResources returns, which on AWS is only the type's primary
    identifier (`core.kinds.cloudcontrol.listed_properties`): warn about each expression that
    reads a property the list will not have (it comes out null), and where the flag does nothing."""
    for index, resource in enumerate(config.resources):
        if not resource.selector.aws.use_list_properties:
            continue
        where = f"resources[{index}].selector.aws.useListProperties"
        spec = spec_for(resource.kind)
        if spec.fetcher is not FetcherName.CLOUD_CONTROL or spec.native_listing is not None:
            yield ConfigProblem(where, f"{resource.kind} is not listed through Cloud Control: the flag is ignored")
            continue
        listed = listed_properties(resource.kind, spec.primary_identifier)
        if not listed:
            yield ConfigProblem(
                where,
                f"Cloud Control's ListResources returns only the primary identifier of {resource.kind}, which the "
                "registry does not know: the mappings will see little more than that",
            )
            continue
        for path, expression, ignored in _read_expressions(index, resource):
            missing = sorted(root_fields(expression) - set(listed) - ignored)
            if missing:
                yield ConfigProblem(
                    path,
                    f"with useListProperties this reads {', '.join(missing)}, which ListResources does not "
                    f"return for {resource.kind} (only {', '.join(listed)}): it will be null; read the "
                    "resource (drop useListProperties) or map only the listed properties",
                    expression,
                )


def _read_expressions(index: int, resource: ResourceConfig) -> Iterator[tuple[str, str, set[str]]]:
    """(path, expression, fields that are not the resource's) of every expression run on a listed
    resource: the selector's query and each mapping's fields."""
    if resource.selector.query is not None:
        yield f"resources[{index}].selector.query", resource.selector.query, set()
    for position, mapping in enumerate(resource.port.entity.mappings):
        base = f"resources[{index}].port.entity.mappings[{position}]"
        # With itemsToParse the item is merged into the document as `.item`.
        ignored = {"item"} if mapping.items_to_parse is not None else set()
        for path, expression in _mapping_expressions(base, mapping.model_dump(by_alias=True, exclude_none=True)):
            yield path, expression, ignored


def check_config(document: Any) -> ConfigReport:
    """Validate a parsed `config.json` document; never raises for a bad config."""
    errors = _jq_problems(document)
    try:
        config = ExporterConfig.model_validate(document)
    except ValidationError as error:
        problems = _schema_problems(error, document) + errors
        return ConfigReport(None, errors=sorted(problems, key=_document_order(document)))
    warnings = list(_unknown_keys(config, "")) + list(_list_properties_warnings(config))
    return ConfigReport(config if not errors else None, errors=errors, warnings=warnings)


def _document_order(document: Any) -> Any:
    """Sort key: problems of resources[0] before resources[1]…, root problems first."""

    def key(problem: ConfigProblem) -> tuple[int, str]:
        head = problem.path.split("]", 1)[0]
        index = head.removeprefix("resources[")
        return (int(index) + 1 if index.isdigit() else 0, problem.path)

    return key


def read_config_document(source: str | Path | Mapping[str, Any], *, s3_client: Any = None) -> Any:
    """The parsed JSON of a config given as a path, an `s3://bucket/key` URL or a dict."""
    if isinstance(source, Mapping):
        return dict(source)
    text = str(source)
    if text.startswith("s3://"):
        return json.loads(_read_s3_object(text, s3_client))
    try:
        content = Path(text).read_text()
    except FileNotFoundError:
        raise ConfigError([ConfigProblem("", f"file not found: {text}")], text) from None
    # A directory, no permission, not UTF-8 text (UnicodeDecodeError), a NUL in the path (ValueError).
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        shown = repr(text) if "\x00" in text else text or "(an empty path)"
        raise ConfigError([ConfigProblem("", f"cannot read {shown}: {reason}")], text) from None
    try:
        return json.loads(content)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise ConfigError([ConfigProblem("", f"not valid JSON at {where}: {error.msg}")], text) from None


def _read_s3_object(url: str, s3_client: Any) -> bytes:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise ConfigError([ConfigProblem("", f"an S3 config URL must be s3://bucket/key, not {url}")], url)
    if s3_client is None:
        # The core does no I/O of its own: whoever reads an s3:// config hands it a client.
        raise ConfigError([ConfigProblem("", f"reading {url} needs an S3 client, and none was given")], url)
    try:
        body: bytes = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as error:  # botocore's ClientError and connection errors alike
        raise ConfigError([ConfigProblem("", f"cannot read {url}: {error}")], url) from error
    return body


def load_config(source: str | Path | Mapping[str, Any], *, s3_client: Any = None) -> ExporterConfig:
    """Load and validate a config; raises ConfigError listing every problem."""
    document = read_config_document(source, s3_client=s3_client)
    report = check_config(document)
    if report.config is None:
        name = "config" if isinstance(source, Mapping) else str(source)
        raise ConfigError(report.errors, name)
    return report.config

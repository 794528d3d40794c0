"""The SAM application as plain CloudFormation, its functions' code at an uploaded artifact.

What `sam deploy` does before it calls CloudFormation, without the SAM CLI: point every function's
`CodeUri` at the artifact's S3 location, then expand `AWS::Serverless::*` resources with
`aws-sam-translator` (the library CloudFormation's `AWS::Serverless-2016-10-31` transform runs). The
result is a template `CreateStack` takes as it is, on an endpoint that has no SAM transform of its own
(the local AWS endpoint), or to review what a deployment will create.

    template = transform_sam_template(default_template_path(project), "s3://artifacts/exporter.zip")
    cloudformation.create_stack(StackName="port-aws-exporter", TemplateBody=json.dumps(template), ...)

`aws-sam-translator` comes with the `deploy` extra.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from port_aws_exporter.cfn.template_text import TemplateSyntaxError, parse_template_text
from port_aws_exporter.deploy.lambda_target import LambdaTarget

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+$")
# samtranslator keeps the region for ARNs in a class attribute: one transform at a time.
_TRANSLATOR_LOCK = threading.Lock()


class TemplateTransformError(ValueError):
    """The SAM template could not be turned into CloudFormation; the message says what SAM objected to."""


def default_template_path(project_dir: Path) -> Path:
    """`<project>/deploy/template.yaml`: the exporter's SAM application."""
    return project_dir / "deploy" / "template.yaml"


def transform_sam_template(
    template: Path | Mapping[str, Any],
    code_uri: str,
    *,
    target: LambdaTarget | None = None,
    region: str = "us-east-1",
    parameter_values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The CloudFormation template of a SAM template, every function's code at `code_uri`.

    `template` is a path or the parsed template (left unchanged). `code_uri` is the uploaded artifact
    (`s3://bucket/key`). `target`, when given, sets the functions' runtime and architecture to the
    artifact's (an artifact built with `package --arch x86_64` runs only on x86_64). `region` fills
    `AWS::Region` and the partition of ARNs SAM writes itself. `parameter_values` are the stack's
    parameters SAM may resolve while transforming (the defaults otherwise).

    Raises TemplateTransformError (the template, or what SAM objected to) and ValueError (a
    `code_uri` that is not an S3 URI).
    """
    if _S3_URI.match(code_uri) is None:
        raise ValueError(f"code_uri {code_uri!r} is not an S3 URI (s3://bucket/key) of the uploaded artifact")
    document = _load(template) if isinstance(template, Path) else copy.deepcopy(dict(template))
    _point_functions_at(document, code_uri, target)
    return _translate(document, region, dict(parameter_values or {}))


def _load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as error:
        raise TemplateTransformError(f"cannot read the SAM template {path}: {error.strerror}") from None
    try:
        document = parse_template_text(text, str(path))
    except TemplateSyntaxError as error:
        raise TemplateTransformError(str(error)) from None
    if not isinstance(document, dict):
        raise TemplateTransformError(f"{path} is not a CloudFormation template: expected a mapping at the top")
    return document


def _point_functions_at(document: dict[str, Any], code_uri: str, target: LambdaTarget | None) -> None:
    function_globals = document.get("Globals", {}).get("Function")
    settings: dict[str, Any] = {"CodeUri": code_uri}
    if target is not None:
        settings |= {"Runtime": target.runtime, "Architectures": [target.architecture]}
    if isinstance(function_globals, dict):
        function_globals.update(settings)
    functions = [
        resource
        for resource in document.get("Resources", {}).values()
        if isinstance(resource, dict) and resource.get("Type") == SERVERLESS_FUNCTION
    ]
    if not functions:
        raise TemplateTransformError(f"the template has no {SERVERLESS_FUNCTION}: nothing would run the artifact")
    for function in functions:
        properties = function.setdefault("Properties", {})
        # A function's own settings override Globals: point those too, or it would keep its local path.
        for name, value in settings.items():
            if name in properties or not isinstance(function_globals, dict):
                properties[name] = value


def _translate(document: dict[str, Any], region: str, parameter_values: dict[str, Any]) -> dict[str, Any]:
    # aws-sam-translator comes with the optional `deploy` extra: imported here, so that a missing
    # extra is an error naming it rather than an ImportError when this module loads.
    try:
        import boto3  # noqa: PLC0415
        from samtranslator.model.exceptions import InvalidDocumentException, InvalidTemplateException  # noqa: PLC0415
        from samtranslator.parser.parser import Parser  # noqa: PLC0415
        from samtranslator.translator.arn_generator import ArnGenerator  # noqa: PLC0415
        from samtranslator.translator.translator import Translator  # noqa: PLC0415
        from samtranslator.utils.py27hash_fix import (  # noqa: PLC0415
            to_py27_compatible_template,
            undo_mark_unicode_str_in_template,
        )
    except ImportError as error:
        raise TemplateTransformError(
            f"aws-sam-translator is needed to transform the SAM template ({error.name} is missing): "
            "pip install 'port-aws-exporter[deploy]'"
        ) from None
    # As `samtranslator.translator.transform.transform`, with the region given rather than read from
    # the machine's AWS configuration. The template brings its own roles, so SAM needs no AWS managed
    # policy ARNs (an empty map: no IAM call).
    with _TRANSLATOR_LOCK:
        previous_region = ArnGenerator.BOTO_SESSION_REGION_NAME
        to_py27_compatible_template(document, parameter_values)
        try:
            translator = Translator({}, Parser(), boto_session=boto3.session.Session(region_name=region))
            result = translator.translate(document, parameter_values=parameter_values)
        except InvalidDocumentException as error:
            causes = "; ".join(cause.message for cause in error.causes)
            raise TemplateTransformError(f"SAM cannot transform the template: {causes}") from None
        except InvalidTemplateException as error:
            raise TemplateTransformError(f"SAM cannot transform the template: {error.message}") from None
        finally:
            ArnGenerator.BOTO_SESSION_REGION_NAME = previous_region
    transformed: dict[str, Any] = undo_mark_unicode_str_in_template(result)
    return transformed

"""`transform_sam_template`: the SAM template as CloudFormation, its code at an uploaded artifact."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.arn_generator import ArnGenerator
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from port_aws_exporter.deploy.lambda_target import LambdaTarget
from port_aws_exporter.deploy.sam_transform import TemplateTransformError, transform_sam_template
from tests.deploy.local_deployment import TEMPLATE

CODE = "s3://artifacts-bucket/port-aws-exporter-lambda.zip"


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def _function(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "app.handler", **properties}}


def _template(resources: dict[str, Any], function_globals: dict[str, Any] | None = None) -> dict[str, Any]:
    template: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Transform": "AWS::Serverless-2016-10-31"}
    if function_globals is not None:
        template["Globals"] = {"Function": function_globals}
    template["Resources"] = resources
    return template


@pytest.fixture
def no_aws_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine with no AWS region configured anywhere."""
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))


def test_the_project_template_transforms_as_the_sam_transform_does(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = transform_sam_template(TEMPLATE, CODE, region="eu-west-1")
    reference = yaml_parse(TEMPLATE.read_text())
    reference["Globals"]["Function"]["CodeUri"] = CODE
    with monkeypatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        expected = transform(reference, {}, _NoManagedPolicies())
    assert ours == expected
    sync = ours["Resources"]["SyncFunction"]["Properties"]
    assert sync["Code"] == {"S3Bucket": "artifacts-bucket", "S3Key": "port-aws-exporter-lambda.zip"}
    assert (sync["Runtime"], sync["Architectures"]) == ("python3.12", ["arm64"])


def test_a_target_sets_runtime_and_architecture_of_every_function() -> None:
    ours = transform_sam_template(TEMPLATE, CODE, target=LambdaTarget("x86_64", "3.13"))
    for name in ("SyncFunction", "EventsFunction"):
        properties = ours["Resources"][name]["Properties"]
        assert (properties["Runtime"], properties["Architectures"]) == ("python3.13", ["x86_64"])


def test_functions_with_their_own_settings_are_pointed_at_the_artifact_too() -> None:
    template = _template(
        {
            "Plain": _function(),
            "OwnCode": _function(CodeUri="./local-build/", Runtime="python3.9", Architectures=["arm64"]),
        },
        function_globals={"CodeUri": "../dist/app.zip", "Runtime": "python3.12"},
    )
    original = copy.deepcopy(template)
    result = transform_sam_template(template, CODE, target=LambdaTarget("arm64", "3.12"))
    assert template == original  # the caller's template is left alone
    for name in ("Plain", "OwnCode"):
        properties = result["Resources"][name]["Properties"]
        assert properties["Code"] == {"S3Bucket": "artifacts-bucket", "S3Key": "port-aws-exporter-lambda.zip"}
        assert (properties["Runtime"], properties["Architectures"]) == ("python3.12", ["arm64"])


def test_without_globals_each_function_gets_the_code() -> None:
    result = transform_sam_template(_template({"Only": _function(Runtime="python3.12")}), CODE)
    assert result["Resources"]["Only"]["Properties"]["Code"]["S3Key"] == "port-aws-exporter-lambda.zip"


def test_the_region_is_given_not_read_from_the_machine(no_aws_region: None) -> None:
    before = ArnGenerator.BOTO_SESSION_REGION_NAME
    result = transform_sam_template(TEMPLATE, CODE, region="eu-central-1")
    assert result["Resources"]["SyncFunction"]["Type"] == "AWS::Lambda::Function"
    assert before == ArnGenerator.BOTO_SESSION_REGION_NAME  # samtranslator's global is restored


@pytest.mark.parametrize("code_uri", ["../dist/app.zip", "https://bucket.s3.amazonaws.com/app.zip", "s3://bucket"])
def test_the_code_must_be_an_uploaded_artifact(code_uri: str) -> None:
    with pytest.raises(ValueError, match=r"is not an S3 URI \(s3://bucket/key\)"):
        transform_sam_template(TEMPLATE, code_uri)


def test_what_sam_objects_to_is_named() -> None:
    template = _template({"Fn": _function(Runtime="python3.12", Events={"Tick": {"Type": "NoSuchEvent"}})})
    with pytest.raises(TemplateTransformError, match=r"SAM cannot transform the template: .*Fn.*NoSuchEvent"):
        transform_sam_template(template, CODE)


def test_a_template_without_functions_is_refused() -> None:
    with pytest.raises(TemplateTransformError, match="no AWS::Serverless::Function"):
        transform_sam_template(_template({"Queue": {"Type": "AWS::SQS::Queue"}}), CODE)


def test_unreadable_and_malformed_templates(tmp_path: Path) -> None:
    with pytest.raises(TemplateTransformError, match=r"cannot read the SAM template .*missing\.yaml"):
        transform_sam_template(tmp_path / "missing.yaml", CODE)
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources: [unclosed\n")
    with pytest.raises(TemplateTransformError, match=r"broken\.yaml: not valid YAML"):
        transform_sam_template(broken, CODE)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n")
    with pytest.raises(TemplateTransformError, match="expected a mapping at the top"):
        transform_sam_template(listed, CODE)

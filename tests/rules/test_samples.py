"""Sample events (what AWS would send for a call on a resource) and the API event names behind them."""

from __future__ import annotations

import pytest

from port_aws_exporter.core.kinds.cloudtrail import base_operation_name
from port_aws_exporter.core.kinds.registry import KINDS
from port_aws_exporter.eventbridge.cloudtrail import CLOUDTRAIL_DETAIL_TYPE
from port_aws_exporter.rules.event_names import api_event, events_of_source
from port_aws_exporter.rules.samples import (
    native_sample_case,
    sample_case,
    sample_event,
    sample_native_event,
    sample_properties,
)


class TestEventNames:
    def test_lambda_names_carry_the_version_of_their_path(self) -> None:
        names = {event.name for event in events_of_source("lambda.amazonaws.com")}
        assert {
            "CreateFunction20150331",
            "CreateFunctionUrlConfig20211031",
            "DeleteFunctionConcurrency20171031",
            "DeleteFunctionEventInvokeConfig20190925",
            "UpdateFunctionConfiguration20150331v2",  # the registry's revision suffix
            "TagResource20170331v2",
        } <= names
        assert "GetFunction20150331" not in names  # read-only calls are left out

    def test_shared_event_sources_list_every_api(self) -> None:
        gateway = {event.name: event.service for event in events_of_source("apigateway.amazonaws.com")}
        assert gateway["CreateRestApi"] == "apigateway"
        assert gateway["CreateApi"] == "apigatewayv2"
        load_balancing = {event.name for event in events_of_source("elasticloadbalancing.amazonaws.com")}
        assert {"CreateLoadBalancer", "CreateLoadBalancerListeners", "CreateListener"} <= load_balancing
        assert {"CreateDomain", "CreateElasticsearchDomain"} <= {e.name for e in events_of_source("es.amazonaws.com")}

    def test_unknown_sources_have_no_events(self) -> None:
        assert events_of_source("nothing-here.amazonaws.com") == ()

    def test_api_event_and_base_names(self) -> None:
        event = api_event("lambda.amazonaws.com", "DeleteFunction20150331")
        assert event is not None and (event.service, event.operation) == ("lambda", "DeleteFunction")
        assert base_operation_name("UpdateDistribution2014_01_31") == "UpdateDistribution"
        assert base_operation_name("UpdateFunctionCode20150331v2") == "UpdateFunctionCode"
        assert base_operation_name("ListObjectsV2") == "ListObjectsV2"


class TestProperties:
    def test_defaults_follow_a_given_name(self) -> None:
        props = sample_properties("AWS::SQS::Queue", region="us-west-2", account_id="210987654321")
        assert props["QueueUrl"] == "https://sqs.us-west-2.amazonaws.com/210987654321/port-sample-queue"
        given = sample_properties("AWS::SQS::Queue", identifier_values={"QueueName": "jobs"})
        assert given["Arn"] == "arn:aws:sqs:eu-west-1:123456789012:jobs"

    def test_partitions_and_custom_buses(self) -> None:
        assert sample_properties("AWS::Lambda::Function", region="cn-north-1")["Arn"].startswith("arn:aws-cn:")
        rule = sample_properties("AWS::Events::Rule", identifier_values={"EventBusName": "orders"})
        assert rule["Arn"] == "arn:aws:events:eu-west-1:123456789012:rule/orders/port-sample-rule"

    def test_unknown_kinds_get_generic_properties(self) -> None:
        assert sample_properties("AWS::Glue::Job")["Arn"] == "arn:aws:glue:eu-west-1:123456789012:job/port-sample-job"

    def test_every_kind_with_facts_has_every_property_its_fields_hold(self) -> None:
        for kind, spec in KINDS.items():
            if spec.cloudtrail is None:
                continue
            props = sample_properties(kind)
            sources = [*spec.cloudtrail.identifiers]
            if spec.cloudtrail.delete_identifier is not None:
                sources.append(spec.cloudtrail.delete_identifier)
            held = {item.holds for source in sources for item in source.fields}
            assert held <= set(props), kind
            assert set(spec.primary_identifier) <= set(props), kind


class TestCloudTrailSamples:
    def test_envelope_and_fields_that_name_the_resource(self) -> None:
        event = sample_event(
            "AWS::Lambda::Function",
            "CreateFunction20150331",
            identifier_values={"FunctionName": "orders"},
            region="us-east-2",
            account_id="111122223333",
        )
        assert (event["detail-type"], event["source"], event["region"], event["account"]) == (
            CLOUDTRAIL_DETAIL_TYPE,
            "aws.lambda",
            "us-east-2",
            "111122223333",
        )
        detail = event["detail"]
        assert detail["eventName"] == "CreateFunction20150331"
        assert detail["requestParameters"]["functionName"] == "orders"
        assert detail["responseElements"]["functionName"] == "orders"
        assert detail["responseElements"]["functionArn"] == "arn:aws:lambda:us-east-2:111122223333:function:orders"
        assert "errorCode" not in detail

    def test_failed_calls_have_no_response(self) -> None:
        detail = sample_event("AWS::SQS::Queue", "CreateQueue", error_code="AccessDenied")["detail"]
        assert detail["errorCode"] == "AccessDenied"
        assert detail["responseElements"] is None

    def test_registry_paths_win_over_the_api_shape(self) -> None:
        s3 = sample_event("AWS::S3::Bucket", "PutBucketTagging")["detail"]["requestParameters"]
        assert s3["bucketName"] == "port-sample-bucket-123456789012"
        ec2 = sample_event("AWS::EC2::Instance", "TerminateInstances")["detail"]["requestParameters"]
        assert ec2["instancesSet"]["items"][0]["instanceId"] == "i-0123456789abcdef0"
        kms = sample_event("AWS::KMS::Key", "DisableKey")["detail"]
        assert kms["resources"][0]["ARN"].endswith(":key/1234abcd-12ab-34cd-56ef-1234567890ab")
        elb = sample_event("AWS::ElasticLoadBalancingV2::LoadBalancer", "CreateLoadBalancer")["detail"]
        assert elb["apiVersion"] == "2015-12-01"
        assert elb["requestParameters"]["name"] == "port-sample-alb"
        assert elb["responseElements"]["loadBalancers"][0]["loadBalancerArn"].endswith(
            "/port-sample-alb/50dc6c495c0c9188"
        )

    def test_shared_calls_name_this_kinds_resource(self) -> None:
        route53 = sample_event("AWS::Route53::HostedZone", "ChangeTagsForResource")["detail"]["requestParameters"]
        assert (route53["resourceType"], route53["resourceId"]) == ("hostedzone", "Z0123456789ABCDEFGHIJ")

    def test_what_the_exporter_should_make_of_it(self) -> None:
        create = sample_case("AWS::SQS::Queue", "CreateQueue")
        assert create.action == "upsert"
        assert create.identifiers == {"https://sqs.eu-west-1.amazonaws.com/123456789012/port-sample-queue"}
        delete = sample_case("AWS::SQS::Queue", "DeleteQueue")
        assert delete.action == "delete"
        assert "port-sample-queue" in delete.identifiers
        other = sample_case("AWS::Lambda::Function", "DeleteFunctionEventInvokeConfig20190925")
        assert other.action == "upsert"  # not a call the registry lists: it does not delete the function
        assert other.event["detail"]["requestParameters"]["functionName"] == "port-sample-function"

    def test_unknown_kinds_need_an_event_source(self) -> None:
        with pytest.raises(ValueError, match="give event_source"):
            sample_case("AWS::Glue::Job", "CreateJob")
        case = sample_case("AWS::Glue::Job", "CreateJob", event_source="glue.amazonaws.com")
        assert case.action is None and case.identifiers == frozenset()
        assert case.event["detail"]["requestParameters"]["name"] == "port-sample-job"


class TestNativeSamples:
    def test_state_changes(self) -> None:
        running = sample_native_event("AWS::EC2::Instance", identifier_values={"InstanceId": "i-1"})
        assert (running["detail-type"], running["source"]) == ("EC2 Instance State-change Notification", "aws.ec2")
        assert running["detail"] == {"instance-id": "i-1", "state": "running"}
        gone = native_sample_case("AWS::CloudFormation::Stack", deleted=True)
        assert gone.event["detail"]["status-details"]["status"] == "DELETE_COMPLETE"
        assert gone.action == "delete" and "port-sample-stack" in gone.identifiers

    def test_kinds_without_one(self) -> None:
        with pytest.raises(ValueError, match="no native event"):
            sample_native_event("AWS::SQS::Queue")

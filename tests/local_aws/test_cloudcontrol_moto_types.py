"""Resources created through moto's own service APIs appear in Cloud Control, shaped by their schema,
and disappear when deleted there (boto3 over HTTP against the running endpoint)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from port_aws_exporter.local.aws.cloudcontrol.schemas import ResourceSchemas

REGION = "eu-west-1"
ACCOUNT = "123456789012"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(e, c):\n    return e\n")
    return buffer.getvalue()


def _role_arn(client: Callable[..., Any], name: str = "cc-test-role") -> str:
    iam = client("iam")
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except ClientError:
        document = {"Version": "2012-10-17", "Statement": []}
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(document))["Role"]["Arn"])


# Each creator makes one resource through the service API and returns (identifier, expected properties).
def create_lambda(client: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    lam = client("lambda", REGION)
    layer = lam.publish_layer_version(LayerName="libs", Content={"ZipFile": _zip()})["LayerVersionArn"]
    lam.create_function(
        FunctionName="cc-fn",
        Runtime="python3.12",
        Role=_role_arn(client),
        Handler="index.handler",
        Code={"ZipFile": _zip()},
        MemorySize=256,
        Timeout=20,
        Environment={"Variables": {"STAGE": "test"}},
        Layers=[layer],
        EphemeralStorage={"Size": 1024},
        Tags={"team": "core"},
    )
    return "cc-fn", {
        "FunctionName": "cc-fn",
        "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:cc-fn",
        "MemorySize": 256,
        "Timeout": 20,
        "Runtime": "python3.12",
        "Layers": [layer],
        "EphemeralStorage": {"Size": 1024},
        "Environment": {"Variables": {"STAGE": "test"}},
        "Tags": [{"Key": "team", "Value": "core"}],
    }


def delete_lambda(client: Callable[..., Any], identifier: str) -> None:
    client("lambda", REGION).delete_function(FunctionName=identifier)


def create_bucket(client: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    s3 = client("s3", REGION)
    s3.create_bucket(Bucket="cc-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket="cc-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_tagging(Bucket="cc-bucket", Tagging={"TagSet": [{"Key": "team", "Value": "core"}]})
    return "cc-bucket", {
        "BucketName": "cc-bucket",
        "Arn": "arn:aws:s3:::cc-bucket",
        "RegionalDomainName": f"cc-bucket.s3.{REGION}.amazonaws.com",
        "VersioningConfiguration": {"Status": "Enabled"},
        "Tags": [{"Key": "team", "Value": "core"}],
    }


def delete_bucket(client: Callable[..., Any], identifier: str) -> None:
    client("s3", REGION).delete_bucket(Bucket=identifier)


def create_queue(client: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    url = client("sqs", REGION).create_queue(
        QueueName="cc-queue", Attributes={"VisibilityTimeout": "45"}, tags={"team": "core"}
    )["QueueUrl"]
    return url, {
        "QueueName": "cc-queue",
        "QueueUrl": url,
        "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:cc-queue",
        "VisibilityTimeout": 45,
        "Tags": [{"Key": "team", "Value": "core"}],
    }


def delete_queue(client: Callable[..., Any], identifier: str) -> None:
    client("sqs", REGION).delete_queue(QueueUrl=identifier)


def create_topic(client: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    sqs, sns = client("sqs", REGION), client("sns", REGION)
    url = sqs.create_queue(QueueName="cc-subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    arn = sns.create_topic(Name="cc-topic", Tags=[{"Key": "team", "Value": "core"}])["TopicArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    return arn, {
        "TopicName": "cc-topic",
        "TopicArn": arn,
        "Subscription": [{"Endpoint": queue_arn, "Protocol": "sqs"}],
        "Tags": [{"Key": "team", "Value": "core"}],
    }


def delete_topic(client: Callable[..., Any], identifier: str) -> None:
    client("sns", REGION).delete_topic(TopicArn=identifier)


def create_table(client: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    client("dynamodb", REGION).create_table(
        TableName="cc-table",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4},
        Tags=[{"Key": "team", "Value": "core"}],
    )
    return "cc-table", {
        "TableName": "cc-table",
        "Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/cc-table",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PROVISIONED",
        "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4},
        "Tags": [{"Key": "team", "Value": "core"}],
    }


def delete_table(client: Callable[..., Any], identifier: str) -> None:
    client("dynamodb", REGION).delete_table(TableName=identifier)


def create_cluster(client: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    client("ecs", REGION).create_cluster(clusterName="cc-cluster", tags=[{"key": "team", "value": "core"}])
    return "cc-cluster", {
        "ClusterName": "cc-cluster",
        "Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/cc-cluster",
        "Tags": [{"Key": "team", "Value": "core"}],
    }


def delete_cluster(client: Callable[..., Any], identifier: str) -> None:
    client("ecs", REGION).delete_cluster(cluster=identifier)


def create_service(client: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    ecs = client("ecs", REGION)
    cluster_arn = ecs.create_cluster(clusterName="cc-svc-cluster")["cluster"]["clusterArn"]
    task = ecs.register_task_definition(
        family="cc-task", containerDefinitions=[{"name": "web", "image": "nginx", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"]
    service = ecs.create_service(
        cluster="cc-svc-cluster", serviceName="cc-svc", taskDefinition=task, desiredCount=2, launchType="EC2"
    )["service"]
    return f"{service['serviceArn']}|{cluster_arn}", {
        "ServiceName": "cc-svc",
        "ServiceArn": service["serviceArn"],
        "Cluster": cluster_arn,
        "TaskDefinition": task,
        "DesiredCount": 2,
        "LaunchType": "EC2",
        "SchedulingStrategy": "REPLICA",
    }


def delete_service(client: Callable[..., Any], identifier: str) -> None:
    client("ecs", REGION).delete_service(cluster="cc-svc-cluster", service="cc-svc", force=True)


def create_role(client: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
        ],
    }
    client("iam").create_role(
        RoleName="cc-role",
        AssumeRolePolicyDocument=json.dumps(document),
        Tags=[{"Key": "team", "Value": "core"}],
    )
    return "cc-role", {
        "RoleName": "cc-role",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/cc-role",
        "AssumeRolePolicyDocument": document,
        "Path": "/",
        "Tags": [{"Key": "team", "Value": "core"}],
    }


def delete_role(client: Callable[..., Any], identifier: str) -> None:
    client("iam").delete_role(RoleName=identifier)


def create_repository(client: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    client("ecr", REGION).create_repository(
        repositoryName="cc-repo",
        imageScanningConfiguration={"scanOnPush": True},
        tags=[{"Key": "team", "Value": "core"}],
    )
    return "cc-repo", {
        "RepositoryName": "cc-repo",
        "Arn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/cc-repo",
        "RepositoryUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/cc-repo",
        "ImageScanningConfiguration": {"ScanOnPush": True},
        "Tags": [{"Key": "team", "Value": "core"}],
    }


def delete_repository(client: Callable[..., Any], identifier: str) -> None:
    client("ecr", REGION).delete_repository(repositoryName=identifier)


@dataclass(frozen=True)
class EmulatedType:
    type_name: str
    create: Callable[[Callable[..., Any]], tuple[str, dict[str, Any]]]
    delete: Callable[[Callable[..., Any], str], None]


EMULATED_TYPES = [
    EmulatedType("AWS::Lambda::Function", create_lambda, delete_lambda),
    EmulatedType("AWS::S3::Bucket", create_bucket, delete_bucket),
    EmulatedType("AWS::SQS::Queue", create_queue, delete_queue),
    EmulatedType("AWS::SNS::Topic", create_topic, delete_topic),
    EmulatedType("AWS::DynamoDB::Table", create_table, delete_table),
    EmulatedType("AWS::ECS::Cluster", create_cluster, delete_cluster),
    EmulatedType("AWS::ECS::Service", create_service, delete_service),
    EmulatedType("AWS::IAM::Role", create_role, delete_role),
    EmulatedType("AWS::ECR::Repository", create_repository, delete_repository),
]


@pytest.fixture(scope="module")
def schemas() -> ResourceSchemas:
    return ResourceSchemas()


@pytest.mark.parametrize("emulated", EMULATED_TYPES, ids=lambda e: e.type_name)
def test_service_created_resource_is_listed_read_and_gone_after_delete(
    emulated: EmulatedType, fresh_local_aws: Any, aws_client: Callable[..., Any], schemas: ResourceSchemas
) -> None:
    cc = aws_client("cloudcontrol", REGION)
    identifier, expected = emulated.create(aws_client)

    listed = cc.list_resources(TypeName=emulated.type_name)["ResourceDescriptions"]
    assert [d["Identifier"] for d in listed] == [identifier]
    listed_properties = json.loads(listed[0]["Properties"])

    described = cc.get_resource(TypeName=emulated.type_name, Identifier=identifier)["ResourceDescription"]
    assert described["Identifier"] == identifier
    properties = json.loads(described["Properties"])
    # As on AWS, a list description carries only the primary identifier; GetResource the model.
    primary = schemas.get(emulated.type_name, REGION)
    assert primary is not None
    assert listed_properties == {name: properties[name] for name in primary.primary_identifier}
    assert {key: properties.get(key) for key in expected} == expected

    schema = schemas.get(emulated.type_name, REGION)
    assert schema is not None
    assert schema.identifier_of(properties) == identifier
    assert schema.validation_errors(properties, as_read=True) == []

    emulated.delete(aws_client, identifier)
    with pytest.raises(ClientError) as raised:
        cc.get_resource(TypeName=emulated.type_name, Identifier=identifier)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert identifier not in [
        d["Identifier"] for d in cc.list_resources(TypeName=emulated.type_name)["ResourceDescriptions"]
    ]


def test_resources_are_scoped_to_their_region(fresh_local_aws: Any, aws_client: Callable[..., Any]) -> None:
    aws_client("sqs", "eu-west-1").create_queue(QueueName="in-ireland")
    aws_client("sqs", "us-east-1").create_queue(QueueName="in-virginia")
    urls = {
        region: [
            json.loads(d["Properties"])["QueueUrl"].rsplit("/", 1)[-1]
            for d in aws_client("cloudcontrol", region).list_resources(TypeName="AWS::SQS::Queue")[
                "ResourceDescriptions"
            ]
        ]
        for region in ("eu-west-1", "us-east-1", "ap-south-1")
    }
    assert urls == {"eu-west-1": ["in-ireland"], "us-east-1": ["in-virginia"], "ap-south-1": []}


def test_s3_buckets_of_every_region_are_listed_in_any_region_as_on_aws(
    fresh_local_aws: Any, aws_client: Callable[..., Any]
) -> None:
    aws_client("s3", "eu-west-1").create_bucket(
        Bucket="irish-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    cc = aws_client("cloudcontrol", "us-east-1")
    listed = cc.list_resources(TypeName="AWS::S3::Bucket")["ResourceDescriptions"]
    # Recorded on AWS: a bucket's list description is {"BucketName": ...} and nothing else.
    assert [json.loads(description["Properties"]) for description in listed] == [{"BucketName": "irish-bucket"}]
    properties = json.loads(
        cc.get_resource(TypeName="AWS::S3::Bucket", Identifier="irish-bucket")["ResourceDescription"]["Properties"]
    )
    assert properties["RegionalDomainName"] == "irish-bucket.s3.eu-west-1.amazonaws.com"


def test_sqs_queue_list_descriptions_carry_only_the_queue_url(
    fresh_local_aws: Any, aws_client: Callable[..., Any]
) -> None:
    url = aws_client("sqs", REGION).create_queue(QueueName="listed", Attributes={"DelaySeconds": "5"})["QueueUrl"]
    cc = aws_client("cloudcontrol", REGION)
    (listed,) = cc.list_resources(TypeName="AWS::SQS::Queue")["ResourceDescriptions"]
    assert json.loads(listed["Properties"]) == {"QueueUrl": url}  # as recorded on AWS
    read = json.loads(cc.get_resource(TypeName="AWS::SQS::Queue", Identifier=url)["ResourceDescription"]["Properties"])
    assert (read["QueueName"], read["DelaySeconds"]) == ("listed", 5)


def test_deleted_ecs_service_stays_inactive_in_ecs_but_is_gone_from_cloud_control(
    fresh_local_aws: Any, aws_client: Callable[..., Any]
) -> None:
    identifier, _ = create_service(aws_client)
    delete_service(aws_client, identifier)
    ecs = aws_client("ecs", REGION)
    described = ecs.describe_services(cluster="cc-svc-cluster", services=["cc-svc"])["services"]
    assert [service["status"] for service in described] == ["INACTIVE"]
    cc = aws_client("cloudcontrol", REGION)
    assert cc.list_resources(TypeName="AWS::ECS::Service")["ResourceDescriptions"] == []

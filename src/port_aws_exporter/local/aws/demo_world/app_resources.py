"""The demo world's application resources: IAM, Lambda (with a layer), S3, DynamoDB, SQS and SNS."""

from __future__ import annotations

import json
from dataclasses import dataclass

from port_aws_exporter.local.aws.demo_world.context import RegionSeeder
from port_aws_exporter.local.aws.demo_world.summary import GLOBAL, SeedSummary
from port_aws_exporter.local.aws.resource_defaults import assume_role_policy, handler_zip, tag_pairs

LAMBDA_ROLE = "demo-lambda-role"
ECS_TASK_ROLE = "demo-ecs-task-role"


@dataclass(frozen=True)
class DemoFunction:
    """One demo Lambda function."""

    app: str
    runtime: str
    memory_size: int
    timeout: int
    uses_layer: bool
    environment: tuple[tuple[str, str], ...] = ()


FUNCTIONS = (
    DemoFunction("orders-api", "python3.12", 512, 30, True, (("TABLE", "orders"), ("LOG_LEVEL", "info"))),
    DemoFunction("payments-worker", "nodejs20.x", 1024, 60, True, (("QUEUE", "payments"),)),
    DemoFunction("image-resizer", "python3.11", 2048, 120, False),
    DemoFunction("report-generator", "java21", 3008, 300, False, (("BUCKET", "reports"),)),
)
BUCKETS = ("assets", "logs")
QUEUES = ("orders", "payments", "notifications")
# topic -> the queues subscribed to it
TOPICS = {"order-events": ("orders", "payments"), "alerts": ("notifications",)}


def seed_iam(seeder: RegionSeeder, summary: SeedSummary) -> dict[str, str]:
    """The account's roles (IAM is global: seeded once, kept when they exist); returns role name -> ARN."""
    iam = seeder.client("iam")
    arns = {}
    for key, service in ((LAMBDA_ROLE, "lambda.amazonaws.com"), (ECS_TASK_ROLE, "ecs-tasks.amazonaws.com")):
        name = key.replace("demo-", f"{seeder.prefix}-", 1)
        try:
            role = iam.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=assume_role_policy(service),
                Description=f"Demo role assumed by {service}",
                Tags=tag_pairs(seeder.tags("platform")),
            )["Role"]
        except iam.exceptions.EntityAlreadyExistsException:
            role = iam.get_role(RoleName=name)["Role"]  # seeded before: the regions' records say what else
        arns[key] = role["Arn"]
        summary.add("AWS::IAM::Role", GLOBAL, name)
    return arns


def seed_lambda(seeder: RegionSeeder, role_arn: str) -> None:
    """A shared layer and the demo functions, two of them using the layer."""
    client = seeder.client("lambda")
    layer = client.publish_layer_version(
        LayerName=f"{seeder.prefix}-shared-libs",
        Content={"ZipFile": handler_zip()},
        CompatibleRuntimes=["python3.11", "python3.12", "nodejs20.x"],
        Description="Shared libraries of the demo functions",
    )
    seeder.summary.add("AWS::Lambda::LayerVersion", seeder.region, layer["LayerVersionArn"])
    for function in FUNCTIONS:
        name = seeder.name(function.app)
        client.create_function(
            FunctionName=name,
            Runtime=function.runtime,
            Role=role_arn,
            Handler="index.handler",
            Code={"ZipFile": handler_zip()},
            Description=f"Demo {function.app} function",
            Timeout=function.timeout,
            MemorySize=function.memory_size,
            Environment={"Variables": dict(function.environment)},
            Layers=[layer["LayerVersionArn"]] if function.uses_layer else [],
            Tags=seeder.tags(function.app),
        )
        seeder.summary.add("AWS::Lambda::Function", seeder.region, name)


def seed_s3(seeder: RegionSeeder) -> None:
    """Two buckets: versioned assets, and logs with a lifecycle rule; both tagged, private."""
    s3 = seeder.client("s3")
    for base in BUCKETS:
        name = seeder.name(base)
        location = (
            {} if seeder.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": seeder.region}}
        )
        s3.create_bucket(Bucket=name, **location)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_pairs(seeder.tags(base))})
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        if base == "assets":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        else:
            s3.put_bucket_lifecycle_configuration(
                Bucket=name,
                LifecycleConfiguration={
                    "Rules": [
                        {
                            "ID": "expire-old-logs",
                            "Status": "Enabled",
                            "Filter": {"Prefix": "logs/"},
                            "Expiration": {"Days": 30},
                        }
                    ]
                },
            )
        seeder.summary.add("AWS::S3::Bucket", seeder.region, name)


def seed_dynamodb(seeder: RegionSeeder) -> None:
    """An orders table (provisioned, hash + range key) and a sessions table (on demand, with TTL)."""
    dynamodb = seeder.client("dynamodb")
    orders = seeder.name("orders")
    dynamodb.create_table(
        TableName=orders,
        AttributeDefinitions=[
            {"AttributeName": "customerId", "AttributeType": "S"},
            {"AttributeName": "orderId", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "customerId", "KeyType": "HASH"},
            {"AttributeName": "orderId", "KeyType": "RANGE"},
        ],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        Tags=tag_pairs(seeder.tags("orders")),
    )
    sessions = seeder.name("sessions")
    dynamodb.create_table(
        TableName=sessions,
        AttributeDefinitions=[{"AttributeName": "sessionId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "sessionId", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=tag_pairs(seeder.tags("sessions")),
    )
    dynamodb.update_time_to_live(
        TableName=sessions, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"}
    )
    seeder.summary.add("AWS::DynamoDB::Table", seeder.region, orders)
    seeder.summary.add("AWS::DynamoDB::Table", seeder.region, sessions)


def seed_messaging(seeder: RegionSeeder) -> None:
    """Queues (one with a dead-letter queue) and topics subscribed to them."""
    sqs, sns = seeder.client("sqs"), seeder.client("sns")
    dlq_name = seeder.name("orders-dlq")
    dlq_url = sqs.create_queue(QueueName=dlq_name, tags=seeder.tags("orders"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    seeder.summary.add("AWS::SQS::Queue", seeder.region, dlq_name)
    queue_arns = {}
    for base in QUEUES:
        name = seeder.name(base)
        attributes = {"VisibilityTimeout": "60", "MessageRetentionPeriod": "345600"}
        if base == "orders":
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
        url = sqs.create_queue(QueueName=name, Attributes=attributes, tags=seeder.tags(base))["QueueUrl"]
        queue_arns[base] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        seeder.summary.add("AWS::SQS::Queue", seeder.region, name)
    for base, queues in TOPICS.items():
        name = seeder.name(base)
        topic_arn = sns.create_topic(Name=name, Tags=tag_pairs(seeder.tags(base)))["TopicArn"]
        for queue in queues:
            sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arns[queue])
        seeder.summary.add("AWS::SNS::Topic", seeder.region, name)
        seeder.summary.subscriptions[name] = [seeder.name(queue) for queue in queues]

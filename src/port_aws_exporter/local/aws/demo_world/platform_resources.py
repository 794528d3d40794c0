"""The demo world's platform: EC2 instances, a load balancer with listeners and an ACM certificate,
an ECS cluster with services (and their ECR repository), an ElastiCache cluster, a CloudFormation stack."""

from __future__ import annotations

import json
from dataclasses import dataclass

from port_aws_exporter.local.aws.demo_world.context import RegionSeeder
from port_aws_exporter.local.aws.resource_defaults import AMI_QUERY, image_id, tag_pairs

INSTANCES = ("web-1", "web-2")
SERVICES = (("web", 2), ("worker", 1))  # (name, desired count)


@dataclass(frozen=True)
class Network:
    """The default VPC's ids in one region."""

    vpc_id: str
    subnet_ids: list[str]
    security_group_id: str


def find_network(seeder: RegionSeeder) -> Network:
    """moto creates a default VPC with one subnet per availability zone in every region."""
    ec2 = seeder.client("ec2")
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    subnet_ids = sorted(subnet["SubnetId"] for subnet in subnets)[:2]
    return Network(vpc_id, subnet_ids, groups[0]["GroupId"])


def seed_instances(seeder: RegionSeeder, network: Network) -> None:
    """Two tagged web instances."""
    ec2 = seeder.client("ec2")
    image = image_id(ec2.describe_images(**AMI_QUERY)["Images"])
    for base in INSTANCES:
        name = seeder.name(base)
        tags = tag_pairs({"Name": name, **seeder.tags("web")})
        instance = ec2.run_instances(
            ImageId=image,
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            SubnetId=network.subnet_ids[0],
            SecurityGroupIds=[network.security_group_id],
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )["Instances"][0]
        seeder.summary.add("AWS::EC2::Instance", seeder.region, instance["InstanceId"])


def seed_certificate(seeder: RegionSeeder) -> str:
    """An ACM certificate for the demo domain; returns its ARN."""
    domain = f"{seeder.region}.demo.example.com"
    arn: str = seeder.client("acm").request_certificate(
        DomainName=domain,
        ValidationMethod="DNS",
        SubjectAlternativeNames=[domain, f"www.{domain}"],
        Tags=tag_pairs(seeder.tags("web")),
    )["CertificateArn"]
    seeder.summary.add("AWS::ACM::Certificate", seeder.region, arn)
    return arn


def seed_load_balancer(seeder: RegionSeeder, network: Network, certificate_arn: str) -> str:
    """An application load balancer with an HTTP and an HTTPS listener; returns the target group ARN."""
    elbv2 = seeder.client("elbv2")
    name = seeder.name("alb")
    balancer = elbv2.create_load_balancer(
        Name=name,
        Subnets=network.subnet_ids,
        SecurityGroups=[network.security_group_id],
        Scheme="internet-facing",
        Type="application",
        Tags=tag_pairs(seeder.tags("web")),
    )["LoadBalancers"][0]
    group_arn: str = elbv2.create_target_group(
        Name=seeder.name("web")[:32], Protocol="HTTP", Port=80, VpcId=network.vpc_id, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    forward = [{"Type": "forward", "TargetGroupArn": group_arn}]
    elbv2.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=forward)
    elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": certificate_arn}],
        DefaultActions=forward,
    )
    seeder.summary.add("AWS::ElasticLoadBalancingV2::LoadBalancer", seeder.region, name)
    return group_arn


def seed_containers(seeder: RegionSeeder, network: Network, target_group_arn: str, task_role_arn: str) -> None:
    """An ECR repository, an ECS cluster and its Fargate services (the web one behind the load balancer)."""
    ecr, ecs = seeder.client("ecr"), seeder.client("ecs")
    repository = ecr.create_repository(
        repositoryName=seeder.name("web"),
        imageScanningConfiguration={"scanOnPush": True},
        tags=tag_pairs(seeder.tags("web")),
    )["repository"]
    seeder.summary.add("AWS::ECR::Repository", seeder.region, repository["repositoryName"])
    cluster = seeder.name("cluster")
    ecs.create_cluster(
        clusterName=cluster,
        settings=[{"name": "containerInsights", "value": "enabled"}],
        tags=tag_pairs(seeder.tags("platform"), "key", "value"),
    )
    seeder.summary.add("AWS::ECS::Cluster", seeder.region, cluster)
    for base, desired in SERVICES:
        task = ecs.register_task_definition(
            family=f"{seeder.prefix}-{base}",
            taskRoleArn=task_role_arn,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[
                {
                    "name": base,
                    "image": f"{repository['repositoryUri']}:latest",
                    "essential": True,
                    "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
                }
            ],
        )["taskDefinition"]
        name = seeder.name(base)
        ecs.create_service(
            cluster=cluster,
            serviceName=name,
            taskDefinition=task["taskDefinitionArn"],
            desiredCount=desired,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": network.subnet_ids,
                    "securityGroups": [network.security_group_id],
                    "assignPublicIp": "DISABLED",
                }
            },
            loadBalancers=[{"targetGroupArn": target_group_arn, "containerName": base, "containerPort": 80}]
            if base == "web"
            else [],
            tags=tag_pairs(seeder.tags(base), "key", "value"),
        )
        seeder.summary.add("AWS::ECS::Service", seeder.region, name)


def seed_cache(seeder: RegionSeeder) -> None:
    """A single-node Redis cluster."""
    cluster_id = seeder.name("cache")
    seeder.client("elasticache").create_cache_cluster(
        CacheClusterId=cluster_id,
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheNodes=1,
        Tags=tag_pairs(seeder.tags("sessions")),
    )
    seeder.summary.add("AWS::ElastiCache::CacheCluster", seeder.region, cluster_id)


def seed_stack(seeder: RegionSeeder) -> None:
    """A CloudFormation stack owning a log group (a kind the rest of the demo world does not use)."""
    name = seeder.name("stack")
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Demo stack",
        "Resources": {
            "AppLogs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": f"/demo/{seeder.region}/app", "RetentionInDays": 14},
            }
        },
        "Outputs": {"LogGroup": {"Value": {"Ref": "AppLogs"}}},
    }
    seeder.client("cloudformation").create_stack(
        StackName=name, TemplateBody=json.dumps(template), Tags=tag_pairs(seeder.tags("platform"))
    )
    seeder.summary.add("AWS::CloudFormation::Stack", seeder.region, name)

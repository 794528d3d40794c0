"""Changes of EC2 instances, with CloudTrail's EC2 record shape and the native state-change events.

EC2 is a query-protocol API and CloudTrail records it in its own shape: lists are `{"items": [...]}`
under `...Set` names (`instancesSet`, `resourcesSet`, `tagSet`), calls without output answer
`{"requestId", "_return": true}`. A real account also emits an "EC2 Instance State-change
Notification" for every state an instance goes through, which rules use because an API call may
name several instances; a create gives `pending` then `running`, a delete `shutting-down` then
`terminated`.
"""

from __future__ import annotations

import uuid
from typing import Any

from port_aws_exporter.local.aws.changes.context import ChangeContext, ChangeError
from port_aws_exporter.local.aws.changes.kind_changes import CHANGE_TAG, ResourceChanges, registered
from port_aws_exporter.local.aws.resource_defaults import AMI_QUERY, image_id

__all__ = ["STATE_CHANGE_DETAIL_TYPE", "Ec2InstanceChanges", "instance_state_change_event"]

STATE_CHANGE_DETAIL_TYPE = "EC2 Instance State-change Notification"
INSTANCE_TYPES = ("t3.micro", "t3.small")


def instance_state_change_event(
    instance_id: str, state: str, *, region: str, account_id: str, time: str
) -> dict[str, Any]:
    """The EventBridge event EC2 emits when `instance_id` enters `state`."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": STATE_CHANGE_DETAIL_TYPE,
        "source": "aws.ec2",
        "account": account_id,
        "time": time,
        "region": region,
        "resources": [f"arn:aws:ec2:{region}:{account_id}:instance/{instance_id}"],
        "detail": {"instance-id": instance_id, "state": state},
    }


def _items(*items: dict[str, Any]) -> dict[str, Any]:
    return {"items": list(items)}


def _acknowledged(response: dict[str, Any]) -> dict[str, Any]:
    return {"requestId": str(uuid.uuid4()), "_return": True}


@registered
class Ec2InstanceChanges(ResourceChanges):
    """`AWS::EC2::Instance` by instance id, or by its `Name` tag (a create sets it); update switches
    the instance type between t3.micro and t3.small."""

    kind = "AWS::EC2::Instance"
    aliases = ("ec2", "instance")

    def create(self, ctx: ChangeContext, name: str) -> str:
        image_id = self._image(ctx)
        tags = [{"Key": "Name", "Value": name}, {"Key": "created-by", "Value": "local-change"}]
        params = {
            "ImageId": image_id,
            "InstanceType": INSTANCE_TYPES[0],
            "MinCount": 1,
            "MaxCount": 1,
            "TagSpecifications": [{"ResourceType": "instance", "Tags": tags}],
        }
        record = {
            "instancesSet": _items({"imageId": image_id, "minCount": 1, "maxCount": 1}),
            "instanceType": INSTANCE_TYPES[0],
            "blockDeviceMapping": {},
            "tagSpecificationSet": _items(
                {"resourceType": "instance", "tags": [{"key": tag["Key"], "value": tag["Value"]} for tag in tags]}
            ),
        }
        answer = ctx.call("ec2", "run_instances", params, request_record=record, response_record=self._reservation(ctx))
        instance_id = str(answer["Instances"][0]["InstanceId"])
        self._state_changes(ctx, instance_id, "pending", "running")
        return instance_id

    def update(self, ctx: ChangeContext, name: str) -> str:
        instance = self._instance(ctx, name)
        current = instance.get("InstanceType")
        new_type = INSTANCE_TYPES[1] if current == INSTANCE_TYPES[0] else INSTANCE_TYPES[0]
        instance_id = str(instance["InstanceId"])
        ctx.call(
            "ec2",
            "modify_instance_attribute",
            {"InstanceId": instance_id, "InstanceType": {"Value": new_type}},
            request_record={"instanceId": instance_id, "instanceType": {"value": new_type}},
            response_record=_acknowledged,
        )
        return instance_id

    def tag(self, ctx: ChangeContext, name: str) -> str:
        instance_id = str(self._instance(ctx, name)["InstanceId"])
        ctx.call(
            "ec2",
            "create_tags",
            {"Resources": [instance_id], "Tags": [{"Key": CHANGE_TAG, "Value": ctx.stamp}]},
            request_record={
                "resourcesSet": _items({"resourceId": instance_id}),
                "tagSet": _items({"key": CHANGE_TAG, "value": ctx.stamp}),
            },
            response_record=_acknowledged,
        )
        return instance_id

    def delete(self, ctx: ChangeContext, name: str) -> str:
        instance_id = str(self._instance(ctx, name)["InstanceId"])
        ctx.call(
            "ec2",
            "terminate_instances",
            {"InstanceIds": [instance_id]},
            request_record={"instancesSet": _items({"instanceId": instance_id})},
            response_record=_terminating,
        )
        self._state_changes(ctx, instance_id, "shutting-down", "terminated")
        return instance_id

    @staticmethod
    def _image(ctx: ChangeContext) -> str:
        return image_id(ctx.read("ec2", "describe_images", AMI_QUERY)["Images"])

    @staticmethod
    def _instance(ctx: ChangeContext, name: str) -> dict[str, Any]:
        """The instance with this id, or the live one with this `Name` tag."""
        if name.startswith("i-"):
            params: dict[str, Any] = {"InstanceIds": [name]}
        else:
            params = {
                "Filters": [
                    {"Name": "tag:Name", "Values": [name]},
                    {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
                ]
            }
        missing = f"no EC2 instance {name} in {ctx.region}"
        reservations = ctx.read("ec2", "describe_instances", params, missing=missing)["Reservations"]
        instances = [instance for reservation in reservations for instance in reservation["Instances"]]
        if not instances:
            raise ChangeError(missing)
        return dict(instances[0])

    @staticmethod
    def _reservation(ctx: ChangeContext) -> Any:
        def record(response: dict[str, Any]) -> dict[str, Any]:
            instances = [
                {
                    "instanceId": instance["InstanceId"],
                    "imageId": instance.get("ImageId"),
                    "instanceState": {"code": instance["State"]["Code"], "name": instance["State"]["Name"]},
                    "instanceType": instance.get("InstanceType"),
                    "launchTime": int(instance["LaunchTime"].timestamp() * 1000) if "LaunchTime" in instance else None,
                    "privateIpAddress": instance.get("PrivateIpAddress"),
                    "subnetId": instance.get("SubnetId"),
                    "vpcId": instance.get("VpcId"),
                }
                for instance in response.get("Instances", [])
            ]
            return {
                "requestId": str(uuid.uuid4()),
                "reservationId": response.get("ReservationId"),
                "ownerId": response.get("OwnerId", ctx.account_id),
                "groupSet": {},
                "instancesSet": _items(*instances),
            }

        return record

    @staticmethod
    def _state_changes(ctx: ChangeContext, instance_id: str, *states: str) -> None:
        for state in states:
            ctx.native_events.append(
                instance_state_change_event(
                    instance_id, state, region=ctx.region, account_id=ctx.account_id, time=ctx.stamp
                )
            )


def _terminating(response: dict[str, Any]) -> dict[str, Any]:
    def state(value: dict[str, Any]) -> dict[str, Any]:
        return {"code": value.get("Code"), "name": value.get("Name")}

    instances = [
        {
            "instanceId": instance["InstanceId"],
            "currentState": state(instance.get("CurrentState", {})),
            "previousState": state(instance.get("PreviousState", {})),
        }
        for instance in response.get("TerminatingInstances", [])
    ]
    return {"requestId": str(uuid.uuid4()), "instancesSet": _items(*instances)}

"""Cloud Control API errors, as the API names them."""

from __future__ import annotations


class CloudControlError(Exception):
    """An error the emulator answers with: `code` is the AWS exception name botocore will raise."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def type_not_found(type_name: str) -> CloudControlError:
    """The type is not a CloudFormation registry type in this region."""
    return CloudControlError(
        "TypeNotFoundException", f"The type '{type_name}' cannot be found in the CloudFormation registry."
    )


def resource_not_found(type_name: str, identifier: str) -> CloudControlError:
    """No resource of that type has that identifier."""
    return CloudControlError(
        "ResourceNotFoundException",
        f"Resource of type '{type_name}' with identifier '{identifier}' was not found.",
    )


def invalid_request(message: str) -> CloudControlError:
    """The request itself is malformed or incomplete."""
    return CloudControlError("InvalidRequestException", message)


def unsupported_action(type_name: str, action: str) -> CloudControlError:
    """The type has no handler for this action."""
    return CloudControlError(
        "UnsupportedActionException", f"Resource type {type_name} does not support {action} action"
    )

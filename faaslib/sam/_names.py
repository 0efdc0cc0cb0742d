"""The names and ARNs a template's resources have when faaslib runs it: what ``Ref`` and
``Fn::GetAtt`` give for each, and the way back from such a value to the resource.

A resource is named by its name property (``QueueName``, ``FunctionName``, ...) when the
template gives one, else by its logical id (CloudFormation would add the stack's name and a
random suffix; a logical id is what the template's author knows it by).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["NAME_PROPERTIES", "Names"]

#: The property naming each kind of resource, and what makes a default name valid.
NAME_PROPERTIES = {
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Kinesis::Stream": "Name",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Serverless::SimpleTable": "TableName",
    "AWS::Events::Rule": "Name",
    "AWS::Events::EventBus": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Cognito::UserPool": "UserPoolName",
    "AWS::KinesisFirehose::DeliveryStream": "DeliveryStreamName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Serverless::StateMachine": "Name",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
}
_MACHINES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
#: Types whose ``Ref`` is their ARN.
_REF_ARN = frozenset({"AWS::SNS::Topic", *_MACHINES})
#: Types whose attributes faaslib knows all of: another attribute is a mistake.
_MODELLED = frozenset({"AWS::Serverless::Api", "AWS::Serverless::HttpApi"})
#: The APIs SAM makes for functions' Api and HttpApi events when the template declares none.
_IMPLICIT = {
    "ServerlessRestApi": "AWS::Serverless::Api",
    "ServerlessHttpApi": "AWS::Serverless::HttpApi",
}
#: What DynamoDB Streams labels a table's stream with (faaslib's tables use one label).
_STREAM_LABEL = "2026-01-01T00:00:00.000"


class Names:
    """Physical names, ``Ref`` values and attributes of a template's resources.

    :param resources: the template's ``Resources``
    :param resolve: resolves a property's value (intrinsic functions and all)
    """

    def __init__(
        self,
        resources: Mapping[str, Any],
        resolve: Callable[[Any, str], Any],
        *,
        region: str,
        account: str,
    ) -> None:
        self._resources = resources
        self._resolve = resolve
        self._region = region
        self._account = account
        self._names: dict[str, str] = {}
        self._naming: set[str] = set()

    def type_of(self, logical_id: str) -> str | None:
        resource = self._resources.get(logical_id)
        if isinstance(resource, Mapping):
            kind = resource.get("Type")
            return kind if isinstance(kind, str) else None
        return _IMPLICIT.get(logical_id)

    def properties(self, logical_id: str) -> Mapping[str, Any]:
        resource = self._resources.get(logical_id)
        properties = resource.get("Properties") if isinstance(resource, Mapping) else None
        return properties if isinstance(properties, Mapping) else {}

    def name(self, logical_id: str) -> str:
        """The resource's physical name (its name property, else derived from its id)."""
        if logical_id in self._names:
            return self._names[logical_id]
        kind = self.type_of(logical_id) or ""
        key = NAME_PROPERTIES.get(kind)
        given = self.properties(logical_id).get(key) if key else None
        if given is not None and logical_id not in self._naming:
            self._naming.add(logical_id)  # a name that refers to itself stays unresolved
            try:
                name = str(self._resolve(given, f"Resources.{logical_id}.Properties.{key}"))
            finally:
                self._naming.discard(logical_id)
        else:
            name = self._default_name(logical_id, kind)
        self._names[logical_id] = name
        return name

    def _default_name(self, logical_id: str, kind: str) -> str:
        properties = self.properties(logical_id)
        if kind == "AWS::SQS::Queue" and properties.get("FifoQueue") in (True, "true"):
            return logical_id + ".fifo"
        if kind == "AWS::SNS::Topic" and properties.get("FifoTopic") in (True, "true"):
            return logical_id + ".fifo"
        if kind == "AWS::S3::Bucket":
            return logical_id.lower()  # bucket names are lower case
        if kind in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi", "AWS::ApiGateway::RestApi"):
            return _api_id(logical_id)
        return logical_id

    def ref(self, logical_id: str) -> object | None:
        """What ``Ref`` gives for the resource, as CloudFormation documents it per type."""
        kind = self.type_of(logical_id)
        if kind is None:
            return None
        if kind == "AWS::SQS::Queue":
            return self._queue_url(logical_id)
        if kind in _REF_ARN:
            return self._arn(logical_id)
        return self.name(logical_id)

    def get_att(self, logical_id: str, attribute: str) -> object | None:
        """What ``Fn::GetAtt`` gives for the resource's attribute."""
        kind = self.type_of(logical_id)
        if kind is None:
            return None
        if attribute == "Arn" or (kind == "AWS::SNS::Topic" and attribute == "TopicArn"):
            return self._arn(logical_id)
        if attribute == "Name" and kind in _MACHINES:
            return self.name(logical_id)
        known: dict[str, Callable[[], object]] = {
            "QueueName": lambda: self.name(logical_id),
            "QueueUrl": lambda: self._queue_url(logical_id),
            "TopicName": lambda: self.name(logical_id),
            "StreamArn": lambda: f"{self._arn(logical_id)}/stream/{_STREAM_LABEL}",
            "DomainName": lambda: f"{self.name(logical_id)}.s3.amazonaws.com",
            "RegionalDomainName": lambda: (
                f"{self.name(logical_id)}.s3.{self._region}.amazonaws.com"
            ),
            "RootResourceId": lambda: _api_id(logical_id + "Root"),
            "ApiEndpoint": lambda: (
                f"https://{self.name(logical_id)}.execute-api.{self._region}.amazonaws.com"
            ),
            "FunctionUrl": lambda: (
                f"https://{_api_id(logical_id, 32)}.lambda-url.{self._region}.on.aws/"
            ),
        }
        value = known.get(attribute)
        if value is not None:
            return value()
        if kind not in NAME_PROPERTIES and kind not in _MODELLED:
            return f"{logical_id}.{attribute}"  # a placeholder: faaslib does not run the type
        return None

    def _queue_url(self, logical_id: str) -> str:
        return f"https://sqs.{self._region}.amazonaws.com/{self._account}/{self.name(logical_id)}"

    def _arn(self, logical_id: str) -> str:
        """The resource's ARN, in its service's format."""
        name = self.name(logical_id)
        kind = self.type_of(logical_id) or ""
        where = f"{self._region}:{self._account}"
        formats = {
            "AWS::Serverless::Function": f"arn:aws:lambda:{where}:function:{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{where}:function:{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{where}:{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{where}:{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::Kinesis::Stream": f"arn:aws:kinesis:{where}:stream/{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{where}:table/{name}",
            "AWS::Serverless::SimpleTable": f"arn:aws:dynamodb:{where}:table/{name}",
            "AWS::Events::Rule": f"arn:aws:events:{where}:rule/{name}",
            "AWS::Events::EventBus": f"arn:aws:events:{where}:event-bus/{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{where}:log-group:{name}:*",
            "AWS::KinesisFirehose::DeliveryStream": f"arn:aws:firehose:{where}:deliverystream/{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{self._account}:role/{name}",
            "AWS::Serverless::StateMachine": f"arn:aws:states:{where}:stateMachine:{name}",
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{where}:stateMachine:{name}",
        }
        found = formats.get(kind)
        if found is not None:
            return found
        service = kind.split("::")[1].lower() if kind.count("::") == 2 else "cloudformation"
        return f"arn:aws:{service}:{where}:{name}"

    def find(self, value: object, kinds: tuple[str, ...]) -> str | None:
        """The logical id of the resource of one of ``kinds`` whose ``Ref``, ARN, URL or
        stream ARN is ``value``."""
        for logical_id in self._resources:
            if self.type_of(logical_id) not in kinds:
                continue
            values = (
                self.ref(logical_id),
                self.name(logical_id),
                self.get_att(logical_id, "Arn"),
                self.get_att(logical_id, "StreamArn"),
            )
            if value in values:
                return logical_id
        return None


def _api_id(logical_id: str, length: int = 10) -> str:
    """A stable identifier of API Gateway's form (lower-case letters and digits)."""
    digest = hashlib.sha256(logical_id.encode()).hexdigest()
    return "".join(c if c.isdigit() else chr(ord("a") + int(c, 16) - 10) for c in digest)[:length]

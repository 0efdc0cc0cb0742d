"""Custom resource providers for tests/test_cloudformation.py: real handler code that reads
CloudFormation's request with Powertools and answers by PUTting its response to the
request's ``ResponseURL`` with urllib3, the way AWS's ``cfnresponse`` module answers (a JSON
body, an empty ``Content-Type``, the log stream's name as the default physical id)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import urllib3
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import (
    CloudFormationCustomResourceCreateModel,
    CloudFormationCustomResourceDeleteModel,
    CloudFormationCustomResourceUpdateModel,
)
from pydantic import BaseModel

import faaslib

SUCCESS = "SUCCESS"
FAILED = "FAILED"

MODELS: dict[str, type[BaseModel]] = {
    "Create": CloudFormationCustomResourceCreateModel,
    "Update": CloudFormationCustomResourceUpdateModel,
    "Delete": CloudFormationCustomResourceDeleteModel,
}


def send(
    event: dict[str, Any],
    context: Any,
    status: str,
    data: dict[str, Any] | None = None,
    physical_resource_id: str | None = None,
    *,
    no_echo: bool = False,
    reason: str | None = None,
) -> int:
    """PUT the response document to ``event["ResponseURL"]``; return the HTTP status."""
    document = {
        "Status": status,
        "Reason": reason or f"See the details in CloudWatch Log Stream: {context.log_stream_name}",
        "PhysicalResourceId": physical_resource_id or context.log_stream_name,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": no_echo,
        "Data": data or {},
    }
    return put(event["ResponseURL"], json.dumps(document).encode())


def put(url: str, body: bytes) -> int:
    """A PUT as ``cfnresponse`` makes it: an empty content type and the body's length."""
    with urllib3.PoolManager() as http:
        response = http.request(
            "PUT", url, body=body, headers={"content-type": "", "content-length": str(len(body))}
        )
        return response.status


def provider_registry(requests: list[dict[str, Any]]) -> faaslib.Registry:
    """A registry of providers; each appends the requests it receives to ``requests``.

    ``things``: a Powertools-parsed provider whose behaviour its properties choose
    (``Name`` its physical id, ``Fail`` answers FAILED with that reason (``Keep``: to a
    Delete), ``Silent`` never
    answers, ``Raw`` PUTs that text as the body, ``Crash`` raises before answering).
    ``echo``: reads the request with Powertools' data class and answers with urllib.
    """
    registry = faaslib.Registry()

    @registry.function(name="things", timeout=30)
    def things(event: dict[str, Any], context: faaslib.Context) -> None:
        requests.append(event)
        request: Any = parse(event=event, model=MODELS[event["RequestType"]])
        props = request.resource_properties
        if props.get("Crash"):
            raise RuntimeError(props["Crash"])
        if props.get("Silent"):
            return
        if props.get("Raw"):
            put(request.response_url.unicode_string(), props["Raw"].encode())
            return
        if props.get("Keep") and request.request_type == "Delete":
            send(
                event,
                context,
                FAILED,
                physical_resource_id=request.physical_resource_id,
                reason=props["Keep"],
            )
            return
        if props.get("Fail") and request.request_type != "Delete":
            physical_id = getattr(request, "physical_resource_id", None) or props.get("Name")
            send(event, context, FAILED, physical_resource_id=physical_id, reason=props["Fail"])
            return
        name = props.get("Name") or getattr(request, "physical_resource_id", None)
        data = {"Arn": f"arn:aws:things:::{name}", "Size": props.get("Size", "0")}
        send(
            event,
            context,
            SUCCESS,
            data,
            physical_resource_id=name,
            no_echo=bool(props.get("Secret")),
        )

    @registry.function(name="echo", timeout=30)
    def echo(raw: dict[str, Any], context: faaslib.Context) -> None:
        requests.append(raw)
        event = CloudFormationCustomResourceEvent(raw)
        physical_id = event.physical_resource_id or f"echo-{event.logical_resource_id}"
        document = {
            "Status": SUCCESS,
            "PhysicalResourceId": physical_id,
            "StackId": event.stack_id,
            "RequestId": event.request_id,
            "LogicalResourceId": event.logical_resource_id,
            "Data": {"Echo": event.resource_properties.get("Message", "")},
        }
        body = json.dumps(document).encode()
        request = urllib.request.Request(event.response_url, data=body, method="PUT")
        request.add_header("Content-Type", "")
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200

    return registry

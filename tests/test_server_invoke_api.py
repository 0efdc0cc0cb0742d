"""Lambda's Invoke API over real HTTP: faaslib's server on a loopback port, driven by boto3's
own ``lambda`` client (only ``endpoint_url`` changed)."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import httpx
import pytest

import faaslib
from faaslib.server import Server

registry = faaslib.Registry()
events_seen: list[Any] = []
event_arrived = threading.Event()


@registry.function(memory_size=256, timeout=5, description="Echoes its event")
def echo(event: Any, context: faaslib.Context) -> Any:
    print(f"echoing {event!r}")  # noqa: T201 - the log tail shows it
    return {"event": event, "version": context.function_version}


@registry.function
def record(event: Any) -> None:
    events_seen.append(event)
    event_arrived.set()


@registry.function
def fails(event: Any) -> None:
    raise ValueError("it broke")


@registry.function(reserved_concurrency=0)
def throttled(event: Any) -> None:
    pass


registry.publish_version("echo")
registry.create_alias("echo", "live", "1")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server(registry) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[Any]:
    lambda_client = boto3.client(
        "lambda",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
    )
    yield lambda_client
    lambda_client.close()


def test_request_response(client: Any) -> None:
    response = client.invoke(FunctionName="echo", Payload=json.dumps({"n": 1}))
    assert response["StatusCode"] == 200
    assert json.loads(response["Payload"].read()) == {"event": {"n": 1}, "version": "$LATEST"}
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    assert len(response["ResponseMetadata"]["RequestId"]) == 36


def test_event_is_accepted_and_runs(client: Any) -> None:
    event_arrived.clear()
    response = client.invoke(FunctionName="record", InvocationType="Event", Payload=b'"later"')
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    assert event_arrived.wait(10)
    assert events_seen[-1] == "later"


def test_dry_run(client: Any) -> None:
    response = client.invoke(FunctionName="echo", InvocationType="DryRun")
    assert response["StatusCode"] == 204
    assert response["Payload"].read() == b""


def test_log_tail(client: Any) -> None:
    response = client.invoke(FunctionName="echo", Payload=b"[1]", LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    request_id = response["ResponseMetadata"]["RequestId"]
    assert f"START RequestId: {request_id} Version: $LATEST" in log
    assert "echoing [1]" in log
    assert f"REPORT RequestId: {request_id}" in log


def test_function_error(client: Any) -> None:
    response = client.invoke(FunctionName="fails", Payload=b"{}")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    document = json.loads(response["Payload"].read())
    assert document["errorType"] == "ValueError"
    assert document["errorMessage"] == "it broke"


@pytest.mark.parametrize(
    ("function_name", "qualifier"),
    [
        ("echo", "live"),
        ("echo:live", None),
        ("echo", "1"),
        ("arn:aws:lambda:us-east-1:123456789012:function:echo:live", None),
        ("123456789012:function:echo", "1"),
    ],
)
def test_qualifiers(client: Any, function_name: str, qualifier: str | None) -> None:
    options = {"Qualifier": qualifier} if qualifier else {}
    response = client.invoke(FunctionName=function_name, Payload=b"{}", **options)
    assert response["ExecutedVersion"] == "1"
    assert json.loads(response["Payload"].read())["version"] == "1"


def test_unknown_function(client: Any) -> None:
    with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
        client.invoke(FunctionName="nope", Payload=b"{}")
    error = caught.value.response["Error"]
    assert error["Message"].startswith("Function not found: arn:aws:lambda:us-east-1:")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_body_that_is_not_json(client: Any) -> None:
    with pytest.raises(client.exceptions.InvalidRequestContentException) as caught:
        client.invoke(FunctionName="echo", Payload=b"{not json")
    assert caught.value.response["Error"]["Message"].startswith(
        "Could not parse request body into json"
    )


def test_throttled(client: Any) -> None:
    with pytest.raises(client.exceptions.TooManyRequestsException) as caught:
        client.invoke(FunctionName="throttled", Payload=b"{}")
    assert caught.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_payload_over_the_limit(client: Any) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.invoke(FunctionName="echo", Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert caught.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert caught.value.response["Error"]["Message"] == (
        "6291458 byte payload is too large for the RequestResponse invocation type "
        "(limit 6291456 bytes)"
    )


def test_list_and_get_functions(client: Any) -> None:
    listed = client.list_functions()["Functions"]
    assert sorted(f["FunctionName"] for f in listed) == ["echo", "fails", "record", "throttled"]
    configuration = client.get_function(FunctionName="echo")["Configuration"]
    assert configuration["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:echo"
    assert (configuration["MemorySize"], configuration["Timeout"]) == (256, 5)
    assert configuration["Description"] == "Echoes its event"
    assert configuration["Handler"] == "test_server_invoke_api.echo"
    assert configuration["Version"] == "$LATEST"
    version = client.get_function(FunctionName="echo", Qualifier="live")["Configuration"]
    assert version["Version"] == "1"
    assert version["FunctionArn"].endswith(":function:echo:live")
    throttled = client.get_function(FunctionName="throttled")
    assert throttled["Concurrency"] == {"ReservedConcurrentExecutions": 0}
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function(FunctionName="nope")


def test_bad_requests_over_raw_http(server: Server) -> None:
    url = f"{server.url}/2015-03-31/functions/echo/invocations"
    with httpx.Client() as http:
        bad_type = http.post(url, content=b"{}", headers={"X-Amz-Invocation-Type": "Sometimes"})
        bad_log = http.post(url, content=b"{}", headers={"X-Amz-Log-Type": "Everything"})
        bad_context = http.post(url, content=b"{}", headers={"X-Amz-Client-Context": "%%%"})
        wrong_method = http.get(url)
        unknown = http.post(f"{server.url}/2015-03-31/functions/echo/nothing")
    for response in (bad_type, bad_log, bad_context):
        assert response.status_code == 400, response.text
        assert response.headers["x-amzn-ErrorType"] in (
            "InvalidParameterValueException",
            "InvalidRequestContentException",
            "ValidationException",
        )
    for response in (wrong_method, unknown):
        assert response.status_code == 404
        assert response.headers["x-amzn-ErrorType"] == "UnknownOperationException"


def test_an_oversized_body_is_refused_while_it_is_read(server: Server) -> None:
    # A chunked body with no Content-Length, sent up to just past the 6 MB limit and then
    # held: the answer comes while the client still has more to send, so the server stopped
    # at the limit rather than waiting to read (and hold) the whole body.
    limit = 6 * 1024 * 1024
    with socket.create_connection((server.host, server.port), timeout=30) as connection:
        connection.sendall(
            b"POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\n"
            b"Host: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 65536
        for _ in range(limit // len(chunk) + 1):
            connection.sendall(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        answer = connection.recv(65536)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert b"x-amzn-errortype: " in rest.lower()


def test_the_server_runs_the_registrys_event_sources() -> None:
    # A whole local Lambda service: the invoker the server opens runs the mappings too.
    jobs = faaslib.Queue("jobs")
    done = threading.Event()
    bodies: list[str] = []
    service = faaslib.Registry()

    @service.function(events=[faaslib.SQS(jobs)])
    def work(event: dict[str, Any]) -> None:
        bodies.extend(record["body"] for record in event["Records"])
        done.set()

    with Server(service):
        jobs.send("from outside the server")  # this thread; the server's loop polls the queue
        assert done.wait(10)
    assert bodies == ["from outside the server"]

"""CloudFormation custom resources: a stack sends Create, Update and Delete to the
ServiceToken function (invocation type Event) and reads the response the function PUTs to
the request's ResponseURL, as CloudFormation does."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest
import urllib3
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent
from cfn_handlers import MODELS, provider_registry, put

import faaslib
from faaslib._services.cloudformation import (
    CustomResourceFailed,
    CustomResourceStack,
    cloudformation_custom_resource,
)

T0 = 1_800_000_000.0
ARN = "arn:aws:lambda:us-east-1:123456789012:function:things"
STACK_ID = re.compile(
    r"arn:aws:cloudformation:us-east-1:123456789012:stack/app/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"
)
NO_RESPONSE = (
    "CloudFormation did not receive a response from your Custom Resource. Please check your "
    "logs for requestId [{}]. If you are using the Python cfn-response module, you may need to "
    "update your Lambda function code so that CloudFormation can attach the updated version."
)


def check_shape(request: dict[str, Any]) -> None:
    """The request is what CloudFormation sends, as Powertools reads it."""
    model: Any = MODELS[request["RequestType"]].model_validate(request)
    assert model.service_token == request["ResourceProperties"]["ServiceToken"]
    assert str(model.response_url).startswith("http://127.0.0.1:")
    view = CloudFormationCustomResourceEvent(request)
    assert view.request_type == request["RequestType"]
    assert STACK_ID.fullmatch(view.stack_id)
    keys = ["RequestType", "ServiceToken", "ResponseURL", "StackId", "RequestId"]
    keys += ["LogicalResourceId"]
    keys += [] if view.request_type == "Create" else ["PhysicalResourceId"]
    keys += ["ResourceType", "ResourceProperties"]
    keys += ["OldResourceProperties"] if view.request_type == "Update" else []
    assert list(request) == keys


async def test_create_update_delete_round_trip() -> None:
    requests: list[dict[str, Any]] = []
    clock = faaslib.VirtualClock(T0)
    async with faaslib.Invoker(provider_registry(requests), clock=clock) as invoker:
        with CustomResourceStack("app") as stack:
            made = await stack.create(
                invoker,
                "Thing",
                service_token="things",
                properties={"Name": "t-1", "Size": 3, "Tags": [True, {"k": 1.5}]},
                resource_type="Custom::Thing",
            )
            assert made.physical_resource_id == stack.ref("Thing") == "t-1"
            assert stack.get_att("Thing", "Arn") == "arn:aws:things:::t-1"
            assert stack.get_att("Thing", "Size") == "3"  # sent as a string, as CFN does
            changed = await stack.update(
                invoker, "Thing", properties={"Name": "t-1", "Size": 4, "Tags": []}
            )
            same = await stack.update(
                invoker, "Thing", properties={"Name": "t-1", "Size": "4", "Tags": []}
            )
            assert same is changed  # nothing changed: nothing sent
            assert stack.get_att("Thing", "Size") == "4"
            gone = await stack.delete(invoker, "Thing")
            assert gone == changed
            assert dict(stack.resources) == {}
    create, update, delete = requests
    for request in requests:
        check_shape(request)
        assert request["ServiceToken"] == ARN
        assert request["StackId"] == stack.stack_id
        assert request["LogicalResourceId"] == "Thing"
        assert request["ResourceType"] == "Custom::Thing"
    assert create["ResourceProperties"] == {
        "ServiceToken": ARN,
        "Name": "t-1",
        "Size": "3",
        "Tags": ["true", {"k": "1.5"}],
    }
    assert update["PhysicalResourceId"] == "t-1"
    assert update["OldResourceProperties"] == create["ResourceProperties"]
    assert update["ResourceProperties"] == {
        "ServiceToken": ARN,
        "Name": "t-1",
        "Size": "4",
        "Tags": [],
    }
    assert delete["PhysicalResourceId"] == "t-1"
    assert delete["ResourceProperties"] == update["ResourceProperties"]
    assert len({r["RequestId"] for r in requests}) == 3
    assert [(e.resource_status, e.physical_resource_id) for e in stack.events] == [
        ("CREATE_IN_PROGRESS", ""),
        ("CREATE_COMPLETE", "t-1"),
        ("UPDATE_IN_PROGRESS", "t-1"),
        ("UPDATE_COMPLETE", "t-1"),
        ("DELETE_IN_PROGRESS", "t-1"),
        ("DELETE_COMPLETE", "t-1"),
    ]
    assert {e.timestamp for e in stack.events} == {T0}


async def test_the_stack_follows_the_invokers_site_and_invokes_as_its_account() -> None:
    requests: list[dict[str, Any]] = []
    invoker = faaslib.Invoker(
        provider_registry(requests),
        region="eu-west-1",
        account_id="111122223333",
        check_permissions=True,
    )
    async with invoker:
        with CustomResourceStack("app") as stack:
            await stack.create(invoker, "Thing", service_token="things", properties={"Name": "a"})
        assert stack.stack_id.startswith("arn:aws:cloudformation:eu-west-1:111122223333:stack/app/")
        assert (
            requests[0]["ServiceToken"] == "arn:aws:lambda:eu-west-1:111122223333:function:things"
        )
        foreign = CustomResourceStack("other", account_id="444455556666")
        with foreign, pytest.raises(CustomResourceFailed) as failed:
            await foreign.create(
                invoker,
                "Thing",
                service_token="arn:aws:lambda:eu-west-1:111122223333:function:things",
            )
    assert failed.value.reason.startswith("AccessDeniedException: ")
    assert len(requests) == 1


async def test_a_failed_create_raises_its_reason_and_is_rolled_back() -> None:
    requests: list[dict[str, Any]] = []
    async with faaslib.Invoker(provider_registry(requests)) as invoker:
        with CustomResourceStack("app") as stack:
            with pytest.raises(CustomResourceFailed) as failed:
                await stack.create(
                    invoker,
                    "Thing",
                    service_token="things",
                    properties={"Name": "half-made", "Fail": "Quota exceeded"},
                )
            error = failed.value
            assert error.status == "CREATE_FAILED"
            assert error.reason == (
                "Received response status [FAILED] from custom resource. Message returned: "
                f"Quota exceeded (RequestId: {requests[0]['RequestId']})"
            )
            assert str(error) == f"Thing CREATE_FAILED: {error.reason}"
            assert error.response is not None
            assert error.response["Status"] == "FAILED"
            assert isinstance(error, faaslib.FaaslibError)
            # CloudFormation's rollback deletes what the failed create named
            create, rollback = requests
            assert rollback["RequestType"] == "Delete"
            assert rollback["PhysicalResourceId"] == "half-made"
            assert rollback["ResourceProperties"] == create["ResourceProperties"]
            assert dict(stack.resources) == {}
            assert [e.resource_status for e in stack.events] == [
                "CREATE_IN_PROGRESS",
                "CREATE_FAILED",
                "DELETE_IN_PROGRESS",
                "DELETE_COMPLETE",
            ]
        kept = CustomResourceStack("kept", rollback=False)
        with kept, pytest.raises(CustomResourceFailed):
            await kept.create(invoker, "Thing", service_token="things", properties={"Fail": "no"})
    assert len(requests) == 3  # no rollback without it


async def test_a_failed_update_keeps_the_resource_as_it_was() -> None:
    requests: list[dict[str, Any]] = []
    async with faaslib.Invoker(provider_registry(requests)) as invoker:
        with CustomResourceStack("app") as stack:
            before = await stack.create(
                invoker, "Thing", service_token="things", properties={"Name": "a"}
            )
            with pytest.raises(CustomResourceFailed) as failed:
                await stack.update(invoker, "Thing", properties={"Name": "b", "Fail": "nope"})
            assert failed.value.status == "UPDATE_FAILED"
            assert stack.resource("Thing") == before
            assert stack.events[-1].resource_status == "UPDATE_FAILED"


async def test_a_new_physical_id_on_update_deletes_the_old_resource_after_it() -> None:
    requests: list[dict[str, Any]] = []
    async with faaslib.Invoker(provider_registry(requests)) as invoker:
        with CustomResourceStack("app") as stack:
            await stack.create(
                invoker, "Thing", service_token="things", properties={"Name": "old", "Size": 1}
            )
            new = await stack.update(invoker, "Thing", properties={"Name": "new", "Size": 2})
            assert new.physical_resource_id == stack.ref("Thing") == "new"
            assert stack.get_att("Thing", "Arn") == "arn:aws:things:::new"
    create, update, cleanup = requests
    assert update["PhysicalResourceId"] == "old"
    assert cleanup["RequestType"] == "Delete"
    assert cleanup["PhysicalResourceId"] == "old"
    assert cleanup["ResourceProperties"] == create["ResourceProperties"]  # the old ones
    check_shape(cleanup)
    assert [(e.resource_status, e.physical_resource_id) for e in stack.events][-4:] == [
        ("UPDATE_IN_PROGRESS", "old"),
        ("UPDATE_COMPLETE", "new"),
        ("DELETE_IN_PROGRESS", "old"),
        ("DELETE_COMPLETE", "old"),
    ]


async def test_a_failed_cleanup_delete_leaves_the_update_standing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    requests: list[dict[str, Any]] = []
    async with faaslib.Invoker(provider_registry(requests)) as invoker:
        with CustomResourceStack("app") as stack:
            await stack.create(
                invoker,
                "Thing",
                service_token="things",
                properties={"Name": "old", "Keep": "in use"},
            )
            new = await stack.update(invoker, "Thing", properties={"Name": "new"})
    assert new.physical_resource_id == "new"
    assert stack.events[-1].resource_status == "DELETE_FAILED"
    assert stack.events[-1].resource_status_reason == (
        "Received response status [FAILED] from custom resource. Message returned: in use "
        f"(RequestId: {requests[-1]['RequestId']})"
    )
    assert stack.events[-1].physical_resource_id == "old"
    assert "could not delete the replaced Thing (old)" in caplog.text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "Response is not valid JSON"),
        ("[1, 2]", "Response is not valid JSON"),
        (
            (
                '{"Status": "FAILURE", "PhysicalResourceId": "p", "StackId": "s", '
                '"RequestId": "r", "LogicalResourceId": "l"}'
            ),
            "Invalid Response object: 'FAILURE' is not a valid ResponseStatus",
        ),
        (
            '{"Status": "SUCCESS", "StackId": "s", "RequestId": "r", "LogicalResourceId": "l"}',
            "Invalid PhysicalResourceId",
        ),
        (
            (
                '{"Status": "FAILED", "PhysicalResourceId": "", "Reason": "x", "StackId": "s", '
                '"RequestId": "r", "LogicalResourceId": "l"}'
            ),
            "Invalid PhysicalResourceId",
        ),
        (
            (
                '{"Status": "SUCCESS", "PhysicalResourceId": "p", "RequestId": "r", '
                '"LogicalResourceId": "l"}'
            ),
            "Invalid Response object: StackId is required",
        ),
        ('{"Status": "SUCCESS", "Reason": "' + "x" * 4096 + '"}', "Response object is too long."),
    ],
)
async def test_responses_cloudformation_cannot_read_fail_the_resource(
    body: str, reason: str
) -> None:
    requests: list[dict[str, Any]] = []
    async with faaslib.Invoker(provider_registry(requests)) as invoker:
        stack = CustomResourceStack("app")
        with stack, pytest.raises(CustomResourceFailed) as failed:
            await stack.create(invoker, "Thing", service_token="things", properties={"Raw": body})
    assert failed.value.reason == reason
    assert failed.value.response is None
    assert len(requests) == 1  # nothing to roll back


async def until(invoker: faaslib.Invoker, condition: Callable[[], bool]) -> None:
    """Let the tasks run until ``condition()`` holds, then until the invoker has drained
    (up to 5 s)."""
    with anyio.fail_after(5):
        while not condition():
            await invoker.drain()
            await anyio.sleep(0.001)
        await invoker.drain()


async def test_no_response_times_out_on_the_stacks_clock() -> None:
    requests: list[dict[str, Any]] = []
    clock = faaslib.VirtualClock(T0)
    outcome: list[BaseException] = []

    async def create(stack: CustomResourceStack, properties: dict[str, Any]) -> None:
        try:
            await stack.create(invoker, "Thing", service_token="things", properties=properties)
        except CustomResourceFailed as exc:
            outcome.append(exc)

    async with faaslib.Invoker(provider_registry(requests), clock=clock) as invoker:
        with CustomResourceStack("app") as stack:
            async with anyio.create_task_group() as tg:
                tg.start_soon(create, stack, {"Silent": "yes"})
                await until(invoker, lambda: len(requests) == 1)
                clock.advance(3599)
                await anyio.sleep(0.01)  # the stack would wake now if it were due
                assert outcome == []
                clock.advance(1)  # CloudFormation's hour
            [failed] = outcome
            assert isinstance(failed, CustomResourceFailed)
            assert failed.reason == NO_RESPONSE.format(requests[0]["RequestId"])
            assert stack.events[-1].resource_status == "CREATE_FAILED"
            assert stack.events[-1].timestamp == T0 + 3600
            async with anyio.create_task_group() as tg:  # the resource's own ServiceTimeout
                tg.start_soon(create, stack, {"Silent": "yes", "ServiceTimeout": 60})
                await until(invoker, lambda: len(requests) == 2)
                clock.advance(60)
            assert len(outcome) == 2
        own_clock = faaslib.VirtualClock(T0)
        with CustomResourceStack("quick", clock=own_clock, timeout=5) as quick:
            async with anyio.create_task_group() as tg:
                tg.start_soon(create, quick, {"Silent": "yes"})
                await until(invoker, lambda: len(requests) == 3)
                assert quick.clock is own_clock
                own_clock.advance(5)
            assert len(outcome) == 3


async def test_a_crashing_provider_is_retried_as_an_event_and_the_stack_waits() -> None:
    requests: list[dict[str, Any]] = []
    clock = faaslib.VirtualClock(T0)
    outcome: list[BaseException] = []
    async with faaslib.Invoker(provider_registry(requests), clock=clock) as invoker:
        with CustomResourceStack("app") as stack:

            async def create() -> None:
                try:
                    await stack.create(
                        invoker, "Thing", service_token="things", properties={"Crash": "boom"}
                    )
                except CustomResourceFailed as exc:
                    outcome.append(exc)

            async with anyio.create_task_group() as tg:
                tg.start_soon(create)
                await until(invoker, lambda: len(requests) == 1)
                clock.advance(60)  # Lambda's retries of an Event invocation
                await until(invoker, lambda: len(requests) == 2)
                clock.advance(120)
                await until(invoker, lambda: len(requests) == 3)
                assert outcome == []
                clock.advance(3420)
    assert [r["RequestId"] for r in requests] == [requests[0]["RequestId"]] * 3
    assert "did not receive a response" in str(outcome[0])


async def test_a_provider_using_powertools_data_class_and_urllib() -> None:
    requests: list[dict[str, Any]] = []
    invoker = faaslib.Invoker(provider_registry(requests))
    async with invoker, CustomResourceStack("app") as stack:
        made = await stack.create(
            invoker, "Hello", service_token=f"{ARN[:-6]}echo", properties={"Message": "hi"}
        )
        assert made.physical_resource_id == "echo-Hello"
        secret = await stack.create(
            invoker, "Key", service_token="things", properties={"Name": "k", "Secret": True}
        )
        assert secret.no_echo
        assert not made.no_echo
        assert stack.get_att("Hello", "Echo") == "hi"
        assert made.resource_type == "AWS::CloudFormation::CustomResource"
    check_shape(requests[0])


async def test_the_response_url_takes_only_a_signed_put() -> None:
    requests: list[dict[str, Any]] = []
    async with faaslib.Invoker(provider_registry(requests)) as invoker:
        with CustomResourceStack("app") as stack:
            with pytest.raises(CustomResourceFailed):
                await stack.create(
                    invoker, "Thing", service_token="things", properties={"Raw": "x"}
                )
            url = requests[0]["ResponseURL"]
            assert re.search(r"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=\d{8}T\d{6}Z", url)
            assert "%7CThing%7C" in url
            assert put(url, b"late") == 200  # accepted, and ignored: the request is over
            assert put(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), b"{}") == 403
            with urllib3.PoolManager() as http:
                got = http.request("GET", url)
            assert got.status == 403
            assert b"<Code>AccessDenied</Code>" in got.data
        with (
            pytest.raises(urllib3.exceptions.MaxRetryError),
            urllib3.PoolManager(retries=0) as http,
        ):
            http.request("PUT", url, body=b"{}")  # the stack closed its server


async def test_operations_refused_before_anything_is_sent() -> None:
    requests: list[dict[str, Any]] = []
    async with faaslib.Invoker(provider_registry(requests)) as invoker:
        with CustomResourceStack("app") as stack:
            with pytest.raises(faaslib.TemplateError, match="Resource name my-thing is non alpha"):
                await stack.create(invoker, "my-thing", service_token="things")
            with pytest.raises(faaslib.TemplateError, match=r"Unrecognized resource types: \[X\]"):
                await stack.create(invoker, "Thing", service_token="things", resource_type="X")
            with pytest.raises(faaslib.InvalidParameterValueException, match="ServiceToken"):
                await stack.create(
                    invoker, "Thing", service_token="things", properties={"ServiceToken": "x"}
                )
            with pytest.raises(faaslib.ValidationException, match="ServiceTimeout"):
                await stack.create(
                    invoker, "Thing", service_token="things", properties={"ServiceTimeout": 7200}
                )
            with pytest.raises(CustomResourceFailed, match="ResourceNotFoundException: Function"):
                await stack.create(invoker, "Thing", service_token="nothing")
            await stack.create(invoker, "Thing", service_token="things", properties={"Name": "a"})
            with pytest.raises(faaslib.TemplateError, match="already exists"):
                await stack.create(invoker, "Thing", service_token="things")
            with pytest.raises(faaslib.TemplateError, match="Modifying service token"):
                await stack.update(invoker, "Thing", properties={}, service_token="echo")
            with pytest.raises(faaslib.TemplateError, match="Update of resource type"):
                await stack.update(invoker, "Thing", properties={}, resource_type="Custom::Y")
            with pytest.raises(faaslib.TemplateError, match="Resource Other does not exist"):
                await stack.delete(invoker, "Other")
            with pytest.raises(faaslib.TemplateError, match="doesn't contain Nope key"):
                stack.get_att("Thing", "Nope")
    assert len(requests) == 1
    with pytest.raises(faaslib.ValidationException, match="stackName"):
        CustomResourceStack("1st")


@pytest.mark.parametrize("request_type", ["Create", "Update", "Delete"])
def test_the_event_factory_builds_what_powertools_reads(request_type: Any) -> None:
    event = cloudformation_custom_resource(
        request_type, {"Size": 2}, old_properties={"Size": 1}, logical_id="Disk"
    )
    model: Any = MODELS[request_type].model_validate(event)
    assert model.resource_properties == {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:custom-resource-provider",
        "Size": "2",
    }
    assert model.logical_resource_id == "Disk"
    if request_type == "Update":
        assert model.old_resource_properties["Size"] == "1"
    view = CloudFormationCustomResourceEvent(event)
    assert view.stack_id.startswith("arn:aws:cloudformation:us-east-1:123456789012:stack/my-stack/")
    assert view.response_url.startswith("https://cloudformation-custom-resource-response-useast1.")

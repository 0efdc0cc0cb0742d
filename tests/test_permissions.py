"""Resource-based policies (issue 16): ``Registry.add_permission`` as Lambda's AddPermission,
and an invoker with ``check_permissions=True`` refusing, before anything runs, an invocation
no statement allows; sources invoke as their service principal."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import faaslib

OTHER = "111122223333"
BOB = f"arn:aws:iam::{OTHER}:user/bob"
OWN = "arn:aws:iam::123456789012:role/app"


def counting_registry(calls: list[Any]) -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function
    def guarded(event: dict[str, Any]) -> str:
        calls.append(event)
        return "ran"

    registry.publish_version("guarded")
    registry.create_alias("guarded", "prod", "1")
    return registry


# -- the policy --------------------------------------------------------------------------------


def test_add_permission_writes_lambdas_statement() -> None:
    registry = counting_registry([])
    statement = registry.add_permission(
        "guarded",
        "uploads",
        "s3.amazonaws.com",
        source_arn="arn:aws:s3:::uploads-*",
        source_account="123456789012",
    )
    registry.add_permission("guarded", "partner", OTHER, qualifier="prod")
    resource = "arn:aws:lambda:us-east-1:123456789012:function:guarded"
    assert statement.document(resource) == {
        "Sid": "uploads",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": resource,
        "Condition": {
            "StringEquals": {"AWS:SourceAccount": "123456789012"},
            "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads-*"},
        },
    }
    assert registry.policy("guarded") == (statement,)
    (partner,) = registry.policy("guarded", qualifier="prod")
    assert partner.document(f"{resource}:prod")["Principal"] == {
        "AWS": f"arn:aws:iam::{OTHER}:root"
    }
    assert "Condition" not in partner.document(resource)
    assert faaslib.PolicyStatement("all", "*").document(resource)["Principal"] == "*"


@pytest.mark.parametrize(
    ("call", "error", "status"),
    [
        pytest.param({"name": "missing"}, faaslib.ResourceNotFoundException, 404, id="function"),
        pytest.param({"qualifier": "7"}, faaslib.ResourceNotFoundException, 404, id="version"),
        pytest.param({"qualifier": "beta"}, faaslib.ResourceNotFoundException, 404, id="alias"),
        pytest.param(
            {"qualifier": "$LATEST"}, faaslib.InvalidParameterValueException, 400, id="latest"
        ),
        pytest.param({"statement_id": "no spaces"}, faaslib.ValidationException, 400, id="sid"),
        pytest.param({"action": "s3:GetObject"}, faaslib.ValidationException, 400, id="action"),
        pytest.param({"principal": "a b"}, faaslib.ValidationException, 400, id="principal"),
        pytest.param({"source_arn": "bucket"}, faaslib.ValidationException, 400, id="arn"),
        pytest.param({"source_account": "12"}, faaslib.ValidationException, 400, id="account"),
        pytest.param({"statement_id": "taken"}, faaslib.ResourceConflictException, 409, id="dup"),
    ],
)
def test_add_permission_refuses_what_lambda_refuses(
    call: dict[str, Any], error: type[faaslib.FaaslibError], status: int
) -> None:
    registry = counting_registry([])
    registry.add_permission("guarded", "taken", OTHER)
    arguments: dict[str, Any] = {"name": "guarded", "statement_id": "new", "principal": OTHER}
    arguments.update(call)
    name = arguments.pop("name")
    generation = registry.generation
    with pytest.raises(error) as raised:
        registry.add_permission(name, **arguments)
    assert raised.value.status_code == status
    assert registry.generation == generation  # nothing changed
    assert len(registry.policy("guarded")) == 1


def test_remove_permission() -> None:
    registry = counting_registry([])
    registry.add_permission("guarded", "partner", OTHER)
    registry.remove_permission("guarded", "partner")
    assert registry.policy("guarded") == ()
    with pytest.raises(faaslib.ResourceNotFoundException, match="Statement partner is not found"):
        registry.remove_permission("guarded", "partner")


def test_include_keeps_the_policies_under_the_new_names() -> None:
    inner = counting_registry([])
    inner.add_permission("guarded", "partner", OTHER)
    outer = faaslib.Registry()
    outer.include(inner, prefix="shop-")
    assert [s.sid for s in outer.policy("shop-guarded")] == ["partner"]


# -- the check ---------------------------------------------------------------------------------


async def test_an_invocation_no_statement_allows_is_refused_before_it_runs() -> None:
    calls: list[Any] = []
    registry = counting_registry(calls)
    async with faaslib.Invoker(registry, check_permissions=True) as invoker:
        for invocation_type in ("RequestResponse", "Event", "DryRun"):
            with pytest.raises(faaslib.AccessDeniedException) as denied:
                await invoker.invoke("guarded", {}, invocation_type, principal=BOB)
            assert denied.value.status_code == 403
            assert denied.value.error_type == "AccessDeniedException"
            assert str(denied.value) == (
                f"User: {BOB} is not authorized to perform: lambda:InvokeFunction on resource: "
                "arn:aws:lambda:us-east-1:123456789012:function:guarded because no "
                "resource-based policy allows the lambda:InvokeFunction action"
            )
        with pytest.raises(faaslib.AccessDeniedException, match="name the caller"):
            await invoker.invoke("guarded", {})  # who is calling must be said
        await invoker.drain()
        stats = invoker.statistics()
    assert calls == []
    assert stats.invocations == 0


@pytest.mark.parametrize("principal", ["123456789012", OWN, "arn:aws:sts::123456789012:x/y"])
async def test_the_functions_own_account_needs_no_statement(principal: str) -> None:
    # Its identities are governed by IAM identity policies, which faaslib does not model.
    async with faaslib.Invoker(counting_registry([]), check_permissions=True) as invoker:
        result = await invoker.invoke("guarded", {}, principal=principal)
    assert result.json() == "ran"


async def test_an_account_statement_allows_that_accounts_identities_only() -> None:
    registry = counting_registry([])
    registry.add_permission("guarded", "partner", OTHER)
    registry.add_permission("guarded", "carol", "arn:aws:iam::444455556666:user/carol")
    async with faaslib.Invoker(registry, check_permissions=True) as invoker:
        for allowed in (
            OTHER,
            BOB,
            f"arn:aws:iam::{OTHER}:root",
            "arn:aws:iam::444455556666:user/carol",
        ):
            assert (await invoker.invoke("guarded", {}, principal=allowed)).json() == "ran"
        for denied in ("999988887777", "arn:aws:iam::444455556666:user/dave", "s3.amazonaws.com"):
            with pytest.raises(faaslib.AccessDeniedException):
                await invoker.invoke("guarded", {}, principal=denied)


async def test_a_qualified_statement_allows_that_qualifier_only() -> None:
    registry = counting_registry([])
    registry.add_permission("guarded", "prod-only", OTHER, qualifier="prod")
    async with faaslib.Invoker(registry, check_permissions=True) as invoker:
        result = await invoker.invoke("guarded", {}, qualifier="prod", principal=BOB)
        assert result.executed_version == "1"
        arn = "arn:aws:lambda:us-east-1:123456789012:function:guarded:prod"
        assert (await invoker.invoke(arn, {}, principal=BOB)).json() == "ran"
        for qualifier in (None, "1", "$LATEST"):
            with pytest.raises(faaslib.AccessDeniedException):
                await invoker.invoke("guarded", {}, qualifier=qualifier, principal=BOB)


async def test_a_service_statement_with_source_conditions() -> None:
    registry = counting_registry([])
    registry.add_permission(
        "guarded",
        "uploads",
        "s3.amazonaws.com",
        source_arn="arn:aws:s3:::uploads-?-*",
        source_account="123456789012",
    )
    registry.add_permission("guarded", "alarms", "sns.amazonaws.com", source_account="123456789012")
    async with faaslib.Invoker(registry, check_permissions=True) as invoker:
        ok = await invoker.invoke(
            "guarded", {}, principal="s3.amazonaws.com", source_arn="arn:aws:s3:::uploads-1-x"
        )
        assert ok.json() == "ran"
        topic = "arn:aws:sns:us-east-1:123456789012:alarms"
        assert (
            await invoker.invoke("guarded", {}, principal="sns.amazonaws.com", source_arn=topic)
        ).json() == "ran"
        for principal, source in [
            ("s3.amazonaws.com", "arn:aws:s3:::uploads-12-x"),  # ? is one character
            ("s3.amazonaws.com", "arn:aws:s3:::other"),
            ("s3.amazonaws.com", None),  # a condition on the source needs one
            ("sns.amazonaws.com", f"arn:aws:sns:us-east-1:{OTHER}:alarms"),  # another account's
            ("lambda.amazonaws.com", None),  # only faaslib's own invocations pass as Lambda
        ]:
            with pytest.raises(faaslib.AccessDeniedException):
                await invoker.invoke("guarded", {}, principal=principal, source_arn=source)


async def test_a_statement_added_while_the_invoker_runs_applies_at_once() -> None:
    registry = counting_registry([])
    async with faaslib.Invoker(registry, check_permissions=True) as invoker:
        with pytest.raises(faaslib.AccessDeniedException):
            await invoker.invoke("guarded", {}, principal=BOB)
        registry.add_permission("guarded", "partner", OTHER)
        assert (await invoker.invoke("guarded", {}, principal=BOB)).json() == "ran"
        registry.remove_permission("guarded", "partner")
        with pytest.raises(faaslib.AccessDeniedException):
            await invoker.invoke("guarded", {}, principal=BOB)


async def test_without_the_check_principals_are_not_looked_at() -> None:
    async with faaslib.Invoker(counting_registry([])) as invoker:
        assert (await invoker.invoke("guarded", {}, principal=BOB)).json() == "ran"
        assert (await invoker.invoke("guarded", {})).json() == "ran"


def test_the_blocking_invoker_passes_the_principal() -> None:
    registry = counting_registry([])
    registry.add_permission("guarded", "partner", OTHER)
    with faaslib.BlockingInvoker(faaslib.Invoker(registry, check_permissions=True)) as invoker:
        assert invoker.invoke("guarded", {}, principal=BOB).json() == "ran"
        with pytest.raises(faaslib.AccessDeniedException):
            invoker.invoke("guarded", {}, principal="999988887777")


# -- sources -----------------------------------------------------------------------------------

UPLOADS = faaslib.Bucket("permission-uploads")
WIRED = faaslib.Bucket("permission-wired")
DIGESTS = faaslib.Queue("permission-digests")


def source_registry(seen: list[str]) -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function(events=[faaslib.S3(UPLOADS)])
    def listed(event: dict[str, Any]) -> None:
        seen.append("listed:" + event["Records"][0]["s3"]["object"]["key"])

    # As a template wiring the bucket's notification by CloudFormation alone: no implicit
    # permission, as no AWS::Lambda::Permission comes with it.
    @registry.function(events=[faaslib.S3(WIRED, implicit_permission=False)])
    def wired(event: dict[str, Any]) -> None:
        seen.append("wired:" + event["Records"][0]["s3"]["object"]["key"])

    @registry.function(events=[faaslib.SQS(DIGESTS)])
    def digest(event: dict[str, Any]) -> None:
        seen.append("digest:" + event["Records"][0]["body"])

    return registry


async def test_sources_invoke_as_their_service_and_a_missing_permission_stops_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []
    registry = source_registry(seen)
    async with faaslib.Invoker(registry, check_permissions=True) as invoker:
        UPLOADS.put("a.txt", b"a")  # listed: SAM's permission comes with the event
        DIGESTS.send("d")  # a mapping polls with the function's role: no policy needed
        with caplog.at_level(logging.ERROR, logger="faaslib"):
            WIRED.put("b.txt", b"b")  # no statement: S3 cannot invoke it, the event is lost
            await invoker.drain()
        assert "AccessDeniedException" in caplog.text or "not authorized" in caplog.text
        assert "s3.amazonaws.com" in caplog.text
        registry.add_permission(
            "wired", "s3", "s3.amazonaws.com", source_arn=WIRED.arn, source_account="123456789012"
        )
        WIRED.put("c.txt", b"c")
        await invoker.drain()
    assert sorted(seen) == ["digest:d", "listed:a.txt", "wired:c.txt"]


async def test_a_schedule_invokes_as_eventbridge_with_its_rule_arn() -> None:
    seen: list[Any] = []
    registry = faaslib.Registry()

    @registry.function(
        events=[faaslib.Schedule("rate(1 minute)", name="nightly", implicit_permission=False)]
    )
    def tick(event: dict[str, Any]) -> None:
        seen.append(event["resources"])

    rule = "arn:aws:events:us-east-1:123456789012:rule/nightly"
    registry.add_permission("tick", "events", "events.amazonaws.com", source_arn=rule)
    clock = faaslib.VirtualClock()
    async with faaslib.Invoker(registry, clock=clock, check_permissions=True) as invoker:
        clock.advance(61)
        await invoker.drain()
    assert seen == [[rule]]

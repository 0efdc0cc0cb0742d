"""Versions and aliases as Lambda keeps them: publishing, qualified invocations and their ARNs,
alias validation and changes, weighted routing, Event invocations through an alias, and
``Registry.include``. Real registries and invokers; no mocks."""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import anyio
import pytest

import faaslib
from faaslib import (
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)

LATEST = "$LATEST"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:"

Handler = Callable[..., Any]


def describe(tag: str) -> Handler:
    """A handler answering with ``tag`` and what its context says about the version."""

    async def handler(event: Any, context: faaslib.Context) -> dict[str, Any]:
        return {
            "tag": tag,
            "name": context.function_name,
            "version": context.function_version,
            "arn": context.invoked_function_arn,
            "stream": context.log_stream_name,
            "memory": context.memory_limit_in_mb,
            "remaining": context.get_remaining_time_in_millis(),
        }

    return handler


def two_versions(**config: Any) -> faaslib.Registry:
    """Function ``f``: version 1 runs handler "old", version 2 and $LATEST handler "new"."""
    registry = faaslib.Registry()
    registry.function(name="f", **config)(describe("old"))
    assert registry.publish_version("f") == "1"
    registry.update("f", handler=describe("new"))
    assert registry.publish_version("f") == "2"
    return registry


# -- publishing ---------------------------------------------------------------------------------


def test_publish_numbers_versions_and_skips_unchanged() -> None:
    registry = faaslib.Registry()
    old = describe("old")
    registry.function(name="f")(old)
    assert registry.versions("f") == [LATEST]

    assert registry.publish_version("f") == "1"
    assert registry.publish_version("f") == "1"  # nothing changed: the latest version again
    assert registry.publish_version("f", description="again") == "1"
    assert registry.versions("f") == [LATEST, "1"]

    registry.update("f", timeout=10)
    assert registry.publish_version("f") == "2"
    registry.update("f", handler=describe("new"))
    assert registry.publish_version("f") == "3"
    assert registry.publish_version("f") == "3"
    assert registry.versions("f") == [LATEST, "1", "2", "3"]

    assert registry.get_version("f", "1").handler is old
    assert registry.get_version("f", "1").timeout == 3.0
    assert registry.get_version("f", "2").timeout == 10
    assert registry.get_version("f", "2").handler is old
    assert registry.get_version("f", "3").handler is registry.get("f").handler
    assert registry.get_version("f", LATEST) is registry.get("f")


def test_update_back_to_the_published_configuration_publishes_nothing() -> None:
    registry = faaslib.Registry()
    registry.function(name="f", timeout=5)(describe("x"))
    assert registry.publish_version("f") == "1"
    registry.update("f", timeout=6)
    registry.update("f", timeout=5)
    assert registry.publish_version("f") == "1"
    assert registry.versions("f") == [LATEST, "1"]


def test_published_version_is_frozen_while_latest_stays_mutable() -> None:
    registry = faaslib.Registry()
    registry.function(name="f", timeout=3, memory_size=128, description="first")(describe("old"))
    registry.publish_version("f")
    registry.update("f", timeout=20, memory_size=512, description="second")
    frozen = registry.get_version("f", "1")
    assert (frozen.timeout, frozen.memory_size, frozen.description) == (3, 128, "first")
    latest = registry.get_version("f", LATEST)
    assert (latest.timeout, latest.memory_size, latest.description) == (20, 512, "second")


def test_publish_version_description_and_provisioned_concurrency() -> None:
    registry = faaslib.Registry()
    registry.function(name="f", description="fn", provisioned_concurrency=2)(describe("x"))
    assert registry.publish_version("f", description="release 1") == "1"
    version = registry.get_version("f", "1")
    assert version.description == "release 1"
    assert version.provisioned_concurrency == 0  # not part of a version
    assert registry.get("f").provisioned_concurrency == 2


def test_versions_of_unknown_function_and_unknown_version() -> None:
    registry = faaslib.Registry()
    registry.function(name="f")(describe("x"))
    registry.publish_version("f")
    with pytest.raises(ResourceNotFoundException):
        registry.publish_version("nope")
    with pytest.raises(ResourceNotFoundException):
        registry.versions("nope")
    for bad in ("2", "0", "01", "-1", "live", ""):
        with pytest.raises(ResourceNotFoundException, match="Function not found: f:"):
            registry.get_version("f", bad)


# -- invoking versions and aliases --------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "qualifier", "arn", "version", "tag"),
    [
        ("f", None, f"{ARN}f", LATEST, "new"),
        ("f", LATEST, f"{ARN}f:$LATEST", LATEST, "new"),
        ("f:$LATEST", None, f"{ARN}f:$LATEST", LATEST, "new"),
        ("f", "1", f"{ARN}f:1", "1", "old"),
        ("f:1", None, f"{ARN}f:1", "1", "old"),
        (f"{ARN}f:1", None, f"{ARN}f:1", "1", "old"),
        ("123456789012:function:f:1", None, f"{ARN}f:1", "1", "old"),
        ("f:1", "1", f"{ARN}f:1", "1", "old"),
        ("f:2", None, f"{ARN}f:2", "2", "new"),
        ("f:live", None, f"{ARN}f:live", "1", "old"),
        ("f", "live", f"{ARN}f:live", "1", "old"),
        (f"{ARN}f:live", None, f"{ARN}f:live", "1", "old"),
        ("f:latest", None, f"{ARN}f:latest", LATEST, "new"),
    ],
)
async def test_invoke_qualified(
    ref: str, qualifier: str | None, arn: str, version: str, tag: str
) -> None:
    registry = two_versions()
    registry.create_alias("f", "live", "1")
    registry.create_alias("f", "latest", LATEST)
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke(ref, {}, qualifier=qualifier)
    assert result.executed_version == version
    body = result.json()
    assert body["tag"] == tag
    assert body["name"] == "f"
    assert body["version"] == version
    assert body["arn"] == arn
    assert f"/[{version}]" in body["stream"]


async def test_latest_update_leaves_published_version_running_old_handler_and_config() -> None:
    registry = faaslib.Registry()
    registry.function(name="f", timeout=3, memory_size=128)(describe("old"))
    registry.publish_version("f")
    async with faaslib.Invoker(registry) as invoker:
        before = (await invoker.invoke("f")).json()
        assert (before["tag"], before["version"]) == ("old", LATEST)
        # Updated while the invoker is open: $LATEST changes at once, version 1 never.
        registry.update("f", handler=describe("new"), timeout=30, memory_size=512)
        latest = (await invoker.invoke("f")).json()
        v1 = (await invoker.invoke("f:1")).json()
    assert (latest["tag"], latest["version"], latest["memory"]) == ("new", LATEST, "512")
    assert latest["remaining"] > 3000
    assert (v1["tag"], v1["version"], v1["memory"]) == ("old", "1", "128")
    assert 0 < v1["remaining"] <= 3000


async def test_version_published_while_open_is_invocable() -> None:
    registry = faaslib.Registry()
    registry.function(name="f")(describe("old"))
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(ResourceNotFoundException):
            await invoker.invoke("f:1")
        registry.publish_version("f")
        registry.create_alias("f", "live", "1")
        assert (await invoker.invoke("f:1")).executed_version == "1"
        assert (await invoker.invoke("f:live")).executed_version == "1"


@pytest.mark.parametrize(
    ("ref", "qualifier", "arn"),
    [
        ("f:9", None, f"{ARN}f:9"),
        ("f", "9", f"{ARN}f:9"),
        (f"{ARN}f:9", None, f"{ARN}f:9"),
        ("f:0", None, f"{ARN}f:0"),
        ("f:01", None, f"{ARN}f:01"),
        ("f:nope", None, f"{ARN}f:nope"),
        ("f", "nope", f"{ARN}f:nope"),
        ("g:1", None, f"{ARN}g:1"),
        ("g", "live", f"{ARN}g:live"),
    ],
)
async def test_unknown_version_or_alias_is_not_found(
    ref: str, qualifier: str | None, arn: str
) -> None:
    registry = two_versions()
    registry.function(name="g")(describe("g"))  # no versions, no aliases
    async with faaslib.Invoker(registry) as invoker:
        for invocation_type in ("RequestResponse", "Event", "DryRun"):
            with pytest.raises(ResourceNotFoundException) as info:
                await invoker.invoke(ref, {}, invocation_type, qualifier=qualifier)
            assert info.value.message == f"Function not found: {arn}"
            assert str(info.value) == f"Function not found: {arn}"
            assert info.value.status_code == 404
        assert invoker.statistics().events_received == 0


async def test_the_exact_not_found_message() -> None:
    registry = two_versions()
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(ResourceNotFoundException) as info:
            await invoker.invoke("f:9")
    assert info.value.message == (
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:f:9"
    )
    assert info.value.to_dict() == {
        "Type": "User",
        "Message": "Function not found: arn:aws:lambda:us-east-1:123456789012:function:f:9",
    }


async def test_qualifier_conflicting_with_the_name_is_refused() -> None:
    registry = two_versions()
    registry.create_alias("f", "live", "1")
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(InvalidParameterValueException):
            await invoker.invoke("f:1", qualifier="2")
        with pytest.raises(InvalidParameterValueException):
            await invoker.invoke("f:live", qualifier="1")


# -- alias validation ---------------------------------------------------------------------------


def test_create_and_read_aliases() -> None:
    registry = two_versions()
    live = registry.create_alias("f", "live", "1", routing={"2": 0.25}, description="prod")
    beta = registry.create_alias("f", "beta", "2")
    assert live == faaslib.Alias("live", "1", {"2": 0.25}, "prod", 0)
    assert live.routing == {"2": 0.25}
    assert beta.routing == {}
    assert registry.get_alias("f", "live") == live
    assert registry.aliases("f") == [beta, live]  # by name
    with pytest.raises(TypeError):
        live.routing["2"] = 0.5  # type: ignore[index]


def test_alias_routing_is_copied_from_the_caller() -> None:
    registry = two_versions()
    routing = {"2": 0.25}
    registry.create_alias("f", "live", "1", routing=routing)
    routing["2"] = 0.9
    assert registry.get_alias("f", "live").routing == {"2": 0.25}


@pytest.mark.parametrize(
    ("alias", "version", "routing", "error"),
    [
        ("123", "1", None, ValidationException),  # all digits
        ("a b", "1", None, ValidationException),
        ("", "1", None, ValidationException),
        ("a" * 129, "1", None, ValidationException),
        ("$LATEST", "1", None, ValidationException),
        ("live", "latest", None, ValidationException),
        ("live", "9", None, ResourceNotFoundException),  # no such version
        ("live", "1", {"9": 0.5}, ResourceNotFoundException),
        ("live", "1", {"2": 0.1, "3": 0.1}, InvalidParameterValueException),  # two extra
        ("live", "1", {"2": 1.5}, ValidationException),
        ("live", "1", {"2": -0.1}, ValidationException),
        ("live", "1", {"2": True}, ValidationException),
        ("live", "1", {"2": "0.5"}, ValidationException),
        ("live", "1", {"x": 0.5}, ValidationException),
        ("live", "1", {LATEST: 0.5}, ValidationException),
        ("live", LATEST, {"2": 0.5}, InvalidParameterValueException),  # from $LATEST
        ("live", "1", {"1": 0.5}, InvalidParameterValueException),  # its own version
    ],
)
def test_invalid_alias_is_refused(
    alias: str, version: str, routing: dict[str, Any] | None, error: type[Exception]
) -> None:
    registry = two_versions()
    registry.publish_version("f")  # nothing changed: still 2 versions
    with pytest.raises(error):
        registry.create_alias("f", alias, version, routing=routing)
    assert registry.aliases("f") == []


def test_alias_boundaries_are_accepted() -> None:
    registry = two_versions()
    registry.create_alias("f", "a" * 128, "1")
    registry.create_alias("f", "1a", "1")
    registry.create_alias("f", "my-alias_2", LATEST)
    registry.create_alias("f", "zero", "1", routing={"2": 0.0})
    registry.create_alias("f", "one", "1", routing={"2": 1})
    assert len(registry.aliases("f")) == 5


def test_alias_of_unknown_function() -> None:
    registry = faaslib.Registry()
    with pytest.raises(ResourceNotFoundException):
        registry.create_alias("nope", "live", "1")
    with pytest.raises(ResourceNotFoundException):
        registry.get_alias("nope", "live")
    with pytest.raises(ResourceNotFoundException):
        registry.aliases("nope")


def test_duplicate_alias_is_a_conflict() -> None:
    registry = two_versions()
    registry.create_alias("f", "live", "1")
    with pytest.raises(ResourceConflictException) as info:
        registry.create_alias("f", "live", "2")
    assert info.value.status_code == 409
    assert registry.get_alias("f", "live").function_version == "1"


async def test_update_and_delete_alias_are_followed_by_invocations() -> None:
    registry = two_versions()
    registry.create_alias("f", "live", "1")
    async with faaslib.Invoker(registry) as invoker:
        assert (await invoker.invoke("f:live")).executed_version == "1"

        updated = registry.update_alias("f", "live", function_version="2", description="v2")
        assert updated == faaslib.Alias("live", "2", {}, "v2")
        assert registry.get_alias("f", "live") == updated
        result = await invoker.invoke("f:live")
        assert (result.executed_version, result.json()["tag"]) == ("2", "new")

        registry.update_alias("f", "live", function_version=LATEST)
        assert (await invoker.invoke("f", qualifier="live")).executed_version == LATEST

        registry.update_alias("f", "live", function_version="1", routing={"2": 1.0})
        assert (await invoker.invoke("f:live")).executed_version == "2"
        registry.update_alias("f", "live", routing={})
        assert (await invoker.invoke("f:live")).executed_version == "1"

        registry.delete_alias("f", "live")
        assert registry.aliases("f") == []
        with pytest.raises(ResourceNotFoundException) as info:
            await invoker.invoke("f:live")
        assert info.value.message == f"Function not found: {ARN}f:live"
        with pytest.raises(ResourceNotFoundException):
            registry.delete_alias("f", "live")
        with pytest.raises(ResourceNotFoundException):
            registry.update_alias("f", "live", function_version="2")


def test_failed_update_alias_keeps_the_alias() -> None:
    registry = two_versions()
    live = registry.create_alias("f", "live", "1", routing={"2": 0.5})
    with pytest.raises(ResourceNotFoundException):
        registry.update_alias("f", "live", function_version="9")
    with pytest.raises(InvalidParameterValueException):
        registry.update_alias("f", "live", function_version="2")  # routes to its own version
    with pytest.raises(ValidationException):
        registry.update_alias("f", "live", routing={"2": 2.0})
    assert registry.get_alias("f", "live") == live


def test_renaming_an_alias_is_refused() -> None:
    registry = two_versions()
    live = registry.create_alias("f", "live", "1")
    with pytest.raises(InvalidParameterValueException):
        registry.update_alias("f", "live", name="prod")
    assert registry.aliases("f") == [live]
    with pytest.raises(ResourceNotFoundException):
        registry.get_alias("f", "prod")


# -- weighted routing ---------------------------------------------------------------------------


async def executed_versions(registry: faaslib.Registry, seed: int, n: int) -> list[str]:
    async with faaslib.Invoker(registry, seed=seed) as invoker:
        return [(await invoker.invoke("f:live")).executed_version or "" for _ in range(n)]


async def test_weighted_routing_share_and_determinism() -> None:
    registry = two_versions()
    registry.create_alias("f", "live", "1", routing={"2": 0.1})
    first = await executed_versions(registry, 1234, 2000)
    counts = collections.Counter(first)
    assert set(counts) == {"1", "2"}
    assert 0.07 <= counts["2"] / 2000 <= 0.13
    assert first == await executed_versions(registry, 1234, 2000)  # same seed, same picks
    assert first != await executed_versions(registry, 4321, 2000)


async def test_routing_weight_zero_and_one() -> None:
    registry = two_versions()
    registry.create_alias("f", "never", "1", routing={"2": 0.0})
    registry.create_alias("f", "always", "1", routing={"2": 1.0})
    async with faaslib.Invoker(registry, seed=7) as invoker:
        never = {(await invoker.invoke("f:never")).executed_version for _ in range(200)}
        always = {(await invoker.invoke("f:always")).executed_version for _ in range(200)}
    assert never == {"1"}
    assert always == {"2"}


async def test_routed_invocation_reports_the_alias_arn_and_the_version_run() -> None:
    registry = two_versions()
    registry.create_alias("f", "live", "1", routing={"2": 0.5})
    seen: set[tuple[str, str, str]] = set()
    async with faaslib.Invoker(registry, seed=3) as invoker:
        for _ in range(100):
            result = await invoker.invoke("f", qualifier="live")
            body = result.json()
            assert body["version"] == result.executed_version
            assert body["arn"] == f"{ARN}f:live"
            assert f"/[{result.executed_version}]" in body["stream"]
            seen.add((result.executed_version or "", body["tag"], body["memory"]))
    assert seen == {("1", "old", "128"), ("2", "new", "128")}


# -- Event invocations through an alias ---------------------------------------------------------


async def test_event_through_alias_runs_the_routed_version_and_records_it() -> None:
    records: list[dict[str, Any]] = []
    ran: list[tuple[str, str]] = []
    registry = faaslib.Registry()

    @registry.function(on_success=records.append)
    async def f(event: Any, context: faaslib.Context) -> str:
        ran.append((context.function_version, context.invoked_function_arn))
        return context.function_version

    assert registry.publish_version("f") == "1"
    registry.update("f", timeout=5)
    assert registry.publish_version("f") == "2"
    registry.create_alias("f", "live", "1", routing={"2": 0.5})

    async with faaslib.Invoker(registry, seed=11) as invoker:
        for i in range(100):
            assert (await invoker.invoke("f:live", {"i": i}, "Event")).status_code == 202
        with anyio.fail_after(10):
            await invoker.drain()

    assert len(records) == len(ran) == 100
    assert {arn for _, arn in ran} == {f"{ARN}f:live"}
    versions = collections.Counter(version for version, _ in ran)
    assert set(versions) == {"1", "2"}
    for record in records:
        version = record["responsePayload"]
        assert record["requestContext"]["functionArn"] == f"{ARN}f:{version}"
        assert record["responseContext"]["executedVersion"] == version
        assert record["requestContext"]["condition"] == "Success"
    assert collections.Counter(r["responsePayload"] for r in records) == versions


async def test_event_failure_record_carries_the_executed_version() -> None:
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(name="f", max_retry_attempts=0, on_failure=failures.append)
    async def ok(event: Any) -> None:
        return None

    registry.publish_version("f")

    async def broken(event: Any) -> None:
        raise ValueError("v2 is broken")

    registry.update("f", handler=broken)
    registry.publish_version("f")
    registry.create_alias("f", "live", "1", routing={"2": 1.0})
    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke("f:live", {"n": 1}, "Event")
        with anyio.fail_after(10):
            await invoker.drain()
    [record] = failures
    assert record["requestContext"]["functionArn"] == f"{ARN}f:2"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "2",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorMessage"] == "v2 is broken"


async def test_version_keeps_the_destinations_it_was_published_with() -> None:
    old: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    registry = faaslib.Registry()
    registry.function(name="f", on_success=old.append)(describe("x"))
    registry.publish_version("f")
    registry.update("f", on_success=new.append)
    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke("f:1", {}, "Event")
        await invoker.invoke("f", {}, "Event")
        with anyio.fail_after(10):
            await invoker.drain()
    assert [r["requestContext"]["functionArn"] for r in old] == [f"{ARN}f:1"]
    assert [r["requestContext"]["functionArn"] for r in new] == [f"{ARN}f:$LATEST"]


# -- Registry.include ---------------------------------------------------------------------------


async def test_include_with_prefix_copies_versions_and_aliases() -> None:
    other = faaslib.Registry()
    other.function(name="g")(describe("g"))
    other.function(name="f", on_failure="g")(describe("old"))
    other.publish_version("f")
    other.update("f", handler=describe("new"))
    other.publish_version("f")
    other.create_alias("f", "live", "1", routing={"2": 0.5})
    other.create_alias("f", "stable", "1")

    main = faaslib.Registry()
    main.include(other, prefix="team-")
    assert main.versions("team-f") == [LATEST, "1", "2"]
    assert main.versions("team-g") == [LATEST]
    assert main.aliases("team-f") == other.aliases("f")
    v1 = main.get_version("team-f", "1")
    assert (v1.name, v1.on_failure) == ("team-f", "team-g")  # destinations follow the rename
    assert other.get_version("f", "1").name == "f"

    # The copies are the including registry's own: changes on either side stay there.
    other.publish_version("f")  # nothing changed: no new version anyway
    other.update("f", timeout=9)
    other.publish_version("f")
    other.delete_alias("f", "stable")
    main.create_alias("team-f", "beta", "2")
    assert main.versions("team-f") == [LATEST, "1", "2"]
    assert [a.name for a in main.aliases("team-f")] == ["beta", "live", "stable"]
    assert [a.name for a in other.aliases("f")] == ["live"]

    async with faaslib.Invoker(main, seed=5) as invoker:
        stable = await invoker.invoke("team-f:stable")
        assert stable.executed_version == "1"
        assert stable.json() | {"stream": "", "remaining": 0} == {
            "tag": "old",
            "name": "team-f",
            "version": "1",
            "arn": f"{ARN}team-f:stable",
            "stream": "",
            "memory": "128",
            "remaining": 0,
        }
        v2 = (await invoker.invoke("team-f:2")).json()
        assert (v2["tag"], v2["name"]) == ("new", "team-f")
        routed = {(await invoker.invoke("team-f:live")).executed_version for _ in range(100)}
        assert routed == {"1", "2"}
        with pytest.raises(ResourceNotFoundException):
            await invoker.invoke("f:1")


def test_include_without_prefix_copies_versions_and_aliases() -> None:
    other = two_versions()
    other.create_alias("f", "live", "2")
    main = faaslib.Registry()
    main.include(other)
    assert main.versions("f") == [LATEST, "1", "2"]
    assert main.get_alias("f", "live") == faaslib.Alias("live", "2")
    assert main.get_version("f", "1").handler is other.get_version("f", "1").handler


def test_include_conflict_copies_nothing() -> None:
    other = two_versions()
    other.create_alias("f", "live", "1")
    main = faaslib.Registry()
    main.function(name="f")(describe("mine"))
    with pytest.raises(ResourceConflictException):
        main.include(other)
    assert main.versions("f") == [LATEST]
    assert main.aliases("f") == []

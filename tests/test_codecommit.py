"""CodeCommit: a repository's reference changes fire its triggers, which invoke their
functions (Event) as ``codecommit.amazonaws.com`` with CodeCommit's event."""

from __future__ import annotations

import re
from typing import Any

import pytest

import faaslib
from faaslib._services.codecommit import (
    BranchNameExistsException,
    CodeCommit,
    CommitDoesNotExistException,
    DefaultBranchCannotBeDeletedException,
    InvalidBranchNameException,
    InvalidRepositoryTriggerCustomDataException,
    InvalidRepositoryTriggerEventsException,
    MaximumBranchesExceededException,
    Repository,
    codecommit_event,
)

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}")
RECORD_KEYS = [
    "awsRegion",
    "codecommit",
    "customData",
    "eventId",
    "eventName",
    "eventPartNumber",
    "eventSource",
    "eventSourceARN",
    "eventTime",
    "eventTotalParts",
    "eventTriggerConfigId",
    "eventTriggerName",
    "eventVersion",
    "userIdentityARN",
]


def check_record(record: dict[str, Any]) -> None:
    """The record has CodeCommit's keys, in its order, and its value types."""
    assert list(record) == RECORD_KEYS
    assert record["eventSource"] == "aws:codecommit"
    assert record["eventVersion"] == "1.0"
    assert (record["eventPartNumber"], record["eventTotalParts"]) == (1, 1)
    assert UUID.fullmatch(record["eventId"])
    assert UUID.fullmatch(record["eventTriggerConfigId"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", record["eventTime"])
    for reference in record["codecommit"]["references"]:
        assert re.fullmatch(r"[0-9a-f]{40}", reference["commit"])
        assert reference["ref"].startswith("refs/heads/")
        assert set(reference) <= {"commit", "ref", "created", "deleted"}


def registry_for(*triggers: CodeCommit) -> tuple[faaslib.Registry, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(name="on-push", events=list(triggers))
    def on_push(event: dict[str, Any]) -> None:
        events.append(event)

    return registry, events


async def test_pushes_and_branches_fire_the_triggers_that_select_them() -> None:
    repo = Repository("app")
    every = CodeCommit(repo, name="every", custom_data="team=web")
    main_updates = CodeCommit(
        repo, events=["updateReference"], branches=["main"], name="main-updates"
    )
    registry, events = registry_for(every, main_updates)
    clock = faaslib.VirtualClock(T0)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        first = repo.push("main")
        second = repo.push("main", "a" * 40, user_arn="arn:aws:iam::123456789012:user/dev")
        repo.create_branch("feature", first)
        repo.push("feature")
        assert repo.delete_branch("feature") is not None
        assert repo.delete_branch("feature") is None  # gone: nothing fires
        await invoker.drain()
    assert second == "a" * 40
    assert repo.branches == {"main": second}
    assert repo.default_branch == "main"
    records = [e["Records"][0] for e in events]
    for event, record in zip(events, records, strict=True):
        assert len(event["Records"]) == 1
        check_record(record)
        assert record["eventName"] == "ReferenceChanges"
        assert record["eventSourceARN"] == "arn:aws:codecommit:us-east-1:123456789012:app"
        assert record["awsRegion"] == "us-east-1"
        assert record["eventTime"] == "2027-01-15T08:00:00.000+0000"
    every_refs = [
        r["codecommit"]["references"] for r in records if r["eventTriggerName"] == "every"
    ]
    third = repo_head_before_delete(every_refs)
    assert sorted(every_refs, key=str) == sorted(  # Event invocations: in any order
        [
            [{"commit": first, "ref": "refs/heads/main", "created": True}],
            [{"commit": second, "ref": "refs/heads/main"}],
            [{"commit": first, "ref": "refs/heads/feature", "created": True}],
            [{"commit": third, "ref": "refs/heads/feature"}],
            [{"commit": third, "ref": "refs/heads/feature", "deleted": True}],
        ],
        key=str,
    )
    assert third != first
    assert [
        r["codecommit"]["references"] for r in records if r["eventTriggerName"] == "main-updates"
    ] == [[{"commit": second, "ref": "refs/heads/main"}]]
    assert {r["customData"] for r in records if r["eventTriggerName"] == "every"} == {"team=web"}
    assert [r["customData"] for r in records if r["eventTriggerName"] == "main-updates"] == [None]
    pushers = {r["codecommit"]["references"][0]["commit"]: r["userIdentityARN"] for r in records}
    assert pushers[second] == "arn:aws:iam::123456789012:user/dev"
    assert pushers[first] == "arn:aws:iam::123456789012:root"
    assert {r["eventTriggerConfigId"] for r in records} == {
        every.trigger_config_id,
        main_updates.trigger_config_id,
    }


def repo_head_before_delete(references: list[list[dict[str, Any]]]) -> str:
    [deleted] = [refs[0] for refs in references if refs[0].get("deleted")]
    return str(deleted["commit"])


async def test_the_test_event_and_the_invokers_site() -> None:
    repo = Repository("app")
    trigger = CodeCommit(repo, branches=["release"], name="t")
    registry, events = registry_for(trigger)
    invoker = faaslib.Invoker(
        registry, region="eu-west-1", account_id="111122223333", check_permissions=True
    )
    async with invoker:
        head = repo.push("main")  # not a selected branch: nothing fires
        await invoker.drain()
        assert events == []
        assert repo.test_repository_triggers() == ["t"]
        await invoker.drain()
    [record] = events[0]["Records"]
    check_record(record)
    assert record["eventName"] == "TriggerEventTest"
    assert record["codecommit"]["references"] == [{"commit": head, "ref": "refs/heads/main"}]
    assert record["eventSourceARN"] == "arn:aws:codecommit:eu-west-1:111122223333:app"
    assert record["userIdentityARN"] == "arn:aws:iam::111122223333:root"
    assert trigger.invoked_as("on-push", invoker.site) == (
        "codecommit.amazonaws.com",
        "arn:aws:codecommit:eu-west-1:111122223333:app",
    )


async def test_a_repository_wired_without_a_permission_is_refused() -> None:
    repo = Repository("app")
    registry, events = registry_for(CodeCommit(repo, implicit_permission=False))
    async with faaslib.Invoker(registry, check_permissions=True) as invoker:
        repo.push("main")
        await invoker.drain()
    assert events == []
    registry.add_permission(
        "on-push", "codecommit", "codecommit.amazonaws.com", source_arn=repo.arn
    )
    async with faaslib.Invoker(registry, check_permissions=True) as invoker:
        repo.push("main")
        await invoker.drain()
    assert len(events) == 1


def test_repository_and_trigger_errors() -> None:
    repo = Repository("app")
    head = repo.push("main")
    with pytest.raises(BranchNameExistsException):
        repo.create_branch("main", head)
    with pytest.raises(CommitDoesNotExistException):
        repo.create_branch("dev", "b" * 40)
    with pytest.raises(DefaultBranchCannotBeDeletedException):
        repo.delete_branch("main")
    for bad in ("a..b", "with space", "x.lock", "-x", ""):
        with pytest.raises(InvalidBranchNameException):
            repo.push(bad)
    with pytest.raises(faaslib.FaaslibError, match="commit ID"):
        repo.push("main", "abc")
    with pytest.raises(InvalidRepositoryTriggerEventsException, match="all cannot be used"):
        CodeCommit(repo, events=["all", "createReference"])
    with pytest.raises(InvalidRepositoryTriggerEventsException):
        CodeCommit(repo, events=["push"])
    with pytest.raises(MaximumBranchesExceededException):
        CodeCommit(repo, branches=[f"b{i}" for i in range(101)])
    with pytest.raises(InvalidRepositoryTriggerCustomDataException):
        CodeCommit(repo, custom_data="x" * 1001)
    with pytest.raises(faaslib.FaaslibError, match="Repository name"):
        Repository("app.git")


def test_the_event_factory() -> None:
    event = codecommit_event("dev", "c" * 40, created=True, custom_data="d", time=T0)
    [record] = event["Records"]
    check_record(record)
    assert record["codecommit"]["references"] == [
        {"commit": "c" * 40, "ref": "refs/heads/dev", "created": True}
    ]
    assert record["customData"] == "d"
    assert record["eventTime"] == "2027-01-15T08:00:00.000+0000"

"""A Table's changes as DynamoDB Streams records, consumed by a DynamoDB mapping."""

from __future__ import annotations

import ast
import inspect
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel

import faaslib

if TYPE_CHECKING:
    from faaslib._services.dynamodb import StreamViewType

T0 = 1_700_000_000.0


def consuming(table: faaslib.Table, **options: Any) -> tuple[faaslib.Registry, list[Any]]:
    events: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(events=[faaslib.DynamoDB(table, **options)])
    async def on_change(event: dict[str, Any]) -> None:
        events.append(event)

    return registry, events


def records(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for e in events for r in e["Records"]]


async def test_insert_modify_remove_with_both_images() -> None:
    clock = faaslib.VirtualClock(T0)
    table = faaslib.Table("orders", partition_key="id", clock=clock)
    table.put({"id": "o-1", "status": "new", "total": 12.5})  # before the invoker
    registry, events = consuming(table)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        table.update({"id": "o-1"}, {"status": "paid"})
        table.put({"id": "o-1", "status": "paid", "total": 12.5})  # no change: no record
        table.delete({"id": "o-1"})
        await invoker.drain()
    got = records(events)
    assert [r["eventName"] for r in got] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = (r["dynamodb"] for r in got)
    assert insert["Keys"] == {"id": {"S": "o-1"}}
    assert insert["NewImage"]["status"] == {"S": "new"}
    assert "OldImage" not in insert
    assert modify["OldImage"]["status"] == {"S": "new"}
    assert modify["NewImage"]["status"] == {"S": "paid"}
    assert modify["NewImage"]["total"] == {"N": "12.5"}
    assert remove["OldImage"]["status"] == {"S": "paid"}
    assert "NewImage" not in remove
    assert all(r["eventSource"] == "aws:dynamodb" for r in got)
    assert got[0]["eventSourceARN"].startswith(
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/"
    )
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in got]
    assert sequence == sorted(sequence)
    for event in events:
        DynamoDBStreamModel.model_validate(event)
    assert len(table) == 0


@pytest.mark.parametrize(
    ("view", "new", "old"),
    [
        ("KEYS_ONLY", False, False),
        ("NEW_IMAGE", True, False),
        ("OLD_IMAGE", False, True),
        ("NEW_AND_OLD_IMAGES", True, True),
    ],
)
async def test_stream_view_types(view: StreamViewType, new: bool, old: bool) -> None:
    clock = faaslib.VirtualClock(T0)
    table = faaslib.Table(
        "t-1", partition_key="pk", sort_key="sk", stream_view_type=view, clock=clock
    )
    table.put({"pk": "a", "sk": 1, "v": 1})
    table.put({"pk": "a", "sk": 1, "v": 2})
    registry, events = consuming(table)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
    modify = records(events)[1]["dynamodb"]
    assert modify["Keys"] == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    assert modify["StreamViewType"] == view
    assert ("NewImage" in modify) is new
    assert ("OldImage" in modify) is old


async def test_filter_on_the_new_image() -> None:
    clock = faaslib.VirtualClock(T0)
    table = faaslib.Table("orders", partition_key="id", clock=clock)
    registry, events = consuming(
        table,
        filter_criteria=[
            {"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"status": {"S": ["paid"]}}}}
        ],
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        table.put({"id": "1", "status": "new"})
        table.update({"id": "1"}, {"status": "paid"})
        table.update({"id": "1"}, {"status": "shipped"})
        await invoker.drain()
    got = records(events)
    assert [r["dynamodb"]["NewImage"]["status"]["S"] for r in got] == ["paid"]


def test_table_items() -> None:
    table = faaslib.Table("items", partition_key="id")
    table.put({"id": "x", "n": Decimal("1.5"), "tags": {"a", "b"}, "raw": b"\x00"})
    item = table.get({"id": "x"})
    assert item == {"id": "x", "n": Decimal("1.5"), "tags": {"a", "b"}, "raw": b"\x00"}
    assert table.get({"id": "missing"}) is None
    assert table.update({"id": "y"}, {"n": 1}) == {"id": "y", "n": 1}
    assert sorted(i["id"] for i in table.scan()) == ["x", "y"]
    with pytest.raises(faaslib.ValidationException):
        table.put({"no_key": 1})
    with pytest.raises(faaslib.ValidationException):
        table.update({"id": "x"}, {"id": "z"})


def test_dynamodb_trigger_options() -> None:
    table = faaslib.Table("opts", partition_key="id")
    with pytest.raises(faaslib.ValidationException, match="startingPosition"):
        faaslib.DynamoDB(table, starting_position="AT_TIMESTAMP", starting_position_timestamp=1.0)
    with pytest.raises(faaslib.ValidationException, match="stream"):
        faaslib.DynamoDB(faaslib.Stream("plain"))  # type: ignore[arg-type]


def test_dynamodb_typed_signature_matches_the_dataclass() -> None:
    """DynamoDB declares its ``__init__`` for type checkers only (it takes a Table too): its
    parameters and defaults are the generated ``__init__``'s."""
    source = Path(inspect.getfile(faaslib.DynamoDB)).read_text()
    (cls,) = (
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ClassDef) and node.name == "DynamoDB"
    )
    (init,) = (
        node
        for node in ast.walk(cls)
        if isinstance(node, ast.FunctionDef) and node.name == "__init__"
    )
    declared = [arg.arg for arg in init.args.args[1:] + init.args.kwonlyargs]
    defaults = [ast.literal_eval(d) for d in init.args.defaults + init.args.kw_defaults if d]
    generated = list(inspect.signature(faaslib.DynamoDB).parameters.values())
    assert declared == [p.name for p in generated]
    assert defaults == [p.default for p in generated if p.default is not inspect.Parameter.empty]


@pytest.mark.parametrize(
    "item",
    [
        {"id": "a", "v": "\ud800"},
        {"id": "\udfff"},
        {"id": "a", "v": object()},
        {"id": "a", "v": set()},
        {"id": "a", "v": {1: "not a string key"}},
    ],
    ids=["surrogate", "surrogate-key", "no-type", "empty-set", "int-map-key"],
)
def test_an_item_its_stream_cannot_carry_is_refused_and_not_stored(item: dict[str, Any]) -> None:
    """Table and stream stay in step: a refused item leaves neither changed."""
    table = faaslib.Table("items", partition_key="id")
    table.put({"id": "a", "v": 1})
    with pytest.raises(faaslib.ValidationException):
        table.put(item)
    with pytest.raises(faaslib.ValidationException):
        table.update({"id": "a"}, {k: v for k, v in item.items() if k != "id"} or {"w": set()})
    assert table.scan() == [{"id": "a", "v": 1}]
    assert len(table.stream) == 1


async def test_long_keys_go_on_the_stream() -> None:
    """DynamoDB keys may be up to 2048 bytes (a Kinesis partition key only 256 characters)."""
    clock = faaslib.VirtualClock(T0)
    table = faaslib.Table("items", partition_key="id", sort_key="at", clock=clock)
    registry, events = consuming(table, parallelization_factor=4)
    long_key = "k" * 2048
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        table.put({"id": long_key, "at": "s" * 1024, "n": 1})
        table.update({"id": long_key, "at": "s" * 1024}, {"n": 2})
        await invoker.drain()
    got = records(events)
    assert [r["eventName"] for r in got] == ["INSERT", "MODIFY"]
    assert got[1]["dynamodb"]["Keys"]["id"] == {"S": long_key}
    assert len(table) == 1

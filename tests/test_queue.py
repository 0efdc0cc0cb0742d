"""The in-memory SQS queue on its own: send, receive, visibility, redrive, FIFO, limits."""

from __future__ import annotations

import hashlib
import json

import pydantic_core
import pytest

import faaslib

T0 = 1_700_000_000.0


def queue(name: str = "orders", **options: object) -> tuple[faaslib.Queue, faaslib.VirtualClock]:
    clock = faaslib.VirtualClock(T0)
    return faaslib.Queue(name, clock=clock, **options), clock  # type: ignore[arg-type]


def test_send_then_receive_in_order_with_sqs_attributes() -> None:
    q, clock = queue()
    first = q.send("one")
    clock.advance(1)
    q.send({"n": 2}, attributes={"kind": {"DataType": "String", "StringValue": "x"}})
    got = q.receive(10)
    assert [m.body for m in got] == ["one", '{"n":2}']
    assert got[0].message_id == first
    assert got[0].md5_of_body == hashlib.md5(b"one", usedforsecurity=False).hexdigest()
    assert got[0].attributes["ApproximateReceiveCount"] == "1"
    assert got[0].attributes["SentTimestamp"] == str(int(T0 * 1000))
    assert got[1].attributes["ApproximateFirstReceiveTimestamp"] == str(int((T0 + 1) * 1000))
    assert got[1].message_attributes == {"kind": {"DataType": "String", "StringValue": "x"}}
    assert q.arn == "arn:aws:sqs:us-east-1:123456789012:orders"
    assert q.url == "https://sqs.us-east-1.amazonaws.com/123456789012/orders"


def test_visibility_timeout_hides_then_returns_a_message() -> None:
    q, clock = queue(visibility_timeout=30)
    q.send("m")
    [first] = q.receive()
    assert q.receive() == []
    assert q.next_visible() == T0 + 30
    clock.advance(29.9)
    assert q.receive() == []
    clock.advance(0.1)
    [again] = q.receive()
    assert again.message_id == first.message_id
    assert again.attributes["ApproximateReceiveCount"] == "2"
    assert again.receipt_handle != first.receipt_handle
    with pytest.raises(faaslib.ResourceNotFoundException):
        q.delete(first.receipt_handle)  # an old receipt
    q.delete(again.receipt_handle)
    assert len(q) == 0


def test_change_visibility_and_delay() -> None:
    q, clock = queue(delay=5)
    q.send("late")
    assert q.receive() == []
    clock.advance(5)
    [message] = q.receive()
    q.change_visibility(message.receipt_handle, 0)
    assert [m.body for m in q.receive()] == ["late"]
    q.send("now", delay=0)
    assert [m.body for m in q.receive()] == ["now"]


def test_messages_visible_again_come_first_in_send_order_and_once_each() -> None:
    q, clock = queue(visibility_timeout=10)
    for body in ("a", "b", "c"):
        q.send(body)
    first = q.receive(2)  # a, b in flight
    q.send("d")
    q.change_visibility(first[1].receipt_handle, 5)  # b shows again sooner
    q.change_visibility(first[0].receipt_handle, 0)  # a at once; its old hiding is stale
    clock.advance(10)  # every hiding has ended, some twice over
    assert [m.body for m in q.receive(10)] == ["a", "b", "c", "d"]
    assert q.receive(10) == []


def test_receipt_handles_and_waiting_times_after_deletes() -> None:
    q, clock = queue(visibility_timeout=30)
    q.send("m")
    q.send("n", delay=60)
    [message] = q.receive()
    assert q.next_visible() == T0 + 30
    for bad in ("", "nonsense", f"{message.message_id}#7", message.message_id):
        with pytest.raises(faaslib.ResourceNotFoundException):
            q.delete(bad)
        with pytest.raises(faaslib.ResourceNotFoundException):
            q.change_visibility(bad, 0)
    q.delete(message.receipt_handle)
    assert q.next_visible() == T0 + 60  # the deleted message's hiding no longer counts
    clock.advance(60)
    assert q.next_visible() is None
    [late] = q.receive()
    q.purge()
    assert len(q) == 0
    assert q.next_visible() is None
    with pytest.raises(faaslib.ResourceNotFoundException):
        q.delete(late.receipt_handle)


def test_redrive_to_the_dead_letter_queue_after_max_receive_count() -> None:
    clock = faaslib.VirtualClock(T0)
    dlq = faaslib.Queue("orders-dlq", clock=clock)
    q = faaslib.Queue(
        "orders", clock=clock, visibility_timeout=10, max_receive_count=2, dead_letter_queue=dlq
    )
    q.send("poison")
    for _ in range(2):
        assert len(q.receive()) == 1
        clock.advance(10)
    assert q.receive() == []  # a third receive moves it instead
    [dead] = dlq.receive()
    assert dead.body == "poison"
    assert len(q) == 0


def test_message_retention() -> None:
    q, clock = queue(message_retention=60)
    q.send("old")
    clock.advance(61)
    assert q.receive() == []
    assert len(q) == 0


def test_fifo_delivers_each_group_in_order_one_batch_at_a_time() -> None:
    q, _ = queue("orders.fifo", visibility_timeout=30)
    for i in range(3):
        q.send(f"a{i}", group_id="a", deduplication_id=f"a{i}")
        q.send(f"b{i}", group_id="b", deduplication_id=f"b{i}")
    batch = q.receive(2)
    assert [m.body for m in batch] == ["a0", "a1"]
    assert batch[0].attributes["MessageGroupId"] == "a"
    assert [m.body for m in q.receive(10)] == ["b0", "b1", "b2"]  # group a is in flight
    assert q.receive(10) == []
    q.delete(batch[0].receipt_handle)
    assert q.receive(10) == []  # a1 is still in flight: a2 waits for it
    q.delete(batch[1].receipt_handle)
    assert [m.body for m in q.receive(10)] == ["a2"]


def test_fifo_redelivers_in_order_after_visibility_timeout() -> None:
    q, clock = queue("jobs.fifo", visibility_timeout=5)
    for i in range(3):
        q.send(str(i), group_id="g", deduplication_id=str(i))
    assert [m.body for m in q.receive(2)] == ["0", "1"]
    clock.advance(5)
    assert [m.body for m in q.receive(10)] == ["0", "1", "2"]


def test_fifo_deduplication_window() -> None:
    q, clock = queue("jobs.fifo", content_based_deduplication=True)
    first = q.send("same", group_id="g")
    assert q.send("same", group_id="g") == first  # a duplicate within 5 minutes
    clock.advance(301)
    assert q.send("same", group_id="g") != first
    assert len(q) == 2


def test_fifo_deduplication_ids_are_forgotten_after_the_window() -> None:
    # A long-lived FIFO queue keeps only the ids of the last five minutes (bounded memory).
    q, clock = queue("ids.fifo")
    for n in range(1_000):
        q.send(f"m{n}", group_id="g", deduplication_id=f"id-{n}")
        clock.advance(0.1)
    assert len(q._deduplication) == 1_000
    clock.advance(300)
    fresh = q.send("again", group_id="g", deduplication_id="id-0")  # its id expired: stored
    assert len(q._deduplication) == 1
    assert q.send("again", group_id="g", deduplication_id="id-0") == fresh
    within = q.send("within", group_id="g", deduplication_id="id-1")
    clock.advance(299.9)
    assert q.send("x", group_id="g", deduplication_id="id-1") == within  # still a duplicate
    assert len(q._deduplication) == 2
    assert len(q) == 1_002


@pytest.mark.parametrize(
    ("name", "options", "send"),
    [
        ("bad name!", {}, {}),
        ("q", {"visibility_timeout": 43_201}, {}),
        ("q", {"max_receive_count": 3}, {}),  # no dead-letter queue
        ("q", {"delay": -1}, {}),
    ],
)
def test_invalid_queue_settings(name: str, options: dict[str, object], send: object) -> None:
    with pytest.raises(faaslib.InvalidParameterValueException):
        faaslib.Queue(name, **options)  # type: ignore[arg-type]


def test_invalid_sends() -> None:
    q, _ = queue()
    with pytest.raises(faaslib.InvalidParameterValueException, match="FIFO"):
        q.send("x", group_id="g")
    with pytest.raises(faaslib.InvalidParameterValueException, match="shorter than"):
        q.send("x" * (1_048_576 + 1))
    fifo, _ = queue("f.fifo")
    with pytest.raises(faaslib.InvalidParameterValueException, match="MessageGroupId"):
        fifo.send("x")
    with pytest.raises(faaslib.InvalidParameterValueException, match="Deduplication"):
        fifo.send("x", group_id="g")


def test_queue_is_a_destination_target() -> None:
    q, _ = queue()
    record = {"requestContext": {"condition": "Success"}}
    q.send(record)
    [message] = q.receive()
    assert json.loads(message.body) == record


@pytest.mark.parametrize("name", ["orders", "orders.fifo"])
def test_attributes_json_is_the_attributes_encoded(name: str) -> None:
    """A mapping's records carry the system attributes encoded straight to JSON."""
    q, clock = queue(name, content_based_deduplication=name.endswith(".fifo"))
    fifo = {"group_id": 'group "\u00e9"'} if q.fifo else {}
    q.send("m", **fifo)  # type: ignore[arg-type]
    clock.advance(1.2345)
    for _ in range(2):
        [stored] = q._receive(1, 0)
        assert q._attributes_json(stored) == pydantic_core.to_json(q._attributes(stored))

"""AWS IoT: an IoTBroker publishing to IoTRule triggers, end to end through an Invoker."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest

import faaslib
from faaslib._services.iot import IoTBroker, IoTRule, default_broker, iot_rule_event
from faaslib._site import DEFAULT_SITE

T0 = 1_700_000_000.0
ACCOUNT = "123456789012"


def collector(registry: faaslib.Registry, name: str, *events: IoTRule) -> list[Any]:
    seen: list[Any] = []

    async def handler(event: Any) -> None:
        seen.append(event)

    registry.function(name=name, events=list(events))(handler)
    return seen


async def test_rules_pick_and_reshape_matching_messages() -> None:
    clock = faaslib.VirtualClock(T0)
    broker = IoTBroker()
    registry = faaslib.Registry()
    hot = collector(
        registry,
        "hot",
        IoTRule(
            "SELECT topic(2) AS device, temperature AS t, timestamp() AS at "
            "FROM 'sensors/+/telemetry' WHERE temperature > 30",
            broker=broker,
        ),
    )
    everything = collector(
        registry, "everything", IoTRule("SELECT * FROM 'sensors/#'", broker=broker)
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        broker.publish("sensors/d-1/telemetry", {"temperature": 35})
        clock.advance(1.5)
        broker.publish("sensors/d-2/telemetry", {"temperature": 20})  # WHERE is false
        broker.publish("sensors/d-3/telemetry", '{"temperature": 40.5}')  # text: JSON too
        broker.publish("sensors/d-4/status", b'{"online": true}')
        broker.publish("sensors", {"root": 1})  # "#" takes the parent level too
        broker.publish("other/d-1/telemetry", {"temperature": 99})  # no rule: dropped
        await invoker.drain()
    assert hot == [
        {"device": "d-1", "t": 35, "at": 1_700_000_000_000},
        {"device": "d-3", "t": 40.5, "at": 1_700_000_001_500},  # on the invoker's clock
    ]
    assert sorted(map(str, everything)) == sorted(
        map(
            str,
            [
                {"temperature": 35},
                {"temperature": 20},
                {"temperature": 40.5},
                {"online": True},
                {"root": 1},
            ],
        )
    )


async def test_a_message_published_before_the_invoker_waits_for_it() -> None:
    broker = IoTBroker()  # no clock: messages before any invoker are evaluated on its clock
    registry = faaslib.Registry()
    seen = collector(
        registry,
        "early",
        IoTRule("SELECT *, timestamp() AS at, accountid() AS account FROM 'a/b'", broker=broker),
    )
    unlisted = IoTRule("SELECT * FROM 'a/b'", broker=broker)  # no function lists it: no rule
    broker.publish("a/b", {"n": 1})
    assert not unlisted._outbox
    assert not unlisted._held
    clock = faaslib.VirtualClock(T0)
    async with faaslib.Invoker(registry, clock=clock, account_id="111122223333") as invoker:
        broker.publish("a/b", {"n": 2})
        await invoker.drain()
    assert seen == [
        {"n": 1, "at": 1_700_000_000_000, "account": "111122223333"},
        {"n": 2, "at": 1_700_000_000_000, "account": "111122223333"},
    ]


async def test_a_disabled_rule_drops_messages() -> None:
    broker = IoTBroker()
    registry = faaslib.Registry()
    seen = collector(registry, "off", IoTRule("SELECT * FROM '#'", broker=broker, enabled=False))
    async with faaslib.Invoker(registry, clock=faaslib.VirtualClock(T0)) as invoker:
        broker.publish("a", {"n": 1})
        await invoker.drain()
    assert seen == []


async def test_select_value_delivers_any_json_value() -> None:
    broker = IoTBroker()
    registry = faaslib.Registry()
    seen = collector(
        registry,
        "values",
        IoTRule("SELECT VALUE reading FROM 'v/#'", broker=broker, aws_iot_sql_version="2016-03-23"),
    )
    async with faaslib.Invoker(registry, clock=faaslib.VirtualClock(T0)) as invoker:
        broker.publish("v/1", {"reading": "high"})
        broker.publish("v/2", {"reading": [1, 2.0]})
        broker.publish("v/3", {"other": 1})  # Undefined: an empty payload, Lambda's {}
        await invoker.drain()
    assert seen == ["high", [1, 2], {}]


async def test_binary_payloads_need_encode(caplog: pytest.LogCaptureFixture) -> None:
    broker = IoTBroker()
    registry = faaslib.Registry()
    raw = collector(registry, "raw", IoTRule("SELECT * FROM 'bin/raw'", broker=broker))
    mixed = collector(
        registry, "mixed", IoTRule("SELECT *, topic() AS t FROM 'bin/mixed'", broker=broker)
    )
    encoded = collector(
        registry,
        "encoded",
        IoTRule(
            "SELECT encode(*, 'base64') AS data, clientid() AS client FROM 'bin/encoded'",
            broker=broker,
            aws_iot_sql_version="2016-03-23",
        ),
    )
    blob = bytes(range(200))
    async with faaslib.Invoker(registry, clock=faaslib.VirtualClock(T0)) as invoker:
        with caplog.at_level(logging.ERROR, logger="faaslib"):
            broker.publish("bin/raw", blob)  # Lambda refuses a payload that is not JSON
            broker.publish("bin/mixed", blob)  # the rule cannot add to it: a rule error
            broker.publish("bin/encoded", blob, client_id="camera-7")
            await invoker.drain()
    assert raw == []
    assert mixed == []
    # Lambda refuses the raw bytes (the Lambda action's Invoke fails; AWS runs the error action)
    assert "function raw: Could not parse request body into json" in caplog.text
    assert "encode(*, 'base64')" in caplog.text
    [event] = encoded
    assert base64.b64decode(event["data"]) == blob
    assert event["client"] == "camera-7"


async def test_rules_invoke_as_iot_with_their_arn(caplog: pytest.LogCaptureFixture) -> None:
    broker = IoTBroker()
    registry = faaslib.Registry()
    listed = collector(registry, "listed", IoTRule("SELECT * FROM 'p/listed'", broker=broker))
    wired = collector(
        registry,
        "wired",
        IoTRule(
            "SELECT * FROM 'p/wired'", broker=broker, name="Wired_1", implicit_permission=False
        ),
    )
    rule = IoTRule("SELECT * FROM 'x'", broker=broker)
    assert rule.invoked_as("my-fn.v2", DEFAULT_SITE) == (
        "iot.amazonaws.com",
        f"arn:aws:iot:us-east-1:{ACCOUNT}:rule/my_fn_v2_IoTRule",
    )
    arn = f"arn:aws:iot:eu-west-1:{ACCOUNT}:rule/Wired_1"
    async with faaslib.Invoker(
        registry, clock=faaslib.VirtualClock(T0), region="eu-west-1", check_permissions=True
    ) as invoker:
        broker.publish("p/listed", {"n": 1})  # SAM's permission comes with the event
        with caplog.at_level(logging.ERROR, logger="faaslib"):
            broker.publish("p/wired", {"n": 1})  # no statement: IoT cannot invoke it
            await invoker.drain()
        assert "iot.amazonaws.com" in caplog.text
        registry.add_permission("wired", "iot", "iot.amazonaws.com", source_arn=arn)
        broker.publish("p/wired", {"n": 2})
        await invoker.drain()
    assert listed == [{"n": 1}]
    assert wired == [{"n": 2}]


async def test_basic_ingest_sends_to_one_rule_by_name() -> None:
    broker = IoTBroker()
    registry = faaslib.Registry()
    named = collector(
        registry,
        "named",
        IoTRule(
            "SELECT topic() AS t, topic(1) AS first FROM 'ignored/by/ingest'",
            broker=broker,
            name="Ingest",
        ),
    )
    other = collector(registry, "other", IoTRule("SELECT * FROM '#'", broker=broker, name="Other"))
    async with faaslib.Invoker(registry, clock=faaslib.VirtualClock(T0)) as invoker:
        broker.publish("$aws/rules/Ingest/buildings/b5/floor2", {"x": 1})
        broker.publish("$aws/rules/Nobody/a", {"x": 1})
        await invoker.drain()
    assert named == [{"t": "buildings/b5/floor2", "first": "buildings"}]
    assert other == []  # "#" never matches a Basic Ingest topic


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        ("", "a topic name is required"),
        ("a/+/c", "wildcards"),
        ("a/#", "wildcards"),
        ("$aws/things/t/shadow/update", "reserved"),
        ("$SYS/x", "reserved"),
        ("$aws/rules/bad-name/x", "rule name"),
        ("x" * 257, "longer than 256 bytes"),
        ("/".join("abcdefghi"), "more than 7 forward slashes"),
        ("a\ud800", "not valid Unicode"),
    ],
)
def test_bad_topics(topic: str, message: str) -> None:
    with pytest.raises(faaslib.InvalidParameterValueException, match=message):
        IoTBroker().publish(topic, {})


def test_payload_limits() -> None:
    broker = IoTBroker()
    broker.publish("a/b/c/d/e/f/g/h", b"x" * 128 * 1024)  # 7 slashes, 128 KB: the limits
    broker.publish("€" * 85, "")  # 255 bytes
    with pytest.raises(faaslib.RequestTooLargeException) as caught:
        broker.publish("a", b"x" * (128 * 1024 + 1))
    assert (caught.value.size, caught.value.limit) == (128 * 1024 + 1, 128 * 1024)
    with pytest.raises(faaslib.InvalidParameterValueException, match="not JSON"):
        broker.publish("a", {"when": object()})


def test_rule_configuration_errors() -> None:
    broker = IoTBroker()
    with pytest.raises(faaslib.ValidationException, match="column 15"):
        IoTRule("SELECT * FROM a", broker=broker)
    with pytest.raises(faaslib.ValidationException, match="ruleName"):
        IoTRule("SELECT * FROM 'a'", broker=broker, name="no-dashes")
    with pytest.raises(faaslib.ValidationException, match="awsIotSqlVersion"):
        IoTRule("SELECT * FROM 'a'", broker=broker, aws_iot_sql_version="2017")
    with pytest.raises(faaslib.InvalidParameterValueException, match="IoTBroker"):
        IoTRule("SELECT * FROM 'a'", broker="broker")  # type: ignore[arg-type]
    with pytest.raises(faaslib.ValidationException, match="ruleDisabled"):
        IoTRule("SELECT * FROM 'a'", broker=broker, enabled="yes")  # type: ignore[arg-type]


async def test_the_default_broker_follows_each_invoker() -> None:
    rule = IoTRule("SELECT timestamp() AS at FROM 'shared/topic'")
    assert rule.broker is default_broker()
    for start in (T0, T0 + 3600):
        registry = faaslib.Registry()
        seen = collector(registry, "shared", rule)
        async with faaslib.Invoker(registry, clock=faaslib.VirtualClock(start)) as invoker:
            default_broker().publish("shared/topic", {})
            await invoker.drain()
        registry.update("shared", events=[])  # the rule goes with its function
        assert seen == [{"at": int(start * 1000)}]


def test_the_event_factory() -> None:
    event = iot_rule_event(
        {"temperature": 40, "device": "d-9"},
        sql="SELECT device, temperature AS t, timestamp() AS at FROM 'sensors/#' WHERE temperature > 30",
        topic="sensors/d-9",
        time=T0,
    )
    assert event == {"device": "d-9", "t": 40, "at": 1_700_000_000_000}
    assert iot_rule_event()["device"] == "sensor-1"
    assert iot_rule_event(sql="SELECT VALUE temperature FROM '#'") == 21.5
    with pytest.raises(faaslib.InvalidParameterValueException, match="does not match"):
        iot_rule_event(sql="SELECT * FROM 'x'", topic="y")
    with pytest.raises(faaslib.InvalidParameterValueException, match="WHERE"):
        iot_rule_event(sql="SELECT * FROM '#' WHERE temperature > 100")
    with pytest.raises(faaslib.InvalidParameterValueException, match="not JSON"):
        iot_rule_event(b"\x00", sql="SELECT * FROM '#'")


async def test_a_handler_publishes_and_another_rule_takes_it() -> None:
    broker = IoTBroker()
    registry = faaslib.Registry()

    @registry.function(events=[IoTRule("SELECT * FROM 'orders/new'", broker=broker)])
    def accept(event: dict[str, Any]) -> None:  # a sync handler: it runs in a worker thread
        broker.publish(f"orders/{event['id']}/accepted", {"id": event["id"]}, client_id="svc")

    accepted = collector(
        registry,
        "accepted",
        IoTRule(
            "SELECT id, topic(2) AS from_topic, clientid() AS by FROM 'orders/+/accepted'",
            broker=broker,
        ),
    )
    async with faaslib.Invoker(registry, clock=faaslib.VirtualClock(T0)) as invoker:
        for n in range(3):
            broker.publish("orders/new", {"id": f"o-{n}"})
        await invoker.drain()
    assert sorted(e["id"] for e in accepted) == ["o-0", "o-1", "o-2"]
    assert all(e["from_topic"] == e["id"] and e["by"] == "svc" for e in accepted)

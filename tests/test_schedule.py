"""Schedules: EventBridge rate and cron expressions, and the runner firing them on a clock."""

from __future__ import annotations

import datetime
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from anyio import CancelScope
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

import faaslib
from faaslib._services.schedule import Schedule, ScheduleRunner

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
REGION = "eu-west-1"
ACCOUNT = "111122223333"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    moment = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def stamp(seconds: float) -> str:
    return f"{datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc):%Y-%m-%dT%H:%M:%S}Z"


# -- expressions --------------------------------------------------------------------------------

VALID = [
    # rates: one period after `after`
    ("rate(1 minute)", utc(2024, 1, 1, 0, 0, 30), utc(2024, 1, 1, 0, 1, 30)),
    ("rate(5 minutes)", utc(2024, 1, 1), utc(2024, 1, 1, 0, 5)),
    ("rate(1 hour)", utc(2024, 1, 1, 23, 30), utc(2024, 1, 2, 0, 30)),
    ("rate(12 hours)", utc(2024, 1, 1), utc(2024, 1, 1, 12)),
    ("rate(1 day)", utc(2024, 2, 28, 6), utc(2024, 2, 29, 6)),
    ("rate(7 days)", utc(2024, 1, 1), utc(2024, 1, 8)),
    ("rate( 2  minutes )", utc(2024, 1, 1), utc(2024, 1, 1, 0, 2)),
    # fixed times: strictly after, at second 0
    ("cron(0 12 * * ? *)", utc(2024, 1, 1, 11, 59, 59), utc(2024, 1, 1, 12)),
    ("cron(0 12 * * ? *)", utc(2024, 1, 1, 12), utc(2024, 1, 2, 12)),
    ("cron(0 12 * * ? *)", utc(2024, 1, 1, 12, 0, 1), utc(2024, 1, 2, 12)),
    ("cron(0 12 ? * * *)", utc(2024, 12, 31, 12), utc(2025, 1, 1, 12)),
    ("cron(59 23 31 DEC ? *)", utc(2024, 12, 31, 23, 59), utc(2025, 12, 31, 23, 59)),
    ("cron(0 8 1 * ? *)", utc(2024, 1, 1, 8), utc(2024, 2, 1, 8)),
    # lists, ranges, increments
    ("cron(0 6,18 * * ? *)", utc(2024, 1, 1, 7), utc(2024, 1, 1, 18)),
    ("cron(0 6,18 * * ? *)", utc(2024, 1, 1, 18), utc(2024, 1, 2, 6)),
    ("cron(0 0 1-7 * ? *)", utc(2024, 1, 7), utc(2024, 2, 1)),
    ("cron(0/15 * * * ? *)", utc(2024, 1, 1, 10, 7), utc(2024, 1, 1, 10, 15)),
    ("cron(0/15 * * * ? *)", utc(2024, 1, 1, 10, 45), utc(2024, 1, 1, 11)),
    ("cron(*/20 * * * ? *)", utc(2024, 1, 1, 10, 41), utc(2024, 1, 1, 11)),
    ("cron(1/10 * * * ? *)", utc(2024, 1, 1), utc(2024, 1, 1, 0, 1)),
    ("cron(1/10 * * * ? *)", utc(2024, 1, 1, 0, 51), utc(2024, 1, 1, 1, 1)),
    ("cron(10-30/10 * * * ? *)", utc(2024, 1, 1, 0, 30), utc(2024, 1, 1, 1, 10)),
    ("cron(0 0 10-20/5 * ? *)", utc(2024, 1, 10), utc(2024, 1, 15)),
    ("cron(0 0 10-20/5 * ? *)", utc(2024, 1, 20), utc(2024, 2, 10)),
    ("cron(0 0 1/10 * ? *)", utc(2024, 1, 21), utc(2024, 1, 31)),
    ("cron(0 0 1 */4 ? *)", utc(2024, 1, 1), utc(2024, 5, 1)),
    ("cron(0/5 8-17 ? * MON-FRI *)", utc(2024, 1, 5, 17, 50), utc(2024, 1, 5, 17, 55)),
    ("cron(0/5 8-17 ? * MON-FRI *)", utc(2024, 1, 5, 17, 55), utc(2024, 1, 8, 8)),
    # month and day names (1 = SUN ... 7 = SAT), any case
    ("cron(0 18 ? * MON-FRI *)", utc(2024, 1, 5, 18), utc(2024, 1, 8, 18)),
    ("cron(30 9 ? JAN,JUL MON *)", utc(2024, 1, 29, 9, 30), utc(2024, 7, 1, 9, 30)),
    ("cron(0 0 1 FEB-MAR ? *)", utc(2024, 3, 1), utc(2025, 2, 1)),
    ("cron(0 0 ? * SUN *)", utc(2024, 1, 1), utc(2024, 1, 7)),
    ("cron(0 0 ? * 1 *)", utc(2024, 1, 1), utc(2024, 1, 7)),
    ("cron(0 0 ? * 7 *)", utc(2024, 1, 1), utc(2024, 1, 6)),
    ("cron(0 0 ? * 2,4,6 *)", utc(2024, 1, 1), utc(2024, 1, 3)),
    ("cron(0 0 ? jan mon *)", utc(2024, 1, 1), utc(2024, 1, 8)),
    # L: last day of the month / the week (SAT) / the last given weekday of the month
    ("cron(0 0 L * ? *)", utc(2024, 2, 1), utc(2024, 2, 29)),
    ("cron(0 0 L * ? *)", utc(2023, 2, 1), utc(2023, 2, 28)),
    ("cron(0 0 L 2 ? *)", utc(2023, 3, 1), utc(2024, 2, 29)),
    ("cron(0 0 ? * L *)", utc(2024, 1, 1), utc(2024, 1, 6)),
    ("cron(15 10 ? * 6L 2019-2022)", utc(2019, 1, 1), utc(2019, 1, 25, 10, 15)),
    ("cron(15 10 ? * 6L 2019-2022)", utc(2019, 1, 25, 10, 15), utc(2019, 2, 22, 10, 15)),
    ("cron(0 0 ? * FRIL *)", utc(2024, 3, 1), utc(2024, 3, 29)),
    # W: the weekday nearest the day, never in another month; LW: the last weekday
    ("cron(0 0 15W * ? *)", utc(2024, 9, 1), utc(2024, 9, 16)),  # 15th a Sunday
    ("cron(0 0 14W * ? *)", utc(2024, 9, 1), utc(2024, 9, 13)),  # 14th a Saturday
    ("cron(0 0 3W * ? *)", utc(2024, 1, 1), utc(2024, 1, 3)),  # a Wednesday
    ("cron(0 0 1W * ? *)", utc(2024, 5, 31), utc(2024, 6, 3)),  # 1st a Saturday: Monday 3rd
    ("cron(0 0 31W * ? *)", utc(2024, 3, 1), utc(2024, 3, 29)),  # 31st a Sunday: Friday
    ("cron(0 0 31W * ? *)", utc(2024, 4, 1), utc(2024, 5, 31)),  # April has no 31st
    ("cron(0 0 LW * ? *)", utc(2024, 8, 1), utc(2024, 8, 30)),  # 31st a Saturday
    ("cron(0 0 LW * ? *)", utc(2024, 3, 1), utc(2024, 3, 29)),  # 31st a Sunday
    ("cron(0 0 LW * ? *)", utc(2024, 4, 1), utc(2024, 4, 30)),
    # #: the nth given weekday of the month
    ("cron(0 9 ? * 2#1 *)", utc(2024, 1, 1, 9), utc(2024, 2, 5, 9)),
    ("cron(0 9 ? * 3#2 *)", utc(2024, 1, 1), utc(2024, 1, 9, 9)),
    ("cron(0 0 ? * 6#5 *)", utc(2024, 1, 1), utc(2024, 3, 29)),  # Jan, Feb: 4 Fridays
    ("cron(0 0 ? * FRI#3 *)", utc(2024, 1, 1), utc(2024, 1, 19)),
    # years
    ("cron(0 0 1 1 ? 2030)", utc(2024, 6, 1), utc(2030, 1, 1)),
    ("cron(0 0 1 1 ? 2020/5)", utc(2024, 6, 1), utc(2025, 1, 1)),
    ("cron(0 0 1 1 ? 2026,2028)", utc(2026, 1, 1), utc(2028, 1, 1)),
    ("cron(0 0 29 2 ? *)", utc(2024, 3, 1), utc(2028, 2, 29)),
    ("cron(0 0 31 12 ? 2199)", utc(2024, 1, 1), utc(2199, 12, 31)),
    # never again
    ("cron(15 10 ? * 6L 2019-2022)", utc(2022, 12, 30, 10, 15), math.inf),
    ("cron(0 12 ? * MON-FRI 2024-2025)", utc(2025, 12, 31, 12), math.inf),
    ("cron(0 0 1 1 ? 1970)", utc(2024, 1, 1), math.inf),
    ("cron(0 0 30 2 ? *)", utc(2024, 1, 1), math.inf),
    ("cron(0 0 * * ? *)", utc(2200, 1, 1), math.inf),
]


@pytest.mark.parametrize(("expression", "after", "expected"), VALID)
def test_next_fire(expression: str, after: float, expected: float) -> None:
    assert Schedule(expression).next_fire(after) == expected


def test_successive_fires() -> None:
    schedule = Schedule("cron(0 0/6 ? * MON,WED *)")
    times = [utc(2024, 1, 1)]
    for _ in range(6):
        times.append(schedule.next_fire(times[-1]))
    assert [stamp(t) for t in times[1:]] == [
        "2024-01-01T06:00:00Z",
        "2024-01-01T12:00:00Z",
        "2024-01-01T18:00:00Z",
        "2024-01-03T00:00:00Z",
        "2024-01-03T06:00:00Z",
        "2024-01-03T12:00:00Z",
    ]


INVALID = [
    "",
    "rate(5 minute)",  # a value over 1 takes the plural
    "rate(1 minutes)",  # and 1 the singular
    "rate(2 hour)",
    "rate(1 days)",
    "rate(0 minutes)",
    "rate(-1 minutes)",
    "rate(1.5 hours)",
    "rate(5 seconds)",
    "rate(2 weeks)",
    "rate(5minutes)",
    "rate(minutes)",
    "rate(5 Minutes)",
    "Rate(5 minutes)",
    "rate 5 minutes",
    "rate(5 minutes",
    " rate(5 minutes)",
    "at(2024-01-01T00:00:00)",
    "0 12 * * ? *",
    "cron()",
    "cron(0 12 * * ?)",  # five fields
    "cron(0 12 * * ? * *)",  # seven
    "cron(0 12 * * * *)",  # day-of-month and day-of-week both given
    "cron(0 12 1 * 2 *)",
    "cron(0 12 ? * ? *)",  # or both "?"
    "cron(60 * * * ? *)",
    "cron(0 24 * * ? *)",
    "cron(0 0 0 * ? *)",
    "cron(0 0 32 * ? *)",
    "cron(0 0 1 0 ? *)",
    "cron(0 0 1 13 ? *)",
    "cron(0 0 ? * 0 *)",
    "cron(0 0 ? * 8 *)",
    "cron(0 0 1 * ? 1969)",
    "cron(0 0 1 * ? 2200)",
    "cron(0/0 * * * ? *)",
    "cron(*/ * * * ? *)",
    "cron(5-1 * * * ? *)",
    "cron(1- * * * ? *)",
    "cron(,0 * * * ? *)",
    "cron(0, * * * ? *)",
    "cron(a * * * ? *)",
    "cron(? * * * ? *)",
    "cron(L * * * ? *)",
    "cron(0 0 1 FOO ? *)",
    "cron(0 0 ? * MONDAY *)",
    "cron(0 0 1 * ? *)x",
    "cron(0 0 ? * */2 *)",  # no increments in day-of-week
    "cron(0 0 ? * 3#1,6#3 *)",  # only one n#k
    "cron(0 0 ? * 3#0 *)",
    "cron(0 0 ? * 3#6 *)",
    "cron(0 0 ? * 8#1 *)",
    "cron(0 0 ? * #1 *)",
    "cron(0 0 ? * 2L,3 *)",
    "cron(0 0 ? * 8L *)",
    "cron(0 0 ? * W *)",
    "cron(0 0 W * ? *)",
    "cron(0 0 32W * ? *)",
    "cron(0 0 1,L * ? *)",
    "cron(0 0 L-2 * ? *)",
    "cron(0 0 1-5W * ? *)",
    "cron(0 0 1 * L *)",
    "cron(0 0 1 * ? L)",
    "cron(0 0 1 * ? " + "1" * 300 + ")",
]


@pytest.mark.parametrize("expression", INVALID)
def test_invalid_expression(expression: str) -> None:
    with pytest.raises(faaslib.ValidationException) as caught:
        Schedule(expression)
    assert caught.value.field == "ScheduleExpression"
    assert "Parameter ScheduleExpression is not valid." in str(caught.value)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Schedule(5), "ScheduleExpression"),  # type: ignore[arg-type]
        (lambda: Schedule("rate(1 day)", enabled="yes"), "enabled"),  # type: ignore[arg-type]
        (lambda: Schedule("rate(1 day)", input=[1]), "Input"),  # type: ignore[arg-type]
        (lambda: Schedule("rate(1 day)", input={"x": object()}), "Input"),
        (lambda: Schedule("rate(1 day)", input={"x": "y" * 9000}), "Input"),
        (lambda: Schedule("rate(1 day)", name="bad name"), "Name"),
        (lambda: Schedule("rate(1 day)", name=""), "Name"),
        (lambda: Schedule("rate(1 day)", name="n" * 65), "Name"),
    ],
)
def test_invalid_schedule(make: Any, field: str) -> None:
    with pytest.raises(faaslib.ValidationException) as caught:
        make()
    assert caught.value.field == field


def test_a_schedule_is_a_trigger() -> None:
    registry = faaslib.Registry()

    @registry.function(events=[Schedule("rate(1 hour)", name="hourly.job-1")])
    async def job(event: dict[str, Any]) -> None: ...

    [trigger] = registry.get("job").events
    assert isinstance(trigger, faaslib.Trigger)


# -- the runner ---------------------------------------------------------------------------------


class Recorder:
    """An ``invoke`` that records its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, str]] = []
        #: Who each call invoked as: the service principal and the source (rule) ARN.
        self.callers: list[tuple[str | None, str | None]] = []

    @property
    def events(self) -> list[Any]:
        return [payload for _, payload, _ in self.calls]

    async def __call__(
        self,
        function_name: str,
        payload: Any,
        invocation_type: str,
        *,
        principal: str | None = None,
        source_arn: str | None = None,
    ) -> None:
        self.calls.append((function_name, payload, invocation_type))
        self.callers.append((principal, source_arn))


def make_runner(
    clock: faaslib.VirtualClock, trigger: Schedule, invoke: Any, function_name: str = "tick"
) -> ScheduleRunner:
    return ScheduleRunner(function_name, trigger, clock, invoke, region=REGION, account=ACCOUNT)


@asynccontextmanager
async def running(runner: ScheduleRunner) -> AsyncIterator[None]:
    """Run ``runner`` as the invoker does: in a task, in its own cancel scope."""

    async def run() -> None:
        with CancelScope() as runner.scope:
            await runner.run()

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        yield
        group.cancel_scope.cancel()


async def test_rate_fires_each_period_from_its_start() -> None:
    clock = faaslib.VirtualClock(T0)
    record = Recorder()
    runner = make_runner(clock, Schedule("rate(5 minutes)"), record)
    async with running(runner):
        await runner.wait_settled()
        clock.advance(240)
        await runner.wait_settled()
        assert record.calls == []
        clock.advance(60)
        await runner.wait_settled()
        [(name, event, kind)] = record.calls
        assert (name, kind) == ("tick", "Event")
        rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/tick-schedule"
        assert record.callers == [("events.amazonaws.com", rule)]  # for the function's policy
        assert event == {
            "version": "0",
            "id": event["id"],
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": "2023-11-14T22:18:20Z",
            "region": REGION,
            "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/tick-schedule"],
            "detail": {},
        }
        parsed = EventBridgeModel.model_validate(event)
        assert parsed.detail_type == "Scheduled Event"
        assert parsed.source == "aws.events"
        assert parsed.time == datetime.datetime(
            2023, 11, 14, 22, 18, 20, tzinfo=datetime.timezone.utc
        )
        assert parsed.resources == [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/tick-schedule"]
        assert parsed.detail == {}

        clock.advance(3600)  # twelve fire times passed at once: each is fired, in order
        await runner.wait_settled()
        events = record.events
        assert [e["time"] for e in events[1:]] == [stamp(T0 + 300 * n) for n in range(2, 14)]
        assert len({e["id"] for e in events}) == 13
        for e in events:
            EventBridgeModel.model_validate(e)
        assert runner.next_fire_time == T0 + 300 * 14
        assert runner.settled()


async def test_rate_fires_when_the_clock_reaches_the_time_exactly() -> None:
    clock = faaslib.VirtualClock(T0 + 0.75)  # event times are to the second
    record = Recorder()
    runner = make_runner(clock, Schedule("rate(1 minute)"), record)
    async with running(runner):
        clock.advance(60)
        await runner.wait_settled()
        clock.advance(59.9)
        await runner.wait_settled()
    assert [e["time"] for e in record.events] == ["2023-11-14T22:14:20Z"]


async def test_cron_fires_at_each_matching_minute() -> None:
    clock = faaslib.VirtualClock(T0)  # 22:13:20
    record = Recorder()
    schedule = Schedule("cron(0/15 * * * ? *)", name="quarter-hours")
    runner = make_runner(clock, schedule, record)
    assert runner.next_fire_time == utc(2023, 11, 14, 22, 15)
    async with running(runner):
        clock.advance(99)
        await runner.wait_settled()
        assert record.calls == []
        clock.advance(1)
        await runner.wait_settled()
        clock.advance(45 * 60)  # 23:00
        await runner.wait_settled()
    assert [e["time"] for e in record.events] == [
        "2023-11-14T22:15:00Z",
        "2023-11-14T22:30:00Z",
        "2023-11-14T22:45:00Z",
        "2023-11-14T23:00:00Z",
    ]
    arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/quarter-hours"
    assert all(e["resources"] == [arn] for e in record.events)


async def test_input_replaces_the_scheduled_event() -> None:
    clock = faaslib.VirtualClock(T0)
    record = Recorder()
    schedule = Schedule("rate(1 minute)", input={"job": "cleanup", "tags": ("a", "b")})
    runner = make_runner(clock, schedule, record)
    async with running(runner):
        clock.advance(180)
        await runner.wait_settled()
    events = record.events
    assert events == [{"job": "cleanup", "tags": ["a", "b"]}] * 3  # as JSON
    events[0]["tags"].append("c")  # each fire has its own copy
    assert events[1] == {"job": "cleanup", "tags": ["a", "b"]}
    assert schedule.input == {"job": "cleanup", "tags": ("a", "b")}


async def test_a_disabled_schedule_never_fires() -> None:
    clock = faaslib.VirtualClock(T0)
    record = Recorder()
    runner = make_runner(clock, Schedule("rate(1 minute)", enabled=False), record)
    async with running(runner):
        clock.advance(86400)
        assert runner.settled()
        await runner.wait_settled()
    assert record.calls == []
    assert runner.next_fire_time == math.inf


async def test_a_schedule_with_no_time_left_never_fires() -> None:
    clock = faaslib.VirtualClock(T0)
    record = Recorder()
    runner = make_runner(clock, Schedule("cron(0 0 * * ? 2020)"), record)
    async with running(runner):
        clock.advance(86400 * 400)
        await runner.wait_settled()
    assert record.calls == []
    assert runner.settled()


async def test_an_invoke_error_is_logged_and_the_schedule_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = faaslib.VirtualClock(T0)
    calls: list[Any] = []

    async def invoke(function_name: str, payload: Any, invocation_type: str, **caller: Any) -> None:
        calls.append(payload)
        if len(calls) == 1:
            raise faaslib.InvalidRequestContentException(
                "does not fit", function_name=function_name
            )

    runner = make_runner(clock, Schedule("rate(1 minute)", name="nightly"), invoke)
    with caplog.at_level(logging.ERROR, logger="faaslib"):
        async with running(runner):
            clock.advance(120)
            await runner.wait_settled()
            clock.advance(60)
            await runner.wait_settled()
    assert [e["time"] for e in calls] == [stamp(T0 + 60 * n) for n in (1, 2, 3)]
    [logged] = [r for r in caplog.records if r.name == "faaslib"]
    assert logged.levelno == logging.ERROR
    assert "nightly" in logged.getMessage()
    assert "tick" in logged.getMessage()
    assert "does not fit" in logged.getMessage()


async def test_settled_while_nothing_is_due() -> None:
    clock = faaslib.VirtualClock(T0)
    record = Recorder()
    runner = make_runner(clock, Schedule("rate(1 minute)"), record)
    assert runner.settled()
    clock.advance(60)  # due before the runner even started
    assert not runner.settled()
    async with running(runner):
        await runner.wait_settled()
        assert runner.settled()
        assert len(record.calls) == 1
        clock.advance(30)
        assert runner.settled()


async def test_wait_settled_waits_for_an_invoke_in_flight() -> None:
    clock = faaslib.VirtualClock(T0)
    entered = anyio.Event()
    release = anyio.Event()
    done: list[float] = []

    async def invoke(function_name: str, payload: Any, invocation_type: str, **caller: Any) -> None:
        entered.set()
        await release.wait()
        done.append(clock.time())

    runner = make_runner(clock, Schedule("rate(1 minute)"), invoke)
    async with running(runner), anyio.create_task_group() as group:
        clock.advance(60)
        settled = anyio.Event()

        async def wait() -> None:
            await runner.wait_settled()
            settled.set()

        group.start_soon(wait)
        await entered.wait()
        assert not runner.settled()
        for _ in range(10):
            await anyio.lowlevel.checkpoint()
        assert not settled.is_set()
        release.set()
        with anyio.fail_after(5):
            await settled.wait()
        assert runner.settled()
        assert done == [T0 + 60]


async def test_events_reach_a_function_through_the_invoker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = faaslib.VirtualClock(T0)
    registry = faaslib.Registry()
    seen: list[EventBridgeModel] = []

    @registry.function()
    async def tick(event: EventBridgeModel) -> None:
        seen.append(event)

    @registry.function()
    async def wants_an_int(event: int) -> None: ...

    async with faaslib.Invoker(registry, clock=clock, region=REGION, account_id=ACCOUNT) as invoker:
        good = make_runner(clock, Schedule("rate(1 hour)"), invoker.invoke)
        bad = make_runner(clock, Schedule("rate(1 hour)"), invoker.invoke, "wants_an_int")
        async with running(good), running(bad):
            clock.advance(7200)
            await good.wait_settled()
            await bad.wait_settled()
            await invoker.drain()
    assert [e.time for e in seen] == [
        datetime.datetime(2023, 11, 14, 23, 13, 20, tzinfo=datetime.timezone.utc),
        datetime.datetime(2023, 11, 15, 0, 13, 20, tzinfo=datetime.timezone.utc),
    ]
    assert seen[0].account == ACCOUNT
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert all("wants_an_int-schedule" in r.getMessage() for r in errors)

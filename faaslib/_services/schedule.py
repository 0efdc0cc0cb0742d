"""Schedules: EventBridge rules with a ``rate(...)`` or ``cron(...)`` expression that invoke a
function (SAM's ``Schedule`` event), and the runner that fires them on the invoker's clock."""

from __future__ import annotations

import bisect
import calendar
import datetime
import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import anyio
import pydantic_core

from .._errors import FaaslibError, ValidationException
from .._ids import new_request_id
from .._triggers import Trigger, TriggerHost
from .records import utc

if TYPE_CHECKING:
    from anyio import CancelScope

    from .._clock import Clock
    from .._site import Site

__all__ = ["Schedule", "ScheduleRunner", "eventbridge_event", "rule_arn", "scheduled_event"]

logger = logging.getLogger("faaslib")

_INVALID = "Parameter ScheduleExpression is not valid."
_MAX_EXPRESSION = 256  # PutRule's ScheduleExpression
_MAX_INPUT = 8192  # PutTargets' Input
_RULE_NAME = re.compile(r"[.\-_A-Za-z0-9]{1,64}")
_RATE = re.compile(r"rate\(\s*([0-9]+)\s+([a-z]+)\s*\)")
_CRON = re.compile(r"cron\((.*)\)", re.DOTALL)
_NUMBER = re.compile(r"[0-9]{1,4}")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTHS = {name: n for n, name in enumerate(_MONTH_NAMES, 1)}
_WEEKDAYS = {name: n for n, name in enumerate(_DAY_NAMES, 1)}
_SATURDAY, _SUNDAY = 7, 1
_LAST_YEAR = 2199
_EPOCH = datetime.datetime(1970, 1, 1)  # naive: UTC throughout
_END = calendar.timegm((_LAST_YEAR + 1, 1, 1, 0, 0, 0))


class _Invalid(Exception):
    """The expression breaks EventBridge's syntax (turned into a ValidationException)."""


# -- cron fields --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    low: int
    high: int
    names: Mapping[str, int]
    steps: bool = True  # whether "/" is allowed

    def value(self, token: str) -> int:
        number = self.names.get(token.upper())
        if number is None:
            if not _NUMBER.fullmatch(token):
                raise _Invalid(token)
            number = int(token)
        if not self.low <= number <= self.high:
            raise _Invalid(token)
        return number

    def values(self, text: str) -> tuple[int, ...]:
        """The sorted values of a field of lists, ranges, ``*`` and increments."""
        chosen: set[int] = set()
        for item in text.split(","):
            base, slash, increment = item.partition("/")
            step = 1
            if slash:
                if not self.steps or not _NUMBER.fullmatch(increment) or int(increment) < 1:
                    raise _Invalid(item)
                step = int(increment)
            if base == "*":
                low, high = self.low, self.high
            elif "-" in base:
                first, _, last = base.partition("-")
                low, high = self.value(first), self.value(last)
                if low > high:
                    raise _Invalid(item)
            else:
                low = self.value(base)
                high = self.high if slash else low
            chosen.update(range(low, high + 1, step))
        return tuple(sorted(chosen))


_MINUTE = _Field(0, 59, {})
_HOUR = _Field(0, 23, {})
_DAY_OF_MONTH = _Field(1, 31, {})
_MONTH = _Field(1, 12, _MONTHS)
_DAY_OF_WEEK = _Field(1, 7, _WEEKDAYS, steps=False)
_YEAR = _Field(1970, _LAST_YEAR, {})

_DayKind = Literal["days", "last", "weekday", "last_weekday", "weekdays", "last_of", "nth_of"]


@dataclass(frozen=True)
class _Days:
    """Which days of a month a cron expression runs on: the rule of its day-of-month field, or
    of its day-of-week field (the other one is ``?``)."""

    kind: _DayKind
    values: tuple[int, ...] = ()  # days of the month, or days of the week (1 = SUN)
    n: int = 0  # nW's day, nL's and n#k's day of the week
    k: int = 0  # n#k's k

    def days(self, year: int, month: int) -> tuple[int, ...]:
        first, length = calendar.monthrange(year, month)  # first: Monday = 0

        def weekday(day: int) -> int:  # EventBridge's: 1 = SUN ... 7 = SAT
            return (first + day) % 7 + 1

        kind = self.kind
        if kind == "days":
            return tuple(d for d in self.values if d <= length)
        if kind == "last":
            return (length,)
        if kind in ("weekday", "last_weekday"):
            day = length if kind == "last_weekday" else self.n
            if day > length:
                return ()
            if weekday(day) == _SATURDAY:
                day = day + 2 if day == 1 else day - 1  # never into another month
            elif weekday(day) == _SUNDAY:
                day = day - 2 if day == length else day + 1
            return (day,)
        if kind == "weekdays":
            return tuple(d for d in range(1, length + 1) if weekday(d) in self.values)
        if kind == "last_of":
            return (length - (weekday(length) - self.n) % 7,)
        day = 1 + (self.n - weekday(1)) % 7 + 7 * (self.k - 1)  # nth_of
        return (day,) if day <= length else ()


def _day_of_month(text: str) -> _Days | None:
    if text == "?":
        return None
    if text == "L":
        return _Days("last")
    if text == "LW":
        return _Days("last_weekday")
    if text.endswith("W"):
        return _Days("weekday", n=_DAY_OF_MONTH.value(text[:-1]))
    return _Days("days", _DAY_OF_MONTH.values(text))


def _day_of_week(text: str) -> _Days | None:
    if text == "?":
        return None
    if text == "L":  # the last day of the week
        return _Days("weekdays", (_SATURDAY,))
    if text.endswith("L"):
        return _Days("last_of", n=_DAY_OF_WEEK.value(text[:-1]))
    if "#" in text:  # one n#k only: "3#1,6#3" is not valid
        day, _, nth = text.partition("#")
        if not _NUMBER.fullmatch(nth) or not 1 <= int(nth) <= 5:
            raise _Invalid(text)
        return _Days("nth_of", n=_DAY_OF_WEEK.value(day), k=int(nth))
    return _Days("weekdays", _DAY_OF_WEEK.values(text))


def _next(values: tuple[int, ...], value: int) -> int | None:
    """The smallest of the sorted ``values`` at least ``value``."""
    i = bisect.bisect_left(values, value)
    return values[i] if i < len(values) else None


@dataclass(frozen=True)
class _Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: _Days
    months: tuple[int, ...]
    years: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> _Cron:
        fields = text.split()
        if len(fields) != 6:
            raise _Invalid(text)
        minutes, hours, dom, month, dow, year = fields
        by_month, by_week = _day_of_month(dom.upper()), _day_of_week(dow.upper())
        if (by_month is None) == (by_week is None):  # exactly one of them is "?"
            raise _Invalid(text)
        days = by_month if by_month is not None else by_week
        assert days is not None
        return cls(
            _MINUTE.values(minutes),
            _HOUR.values(hours),
            days,
            _MONTH.values(month),
            _YEAR.values(year),
        )

    def after(self, after: float) -> float:
        """The first matching minute strictly after ``after``, or ``math.inf``."""
        if after >= _END:
            return math.inf
        start = (math.floor(after / 60) + 1) * 60
        t = _EPOCH + datetime.timedelta(seconds=max(start, 0))  # no year before 1970 fires
        year, month, day, hour, minute = t.year, t.month, t.day, t.hour, t.minute
        while True:
            y = _next(self.years, year)
            if y is None:
                return math.inf
            if y != year:
                year, month, day, hour, minute = y, 1, 1, 0, 0
            m = _next(self.months, month)
            if m is None:
                year, month, day, hour, minute = year + 1, 1, 1, 0, 0
                continue
            if m != month:
                month, day, hour, minute = m, 1, 0, 0
            d = _next(self.days.days(year, month), day)
            if d is None:
                month, day, hour, minute = month + 1, 1, 0, 0
                continue
            if d != day:
                day, hour, minute = d, 0, 0
            h = _next(self.hours, hour)
            if h is None:
                day, hour, minute = day + 1, 0, 0
                continue
            if h != hour:
                hour, minute = h, 0
            mi = _next(self.minutes, minute)
            if mi is None:
                hour, minute = hour + 1, 0
                continue
            return float(calendar.timegm((year, month, day, hour, mi, 0)))


@dataclass(frozen=True)
class _Rate:
    seconds: int

    @classmethod
    def parse(cls, value: str, unit: str) -> _Rate:
        number = int(value)
        singular = unit.removesuffix("s")
        if number < 1 or singular not in _UNITS or (unit == singular) != (number == 1):
            raise _Invalid(unit)  # rate(1 minute), rate(5 minutes): never rate(5 minute)
        return cls(number * _UNITS[singular])

    def after(self, after: float) -> float:
        return after + self.seconds


def _parse(expression: object) -> _Rate | _Cron:
    if not isinstance(expression, str) or len(expression) > _MAX_EXPRESSION:
        raise _Invalid(expression)
    rate = _RATE.fullmatch(expression)
    if rate:
        return _Rate.parse(rate[1], rate[2])
    cron = _CRON.fullmatch(expression)
    if cron:
        return _Cron.parse(cron[1])
    raise _Invalid(expression)


# -- the trigger --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Schedule(Trigger):
    """Invoke the function (invocation type Event) on a schedule, as an EventBridge rule does
    (SAM's ``Schedule`` event).

    Rate schedules fire one period after the rule starts (when the invoker starts running
    it), then every period. Cron schedules fire at each matching minute (second 0), in UTC.

    :param expression: ``rate(1 minute)``, ``rate(5 minutes)``, ``rate(1 hour)``,
        ``rate(2 days)`` (a value of 1 takes the singular unit, others the plural), or
        ``cron(minutes hours day-of-month month day-of-week year)`` with EventBridge's
        wildcards ``, - * / ? L W #``, month names ``JAN``-``DEC`` and day names
        ``SUN``-``SAT`` (1 = SUN ... 7 = SAT); one of day-of-month and day-of-week is ``?``
    :param enabled: whether the rule fires
    :param input: JSON the function gets instead of the Scheduled Event (SAM's ``Input``)
    :param name: the rule's name (default: derived from the function's name)
    :raises ~faaslib.ValidationException: an invalid expression, input or name
    """

    faas_trigger: ClassVar[str] = "timer"

    expression: str
    enabled: bool = True
    input: Mapping[str, Any] | None = None
    name: str | None = None
    _rule: _Rate | _Cron = field(init=False, repr=False)
    _input_json: bytes | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            rule = _parse(self.expression)
        except _Invalid:
            raise ValidationException("ScheduleExpression", self.expression, _INVALID) from None
        object.__setattr__(self, "_rule", rule)
        if not isinstance(self.enabled, bool):
            raise ValidationException("enabled", self.enabled, "Member must be a boolean")
        if self.input is not None:
            if not isinstance(self.input, Mapping):
                raise ValidationException("Input", self.input, "Member must be a JSON object")
            try:
                text = pydantic_core.to_json(dict(self.input))
            except pydantic_core.PydanticSerializationError:
                raise ValidationException(
                    "Input", self.input, "Member must be valid JSON text"
                ) from None
            if len(text) > _MAX_INPUT:
                raise ValidationException(
                    "Input",
                    self.input,
                    f"Member must have length less than or equal to {_MAX_INPUT}",
                )
            object.__setattr__(self, "_input_json", text)
        if self.name is not None and (
            not isinstance(self.name, str) or not _RULE_NAME.fullmatch(self.name)
        ):
            raise ValidationException(
                "Name",
                self.name,
                r"Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+ "
                "and have length from 1 to 64",
            )

    def rule_name(self, function_name: str) -> str:
        """The rule's name: :attr:`name`, else one made from the function's name."""
        return self.name or f"{function_name[:55]}-schedule"

    def invoked_as(self, function_name: str, site: Site) -> tuple[str, str]:
        arn = rule_arn(site.region, site.account_id, self.rule_name(function_name))
        return "events.amazonaws.com", arn

    def runner(self, function_name: str, host: TriggerHost) -> ScheduleRunner:
        """A runner firing this schedule for ``function_name`` on the invoker's clock."""
        site = host.site
        return ScheduleRunner(
            function_name,
            self,
            site.clock,
            host.invoke,
            region=site.region,
            account=site.account_id,
        )

    def next_fire(self, after: float) -> float:
        """The first fire time strictly after ``after`` (epoch seconds, UTC).

        For a rate that is one period later (a rate counts from its rule's start, then from
        each fire); for a cron the first matching minute, or ``math.inf`` if none is left
        (the year field ends before, or no date matches, as ``cron(0 0 30 2 ? *)``).
        """
        return self._rule.after(after)

    def event(self) -> dict[str, Any] | None:
        """A fresh copy of :attr:`input`, or ``None`` when the Scheduled Event is sent."""
        if self._input_json is None:
            return None
        result: dict[str, Any] = pydantic_core.from_json(self._input_json)
        return result


# -- the runner ---------------------------------------------------------------------------------


class ScheduleRunner:
    """Fires a :class:`Schedule` on a clock: an Event invocation of the function at each fire
    time, on the invoker's task group.

    The rule starts when the runner is made: a rate schedule first fires one period later.
    When the clock passes several fire times at once (a :class:`~faaslib.VirtualClock`
    advanced by an hour), each is fired in turn, with its own time, as EventBridge would have.
    """

    def __init__(
        self,
        function_name: str,
        trigger: Schedule,
        clock: Clock,
        invoke: Callable[..., Awaitable[Any]],
        *,
        region: str,
        account: str,
    ) -> None:
        self.function_name = function_name
        self.trigger = trigger
        self.rule_name = trigger.rule_name(function_name)
        self.rule_arn = rule_arn(region, account, self.rule_name)
        self._clock = clock
        self._invoke = invoke
        self._region = region
        self._account = account
        self._due = trigger.next_fire(clock.time()) if trigger.enabled else math.inf
        self._busy = False
        self._idle: anyio.Event | None = None
        self.scope: CancelScope | None = None

    @property
    def next_fire_time(self) -> float:
        """When the schedule fires next (epoch seconds; ``math.inf``: never)."""
        return self._due

    def _event(self, time: float) -> dict[str, Any]:
        given = self.trigger.event()
        if given is not None:
            return given
        return scheduled_event(
            rule_arn=self.rule_arn,
            time=time,
            region=self._region,
            account=self._account,
            event_id=new_request_id(),
        )

    async def run(self) -> None:
        while True:
            due = self._due
            if due > self._clock.time():
                if self._idle is not None:
                    self._idle.set()
                    self._idle = None
                if due == math.inf:
                    await anyio.sleep_forever()
                await self._clock.sleep_until(due)
                continue
            self._busy = True
            try:
                await self._invoke(
                    self.function_name,
                    self._event(due),
                    "Event",
                    principal="events.amazonaws.com",
                    source_arn=self.rule_arn,
                )
            except FaaslibError as exc:  # this fire is lost; the schedule goes on
                logger.error(
                    "Schedule %s could not invoke function %s: %s",
                    self.rule_name,
                    self.function_name,
                    exc,
                )
            finally:
                self._busy = False
            self._due = self.trigger.next_fire(due)

    def settled(self) -> bool:
        """Nothing is due: the runner waits for a time later than the clock's now."""
        return not self._busy and self._due > self._clock.time()

    async def wait_settled(self) -> None:
        while not self.settled():
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()

    def __repr__(self) -> str:
        return f"<ScheduleRunner {self.rule_name} {self.trigger.expression!r}>"


# -- the event ----------------------------------------------------------------------------------


def rule_arn(region: str, account: str, name: str) -> str:
    """The ARN of an EventBridge rule (on the default event bus)."""
    return f"arn:aws:events:{region}:{account}:rule/{name}"


def scheduled_event(
    *, rule_arn: str, time: float, region: str, account: str, event_id: str
) -> dict[str, Any]:
    """The event an EventBridge schedule rule sends (``detail-type`` ``"Scheduled Event"``).

    ``time`` becomes ``2015-10-08T16:53:06Z`` (ISO 8601, UTC, to the second).
    """
    return eventbridge_event(
        detail_type="Scheduled Event",
        source="aws.events",
        detail={},
        resources=[rule_arn],
        time=time,
        region=region,
        account=account,
        event_id=event_id,
    )


def eventbridge_event(
    *,
    detail_type: str,
    source: str,
    detail: Any,
    resources: Sequence[str],
    time: float,
    region: str,
    account: str,
    event_id: str,
) -> dict[str, Any]:
    """An EventBridge event as a rule's Lambda target receives it.

    ``time`` becomes ``2015-10-08T16:53:06Z`` (ISO 8601, UTC, to the second).
    """
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": f"{utc(math.floor(time)):%Y-%m-%dT%H:%M:%S}Z",
        "region": region,
        "resources": list(resources),
        "detail": detail,
    }

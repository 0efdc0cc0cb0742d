"""Triggers: the event sources a function declares, under Lambda's (and SAM's) own names.

:class:`Trigger` is what every trigger is: the invoker asks one for a :class:`TriggerRunner`
(a mapping that polls, a pump that pushes, a schedule) and runs it on its task group,
without knowing the kind. Each service module defines its triggers beside its runner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from anyio import CancelScope

from ._arn import function_arn
from ._errors import ValidationException
from ._history import History
from ._result import InvocationResult
from ._site import Site

__all__ = [
    "REPORT_BATCH_ITEM_FAILURES",
    "Deliver",
    "Invoke",
    "Invokes",
    "Trigger",
    "TriggerHost",
    "TriggerRunner",
    "check_whole",
    "response_types",
]


class Invokes(Protocol):
    """What a service the caller drives with an invoker (a bot, a stack, a batch job) needs of
    it: its ``site`` (which the service follows), and ``invoke``, as the service's principal
    for the service's resource."""

    @property
    def site(self) -> Site: ...

    async def invoke(
        self,
        function_name: str,
        payload: object = ...,
        invocation_type: Literal["RequestResponse", "Event", "DryRun"] = ...,
        *,
        principal: str | None = ...,
        source_arn: str | None = ...,
    ) -> InvocationResult: ...


#: The invoker's ``invoke(function_name, payload, invocation_type)``.
Invoke = Callable[..., Awaitable[InvocationResult]]
#: Where a runner sends a record: a destination (a function name or ARN, a target, a
#: callable), the message, and SQS-shaped message attributes or ``None``.
Deliver = Callable[[object, Any], Awaitable[None]]

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


def check_whole(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationException(
            name, value, f"Member must be a whole number from {low} to {high}"
        )


def response_types(value: Sequence[str]) -> tuple[str, ...]:
    types = tuple(value)
    for item in types:
        if item != REPORT_BATCH_ITEM_FAILURES:
            raise ValidationException(
                "functionResponseTypes",
                item,
                "Member must satisfy enum value set: [ReportBatchItemFailures]",
            )
    return types


@dataclass(frozen=True)
class TriggerHost:
    """What a trigger's runner gets from the invoker that runs it."""

    #: The invoker's region, account id and clock (a source follows them in what it was
    #: not given).
    site: Site
    invoke: Invoke
    deliver: Deliver
    #: The invoker's record of invocations, when it keeps one (a mapping tells it where each
    #: record of a batch went).
    history: History | None = None

    def function_arn(self, function_name: str) -> str:
        return function_arn(self.site.region, self.site.account_id, function_name)

    def role_arn(self, function_name: str) -> str:
        return f"arn:aws:iam::{self.site.account_id}:role/{function_name}-role"


class TriggerRunner(Protocol):
    """A trigger running for one function: the invoker starts :meth:`run` on its task
    group in :attr:`scope` (cancelled when no function lists the trigger any more), and asks
    whether it has settled, as ``drain()`` does."""

    scope: CancelScope | None

    async def run(self) -> None: ...

    def settled(self) -> bool:
        """Whether it has done all its source holds for now."""
        ...

    async def wait_settled(self) -> None:
        """Wait until :meth:`settled` is true."""
        ...


@dataclass(frozen=True, eq=False)
class Trigger:
    """Base of the event sources a function lists in ``events=[...]``.

    :param implicit_permission: whether the function's policy lets the source's service
        invoke it without a statement, as SAM writes an ``AWS::Lambda::Permission`` for each
        event it lists (``False``: a source wired by CloudFormation alone, which needs one; see
        :meth:`~faaslib.Registry.add_permission`)
    """

    #: What OpenTelemetry's ``faas.trigger`` calls it: ``http``, ``pubsub``, ``datasource``,
    #: ``timer`` or ``other``.
    faas_trigger: ClassVar[str] = "other"

    implicit_permission: bool = field(default=True, kw_only=True, repr=False)

    def invoked_as(self, function_name: str, site: Site) -> tuple[str, str] | None:
        """The service principal and source ARN the source invokes ``function_name`` as, in
        the invoker at ``site``; ``None`` for Lambda's own invocations (event source mappings
        poll with the function's execution role, not its policy)."""
        return None

    def _check_attach(self, leaving: Sequence[Trigger] = ()) -> None:
        """Raise the error the service answers if this trigger cannot be added now (a limit
        reached), ``leaving`` going as it comes; called before a registry lists it, so
        nothing changes when it raises."""

    def _attach(self) -> None:
        """A function's spec now lists this trigger (see :class:`~faaslib.Registry`)."""

    def _detach(self) -> None:
        """A function's spec no longer lists this trigger."""

    def runner(self, function_name: str, host: TriggerHost) -> TriggerRunner:
        """The runner of this trigger for ``function_name``, in the invoker ``host`` stands
        for (a trigger kind defines it)."""
        raise NotImplementedError(f"{type(self).__name__} does not say how it runs")

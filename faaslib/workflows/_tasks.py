"""``Task`` states that invoke Lambda functions, as Step Functions runs them.

``"Resource": "arn:aws:states:::lambda:invoke"`` (the optimized integration) takes Lambda's
``Invoke`` parameters (``FunctionName``, ``Payload``, ``Qualifier``, ``InvocationType``) and
gives the whole ``Invoke`` answer (``Payload``, ``StatusCode``, ``ExecutedVersion``, the SDK's
metadata); ``...lambda:invoke.waitForTaskToken`` then waits for the task token's answer. A
function's ARN as the ``Resource`` (the older form) gives the function's answer itself. A
function error is the task's error named by its ``errorType``; an ``Invoke`` that Lambda
refuses is ``Lambda.<its error code>`` (``Lambda.TooManyRequestsException``).
"""

from __future__ import annotations

import email.utils
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from .._arn import parse_function_arn
from .._depth import loads_within
from .._errors import FaaslibError
from ._failure import DATA_LIMIT_EXCEEDED, HEARTBEAT_TIMEOUT, RUNTIME, TIMEOUT, StatesFailure
from ._history import MAX_DATA, NO_DETAILS, Strand, as_text, limited_text
from ._paths import number_field
from ._templates import resolve_template

if TYPE_CHECKING:
    from .._result import InvocationResult
    from ._host import Interpreting
    from ._tokens import Waiting

__all__ = ["LAMBDA_INVOKE", "run_task"]

T = TypeVar("T")
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
WAIT_FOR_TOKEN = ".waitForTaskToken"
#: What a task sends, in the cause of a ``States.DataLimitExceeded``.
_INPUT = "has an input, after Parameters,"


async def run_task(
    interpreter: Interpreting,
    state: Mapping[str, Any],
    data: Any,
    context: dict[str, Any],
    strand: Strand,
) -> Any:
    """The result of a Task state's work on its effective input ``data``."""
    resource = state["Resource"]
    timeout = _seconds(state, "TimeoutSeconds", data, context)
    if resource in (LAMBDA_INVOKE, LAMBDA_INVOKE + WAIT_FOR_TOKEN):
        task = _IntegratedTask(interpreter, state, resource, strand, timeout)
        return await task.run(data, context)
    if parse_function_arn(resource) is not None:
        return await _direct(interpreter, state, resource, data, context, strand, timeout)
    raise StatesFailure(
        RUNTIME, f"faaslib runs Lambda tasks only, not the resource '{resource}' of this state"
    )


class _IntegratedTask:
    """One run of an ``arn:aws:states:::lambda:invoke[.waitForTaskToken]`` task."""

    def __init__(
        self,
        interpreter: Interpreting,
        state: Mapping[str, Any],
        resource: str,
        strand: Strand,
        timeout: int | None,
    ) -> None:
        self.interpreter = interpreter
        self.state = state
        self.strand = strand
        self.timeout = timeout
        self.resource = resource.rsplit(":", 1)[-1]  # "invoke", "invoke.waitForTaskToken"
        self.waits = resource.endswith(WAIT_FOR_TOKEN)

    async def run(self, data: Any, context: dict[str, Any]) -> Any:
        host = self.interpreter.host
        token = waiting = None
        if self.waits:
            token, waiting = host.tokens.issue()
            context["Task"] = {"Token": token}
        try:
            heartbeat = _seconds(self.state, "HeartbeatSeconds", data, context)  # of the input
            if "Parameters" in self.state:
                data = resolve_template(self.state["Parameters"], data, context, field="Parameters")
            scheduled: dict[str, Any] = {
                **self._names(),
                "region": host.region,
                "parameters": limited_text(data, context["State"]["Name"], what=_INPUT),
            }
            if self.timeout is not None:
                scheduled["timeoutInSeconds"] = self.timeout
            if heartbeat is not None:
                scheduled["heartbeatInSeconds"] = heartbeat
            self.strand.add("TaskScheduled", scheduled)
            self.strand.add("TaskStarted", self._names())
            if waiting is None:
                result = await _within(self.interpreter, self.timeout, lambda: self._answer(data))
            else:
                result = await _within(
                    self.interpreter, self.timeout, lambda: self._waited(data, waiting, heartbeat)
                )
        except StatesFailure as failure:
            timed_out = failure.error in (TIMEOUT, HEARTBEAT_TIMEOUT)
            if token is not None:
                host.tokens.end(token, "timed out" if timed_out else "done")
            event = "TaskTimedOut" if timed_out else "TaskFailed"
            self.strand.add(
                event, {**self._names(), "error": failure.error, "cause": failure.cause}
            )
            raise
        finally:
            if token is not None:
                host.tokens.end(token, "done")  # if still waiting: answered, or cancelled
        self.strand.add(
            "TaskSucceeded",
            {**self._names(), "output": as_text(result), "outputDetails": NO_DETAILS},
        )
        return result

    def _names(self) -> dict[str, str]:
        return {"resourceType": "lambda", "resource": self.resource}

    async def _answer(self, parameters: Any) -> Any:
        """Lambda's ``Invoke`` answer, as the SDK gives it."""
        if not isinstance(parameters, Mapping) or not isinstance(
            parameters.get("FunctionName"), str
        ):
            raise StatesFailure(
                RUNTIME, "The lambda:invoke parameters need a FunctionName (a name or an ARN)"
            )
        data = _payload_bytes(parameters.get("Payload"))
        invocation_type = parameters.get("InvocationType", "RequestResponse")
        result = await _invoke(
            self.interpreter, parameters["FunctionName"], data, invocation_type,
            parameters.get("Qualifier"),
        )  # fmt: skip
        return _sdk_answer(result, self.interpreter.host.clock.time())

    async def _waited(self, parameters: Any, waiting: Waiting, heartbeat: int | None) -> Any:
        """Invoke, then wait for the token's answer (the invocation's own answer is only
        recorded)."""
        submitted = await self._answer(parameters)
        self.strand.add(
            "TaskSubmitted",
            {**self._names(), "output": as_text(submitted), "outputDetails": NO_DETAILS},
        )
        return await waiting.answer(heartbeat)


async def _direct(
    interpreter: Interpreting,
    state: Mapping[str, Any],
    arn: str,
    data: Any,
    context: dict[str, Any],
    strand: Strand,
    seconds: int | None,
) -> Any:
    """A Task whose ``Resource`` is the function's ARN: the function's answer itself."""
    if "Parameters" in state:
        data = resolve_template(state["Parameters"], data, context, field="Parameters")
    scheduled: dict[str, Any] = {
        "resource": arn,
        "input": limited_text(data, context["State"]["Name"], what=_INPUT),
        "inputDetails": NO_DETAILS,
    }
    if seconds is not None:
        scheduled["timeoutInSeconds"] = seconds
    strand.add("LambdaFunctionScheduled", scheduled)
    strand.add("LambdaFunctionStarted")

    async def answer() -> Any:
        result = await _invoke(interpreter, arn, json.dumps(data).encode(), "RequestResponse", None)
        return _payload(result)

    try:
        output = await _within(interpreter, seconds, answer)
    except StatesFailure as failure:
        event = "LambdaFunctionTimedOut" if failure.error == TIMEOUT else "LambdaFunctionFailed"
        strand.add(event, {"error": failure.error, "cause": failure.cause})
        raise
    strand.add("LambdaFunctionSucceeded", {"output": as_text(output), "outputDetails": NO_DETAILS})
    return output


async def _invoke(
    interpreter: Interpreting,
    function: str,
    data: bytes,
    invocation_type: str,
    qualifier: str | None,
) -> InvocationResult:
    """Invoke as Step Functions does: Lambda's refusals are ``Lambda.<code>`` errors and a
    function error is the error its document names."""
    try:
        result = await interpreter.host.invoke(function, data, invocation_type, qualifier)
    except FaaslibError as exc:
        cause = (
            f"{exc.message} (Service: Lambda, Status Code: {exc.status_code}, Request ID: "
            f"{uuid.uuid4()})"
        )
        raise StatesFailure(f"Lambda.{exc.error_type}", cause) from None
    if result.function_error is not None:
        text = result.payload.decode(errors="replace")
        try:
            document = loads_within(result.payload)
        except ValueError:
            document = None
        error = document.get("errorType") if isinstance(document, dict) else None
        raise StatesFailure(error if isinstance(error, str) else "Lambda.Unknown", text)
    if len(result.payload) > MAX_DATA:
        raise StatesFailure(
            DATA_LIMIT_EXCEEDED,
            "The state/task 'lambda' returned a result with a size exceeding the maximum "
            "number of bytes service limit.",
        )
    return result


def _payload_bytes(payload: Any) -> bytes:
    """What Lambda gets of a ``Payload``: a string is the text itself (as ``Invoke`` takes
    it), ``null`` or none Lambda's empty payload, any other value its JSON."""
    if payload is None:
        return b""
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload).encode()


def _payload(result: InvocationResult) -> Any:
    try:
        return loads_within(result.payload) if result.payload else None
    except ValueError as exc:  # a worker's answer, nested too deep to read
        raise StatesFailure(RUNTIME, f"The function's answer cannot be read: {exc}") from None


def _sdk_answer(result: InvocationResult, now: float) -> dict[str, Any]:
    """The ``Invoke`` answer Step Functions' Lambda integration returns, its ``Date`` header
    ``now`` on the invoker's clock."""
    payload = _payload(result) if result.status_code == 200 else ""
    version = result.executed_version
    headers = {  # in the order AWS lists them in AllHttpHeaders
        "X-Amz-Executed-Version": version,
        "x-amzn-Remapped-Content-Length": "0",
        "Connection": "keep-alive",
        "x-amzn-RequestId": result.request_id,
        "Content-Length": str(len(result.payload)),
        "Date": email.utils.formatdate(now, usegmt=True),
        "X-Amzn-Trace-Id": f"Root=1-{int(now):08x}-{secrets.token_hex(12)};Sampled=0",
        "Content-Type": "application/json",
    }
    present = {name: value for name, value in headers.items() if value is not None}
    answer: dict[str, Any] = {} if version is None else {"ExecutedVersion": version}
    answer["Payload"] = payload
    answer["SdkHttpMetadata"] = {
        "AllHttpHeaders": {name: [value] for name, value in present.items()},
        "HttpHeaders": dict(sorted(present.items(), key=lambda item: item[0].lower())),
        "HttpStatusCode": result.status_code,
    }
    answer["SdkResponseMetadata"] = {"RequestId": result.request_id}
    answer["StatusCode"] = result.status_code
    return answer


def _seconds(state: Mapping[str, Any], field: str, data: Any, context: Any) -> int | None:
    """A task's ``TimeoutSeconds`` or ``HeartbeatSeconds``, or its Path form's value."""
    value = number_field(state, field, data, context, low=1, whole=True)
    return None if value is None else int(value)


async def _within(
    interpreter: Interpreting, seconds: int | None, work: Callable[[], Awaitable[T]]
) -> T:
    """``work``'s result, or ``States.Timeout`` once ``seconds`` pass on the invoker's clock."""
    if seconds is None:
        return await work()
    activity = interpreter.host.activity
    deadline = interpreter.host.clock.time() + seconds
    outcome: list[T] = []
    failure: list[Exception] = []
    fired: list[bool] = []

    def woken() -> None:  # active until the work is cancelled
        fired.append(True)
        activity.enter()

    try:
        async with anyio.create_task_group() as group:

            async def run() -> None:
                try:
                    outcome.append(await work())
                except Exception as exc:  # noqa: BLE001 - raised again below, not in a group
                    failure.append(exc)
                group.cancel_scope.cancel()

            group.start_soon(run)
            await activity.timer(deadline, woken)  # counted before the work can wait
            group.cancel_scope.cancel()
    finally:
        if fired:
            activity.leave()
    if failure:
        raise failure[0]
    if not outcome:  # the timer cancelled the work
        raise StatesFailure(TIMEOUT, "")
    return outcome[0]

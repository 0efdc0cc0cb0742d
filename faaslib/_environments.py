"""Execution environments: a function version initialised once (a cold start), then reused."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from time import perf_counter
from typing import TYPE_CHECKING, Any

import anyio
from anyio import CancelScope

from . import _function_errors as errors
from . import _logs
from ._durations import EXACT_RUNS
from ._errors import InvokerClosed
from ._execution import execute, execute_logged, write_function_log
from ._file_system import FileSystem, Mount, mount
from ._handler import is_async_callable
from ._history import running_attempt
from ._ids import UNHANDLED
from ._pool import Environment, EnvironmentPool
from ._result import InvocationResult
from ._threads import run_sync
from ._usage import max_memory_mb, report_line

if TYPE_CHECKING:
    from ._clock import Clock
    from ._deadline import Deadlines
    from ._execution import Ending, FunctionRuntime
    from ._faults import Faults
    from ._history import History
    from ._process import ProcessEnvironment
    from ._tracing import Tracing

__all__ = ["INIT_TIMEOUT", "Environment", "EnvironmentPool", "InitFailed", "Runner"]

logger = logging.getLogger("faaslib")
_logger_enabled = logger.isEnabledFor
_INFO = logging.INFO
_ceil = math.ceil

#: Lambda's cap on the init phase, in seconds.
INIT_TIMEOUT = 10.0


class InitFailed(Exception):
    """The init step of a new environment failed; ``document(request_id)`` is Lambda's error
    document for the invocation that needed the environment."""

    def __init__(self, document: Callable[[str], bytes], duration: float) -> None:
        super().__init__(document("-").decode(errors="replace"))
        self.document = document
        self.duration = duration


async def _run_init(fn: FunctionRuntime) -> Any:
    init = fn.spec.init
    if init is None:
        return None
    with CancelScope(deadline=anyio.current_time() + INIT_TIMEOUT):
        if is_async_callable(init):
            outcome: Awaitable[Any] = init()
            return await outcome
        return await run_sync(init)  # a daemon thread, abandoned at the timeout
    raise TimeoutError


def _closed_error() -> InvokerClosed:
    return InvokerClosed(
        "The invoker closed while the invocation ran: its worker process was stopped"
    )


class Runner:
    """Runs invocations in execution environments.

    It takes a warm environment of the function version, or starts a new one (a cold start:
    the init step, in a worker process with ``isolation="process"``), runs the handler there,
    records duration and billing on the function, and writes Lambda's ``START``, ``END`` and
    ``REPORT`` lines through the ``faaslib`` logger at INFO level.

    An invocation of a function whose log group has a subscription (``fn.log_sinks``) is
    captured as ``log_type="Tail"`` captures it, and its whole log written to the group.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        idle_timeout: float,
        deadlines: Deadlines,
        region: str,
        account: str,
        max_response: int,
        retire: Callable[[Environment], None],
        history: History | None = None,
        faults: Faults | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._history = history
        self._faults = faults
        self._tracing = tracing
        if history is not None or faults is not None or tracing is not None:
            self.run = self._watched  # type: ignore[method-assign]  # the hot path stays bare
        self._clock = clock
        self._now = clock.time
        self._retire = retire
        self.idle_timeout = idle_timeout
        self._deadlines = deadlines
        self._region = region
        self._account = account
        self._max_response = max_response
        self.pools: list[tuple[FunctionRuntime, EnvironmentPool]] = []
        #: Worker processes running an invocation now: stopped by :meth:`close`.
        self._busy: set[ProcessEnvironment] = set()
        self._closed = False
        #: The duration and Init duration (ms) of the run that ended last, read right after
        #: it by the history and tracing.
        self.last_duration_ms = 0.0
        self.last_init_ms: float | None = None
        #: Whether this runner asked :mod:`._logs` to capture log records (a tail, a log group).
        self._capturing_logs = False
        #: The file systems its environments mounted, held until :meth:`close`.
        self._mounts: dict[FileSystem, Mount] = {}

    async def start(self, fn: FunctionRuntime, *, provisioned: bool = False) -> Environment:
        """Start a new environment of ``fn``: run its init step.

        :raises InitFailed: the init step raised or ran past :data:`INIT_TIMEOUT`
        :raises ~faaslib.EFSMountFailureException: its file system cannot be mounted
        """
        file_system = fn.spec.file_system
        if file_system is not None and file_system not in self._mounts:
            self._mounts[file_system] = mount(file_system)
        if fn.spec.isolation == "process":
            from ._process import InitFailed as ProcessInitFailed
            from ._process import ProcessEnvironment

            try:
                process, duration = await ProcessEnvironment.start(
                    fn.spec,
                    version=fn.version,
                    region=self._region,
                    account=self._account,
                    max_response=self._max_response,
                    log_stream_name=fn.log_stream_name,
                    provisioned=provisioned,
                )
            except ProcessInitFailed as exc:
                raise InitFailed(exc.document_for, exc.duration) from None
            return Environment(None, duration, provisioned=provisioned, process=process)
        start = perf_counter()
        try:
            result = await _run_init(fn)
        except TimeoutError:
            duration = perf_counter() - start
            raise InitFailed(
                lambda request_id: errors.timeout_error(request_id, INIT_TIMEOUT), duration
            ) from None
        except Exception as exc:  # noqa: BLE001 - the init error is the invocation's result
            duration = perf_counter() - start
            error = exc
            raise InitFailed(
                lambda request_id: errors.handler_error(error, request_id), duration
            ) from None
        except errors.RUNTIME_EXITS as exc:  # init ended the runtime
            duration = perf_counter() - start
            ended = exc
            raise InitFailed(lambda request_id: errors.exit_error(ended, None), duration) from None
        return Environment(result, perf_counter() - start, provisioned=provisioned)

    def pool(self, fn: FunctionRuntime) -> EnvironmentPool:
        pool = fn.pool
        if pool is None:
            pool = fn.pool = EnvironmentPool()
            self.pools.append((fn, pool))
        return pool

    async def provision(self, fn: FunctionRuntime, count: int) -> None:
        """Start ``count`` provisioned environments of ``fn`` (they are never retired)."""
        pool = self.pool(fn)
        for _ in range(count):
            try:
                environment = await self.start(fn, provisioned=True)
            except InitFailed as exc:
                logger.error(
                    "Provisioned concurrency of function %s:%s failed: %s",
                    fn.name,
                    fn.version,
                    exc,
                )
                return
            environment.last_used = self._clock.time()
            pool.free.append(environment)
            pool.count += 1

    async def _watched(
        self,
        fn: FunctionRuntime,
        event: Any,
        data: bytes,
        request_id: str,
        invoked_arn: str,
        client_context: bytes | None,
        tail: bool,
    ) -> InvocationResult:
        """:meth:`run`, traced, with the declared faults used and each run recorded."""
        tracing = self._tracing
        if tracing is None:
            scope: AbstractContextManager[Any] = nullcontext()
        else:
            invocation_type, attempt = running_attempt.get()
            scope = tracing.run(
                fn,
                request_id,
                invoked_arn,
                data,
                cold=fn.pool is None or not fn.pool.free,
                invocation_type=invocation_type,
                attempt=attempt,
            )
        with scope as span:
            self.last_init_ms = None
            result = await self._faulted(
                fn, event, data, request_id, invoked_arn, client_context, tail
            )
            if tracing is not None:
                tracing.ended(span, result, self.last_init_ms)
        return result

    async def _faulted(
        self, fn: FunctionRuntime, event: Any, data: bytes, *rest: Any
    ) -> InvocationResult:
        """:meth:`run` (its other arguments ``rest``), with the declared faults used and each
        run recorded in the history."""
        request_id, invoked_arn = rest[0], rest[1]
        faults, runs = self._faults, 1
        faulted = None if faults is None else faults.run(fn, request_id)
        if faulted is not None:
            if self._history is not None:
                self._history.ran(fn.name, fn.version, invoked_arn, data, faulted, fn.durations[-1])
            return faulted
        if faults is not None:
            delivered, runs = faults.delivery(fn.name, data)
            if delivered is not data:
                data, event = delivered, fn.decode(delivered)
        for run in range(runs):
            if run:  # the second delivery: the event as it came, not as the first run left it
                event = fn.decode(data)
            result = await Runner.run(self, fn, event, data, *rest)
            if self._history is not None:
                self._history.ran(
                    fn.name, fn.version, invoked_arn, data, result, self.last_duration_ms
                )
        return result

    async def run(
        self,
        fn: FunctionRuntime,
        event: Any,
        data: bytes,
        request_id: str,
        invoked_arn: str,
        client_context: bytes | None,
        tail: bool,
    ) -> InvocationResult:
        """Run one invocation of ``fn`` in an environment; never raises for the function's
        own failures (init errors included: they are the result)."""
        pool = fn.pool or self.pool(fn)
        free = pool.free
        now = self._now()
        if free and now - free[-1].last_used > self.idle_timeout:
            for gone in pool.expire(now, self.idle_timeout):
                self._retire(gone)
        if free:
            environment = free.pop()  # the warmest
        else:
            pool.count += 1
            fn.cold_starts += 1
            try:
                environment = await self.start(fn)
            except InitFailed as exc:
                pool.discard()
                fn.errors += 1
                self.last_duration_ms = 0.0
                return InvocationResult(
                    200, exc.document(request_id), request_id, UNHANDLED, fn.version
                )
            except BaseException:
                pool.discard()
                raise
        init_ms = None
        if environment.fresh:
            environment.fresh = False
            init_ms = environment.init_duration * 1000
        process = environment.process
        try:
            if process is not None:
                self._busy.add(process)
                try:
                    if self._closed:  # closed while the environment started
                        raise _closed_error()
                    result, reusable, status, error_type, memory = await self._run_in_process(
                        fn,
                        process,
                        data,
                        request_id,
                        invoked_arn,
                        client_context,
                        tail,
                        init_ms,
                    )
                finally:
                    self._busy.discard(process)
                if self._closed:  # close() stopped the worker: its answer is not the handler's
                    raise _closed_error()
            elif tail or fn.log_sinks:
                result, ending = await self._logged(
                    fn,
                    event,
                    data,
                    request_id,
                    invoked_arn,
                    client_context,
                    tail,
                    environment.init_result,
                    init_ms,
                )
            else:
                result, ending = await execute(
                    fn,
                    event,
                    request_id,
                    invoked_arn,
                    client_context,
                    self._deadlines,
                    environment.init_result,
                )
        except BaseException:
            pool.discard()
            if process is not None:
                process.kill()
            raise
        durations = fn.durations
        duration_ms = self.last_duration_ms = durations[-1]  # what the run recorded
        self.last_init_ms = init_ms
        if len(durations) >= EXACT_RUNS:
            fn.fold_durations()
        if init_ms is not None:  # Lambda bills the init too, rounded up with the run
            fn.billed_extra += _ceil(duration_ms + init_ms) - _ceil(duration_ms)
        if process is None:  # a thread-mode environment survives all but a timeout or exit
            reusable = ending is None
        if reusable:
            environment.last_used = now + duration_ms / 1000
            free.append(environment)
        else:
            pool.discard()
        if _logger_enabled(_INFO):
            if process is None:
                status, error_type = ending or (None, None)
                memory = 0
            logger.info("START RequestId: %s Version: %s", request_id, fn.version)
            logger.info("END RequestId: %s", request_id)
            logger.info(
                "%s",
                report_line(
                    request_id,
                    duration_ms,
                    fn.memory_limit_in_mb,
                    memory or max_memory_mb(),
                    init_ms,
                    status,
                    error_type,
                ),
            )
        return result

    async def _logged(
        self,
        fn: FunctionRuntime,
        event: Any,
        data: bytes,
        request_id: str,
        invoked_arn: str,
        client_context: bytes | None,
        tail: bool,
        init_result: Any,
        init_ms: float | None,
    ) -> tuple[InvocationResult, Ending | None]:
        """A thread-mode run with its log captured: its tail in the result if ``tail``, the
        whole log to the function's log groups if it has any."""
        if not self._capturing_logs:  # log records too, until close()
            _logs.install()
            self._capturing_logs = True
        result, ending, buffer = await execute_logged(
            fn,
            event,
            request_id,
            invoked_arn,
            client_context,
            self._deadlines,
            init_result,
            init_ms,
        )
        if fn.log_sinks:
            write_function_log(fn, buffer.full(), data)
        if tail:
            result = result._replace(log_result=buffer.tail())
        return result, ending

    async def _run_in_process(
        self,
        fn: FunctionRuntime,
        process: ProcessEnvironment,
        data: bytes,
        request_id: str,
        invoked_arn: str,
        client_context: bytes | None,
        tail: bool,
        init_ms: float | None,
    ) -> tuple[InvocationResult, bool, str | None, str | None, int]:
        start = perf_counter()
        try:
            outcome = await process.invoke(
                request_id=request_id,
                invoked_arn=invoked_arn,
                payload=data,
                client_context=client_context,
                tail=tail,
                init_ms=init_ms,
                log=bool(fn.log_sinks),
            )
        finally:
            fn.durations.append((perf_counter() - start) * 1000)
        if outcome.log is not None:
            write_function_log(fn, outcome.log, data)
        result = outcome.result
        fn.invocations += 1
        if result.function_error is not None:
            fn.errors += 1
            if outcome.status == "timeout":
                fn.timeouts += 1
                fn.durations[-1] = fn.timeout * 1000  # as Lambda reports and bills it
        return (
            result,
            outcome.reusable,
            outcome.status,
            outcome.error_type,
            outcome.max_memory_mb,
        )

    async def close(self) -> None:
        """Close the worker processes of every environment left (shielded): free ones are
        asked to exit, busy ones are killed (their invocations raise InvokerClosed)."""
        self._closed = True
        for held in self._mounts.values():
            held.release()
        self._mounts.clear()
        if self._capturing_logs:
            self._capturing_logs = False
            _logs.uninstall()
        with CancelScope(shield=True):
            for process in list(self._busy):
                process.kill()
                await process.close()
            for _, pool in self.pools:
                for environment in pool.free:
                    if environment.process is not None:
                        await environment.process.close()
                pool.free.clear()

    def expired(self) -> list[Environment]:
        """Retire the environments idle past ``idle_timeout``; return them (to close)."""
        now = self._clock.time()
        gone: list[Environment] = []
        for _, pool in self.pools:
            gone += pool.expire(now, self.idle_timeout)
        return gone

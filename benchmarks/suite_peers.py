"""The libraries a user would pick instead of faaslib, each doing the suite's workload the way
its documentation shows.

- AWS Lambda Powertools: ``@event_parser(model=Order)`` around a direct call (typed event
  parsing), given the event as JSON text (its quickest path; a dict goes through
  ``validate_python`` and costs more).
- taskiq: ``InMemoryBroker``, a task typed ``order: Order`` (taskiq casts its arguments),
  ``await task.kiq(order)`` for each event, then ``broker.wait_all()``.
- dramatiq: ``StubBroker`` with a ``Worker`` (8 threads), ``actor.send(event)`` for each event,
  then ``broker.join`` and ``worker.join`` (its testing recipe).
- Celery: ``task_always_eager=True``, ``task.delay(event).get()`` (runs in the caller).
- python-lambda-local: ``lambda_local.main.call``, which forks a process for each invocation.

All are optional (the ``bench`` extra); :func:`missing` names those not installed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pydantic_core
from suite_workload import ORDER, PAYLOAD, Order, from_event, total

#: Distribution name -> the module it installs.
PEERS = {
    "aws-lambda-powertools": "aws_lambda_powertools",
    "taskiq": "taskiq",
    "dramatiq": "dramatiq",
    "celery": "celery",
    "python-lambda-local": "lambda_local",
}
INSTALL = "pip install 'faaslib[bench]'"


def missing() -> list[str]:
    """The peers' distributions that are not installed."""
    return [name for name, module in PEERS.items() if importlib.util.find_spec(module) is None]


def powertools_call() -> Callable[[], object]:
    """One call of a handler wrapped in Powertools' ``event_parser``, as Lambda would make it."""
    from aws_lambda_powertools.utilities.parser import event_parser
    from aws_lambda_powertools.utilities.typing import LambdaContext

    @event_parser(model=Order)
    def handler(order: Order, context: LambdaContext) -> bytes:
        return pydantic_core.to_json(total(order))

    return partial(handler, PAYLOAD.decode(), LambdaContext())


async def _taskiq_total(order: Order) -> bytes:
    return pydantic_core.to_json(total(order))


async def _taskiq_burst(events: int) -> float:
    from taskiq import InMemoryBroker

    broker = InMemoryBroker()
    task = broker.register_task(_taskiq_total, task_name="total")
    order = Order.model_validate(ORDER)
    await broker.startup()
    start = time.perf_counter()
    for _ in range(events):
        last = await task.kiq(order)
    await broker.wait_all()
    elapsed = time.perf_counter() - start
    result = await last.wait_result(check_interval=0.001)
    await broker.shutdown()
    if result.is_err or result.return_value != pydantic_core.to_json(total(order)):
        raise RuntimeError(f"taskiq: {result}")
    return events / elapsed


def taskiq_throughput(events: int) -> float:
    """Tasks per second through taskiq's in-memory broker, first ``kiq`` to last result."""
    return asyncio.run(_taskiq_burst(events))


def _dramatiq_total(event: dict[str, Any]) -> None:
    from_event(event)  # an actor's result is dropped (kept only with a Results middleware)


def dramatiq_throughput(events: int) -> float:
    """Messages per second through dramatiq's stub broker and a worker, first send to last done."""
    import dramatiq
    from dramatiq.brokers.stub import StubBroker

    broker = StubBroker()
    actor = dramatiq.actor(broker=broker, queue_name="orders", max_retries=0)(_dramatiq_total)
    worker = dramatiq.Worker(broker, worker_threads=8)
    worker.start()
    try:
        start = time.perf_counter()
        for _ in range(events):
            actor.send(ORDER)
        broker.join("orders")
        worker.join()
        elapsed = time.perf_counter() - start
    finally:
        worker.stop()
        broker.close()
    return events / elapsed


def celery_throughput(calls: int) -> float:
    """Tasks per second with Celery in eager mode: ``delay(...).get()`` runs in the caller."""
    from celery import Celery

    app = Celery("faaslib-bench", set_as_current=False)
    app.conf.task_always_eager = True
    task = app.task(name="total")(from_event)
    expected = from_event(ORDER)
    start = time.perf_counter()
    for _ in range(calls):
        result = task.delay(ORDER).get()
    elapsed = time.perf_counter() - start
    if result != expected:
        raise RuntimeError(f"celery: {result!r}")
    return calls / elapsed


def _lambda_local_handler(event: dict[str, Any], context: object) -> bytes:
    return from_event(event)


def lambda_local_cost(calls: int, repeats: int) -> float:
    """Median microseconds of one invocation through python-lambda-local's ``call``."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    from lambda_local.context import Context
    from lambda_local.main import call

    for handler in set(root.handlers) - set(handlers):  # its import configures logging
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)  # and it logs each event and result at INFO
    try:
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(calls):
                result, error = call(_lambda_local_handler, ORDER, Context(3))
            samples.append((time.perf_counter() - start) / calls * 1e6)
    finally:
        root.setLevel(level)
    if error is not None or result != from_event(ORDER):
        raise RuntimeError(f"python-lambda-local: {result!r}")
    return statistics.median(samples)

"""An order pipeline on faaslib: typed events, a synchronous call, queued events, a dry run.

Run: ``python examples/orders.py`` (after ``pip install .``).

- ``quote_order`` (sync handler) prices an order: invoked RequestResponse, like an API call.
- ``place_order`` (async handler) reserves stock and returns a receipt.
- ``ship_order`` (async handler) is invoked with Event: queued, answered 202 at once, and run
  on the invoker's task group, as S3 or SNS would invoke it. It sends a notice to a queue.
- ``notify_customers`` (sync handler) is fed by an SQS event source mapping on that queue:
  faaslib polls it and invokes the function with batches (Lambda's pull model).
- A DryRun checks a payload against the function's event type without running anything.
- ``charge_card`` (async handler, Event) declines big orders: Lambda retries it a minute later,
  then sends the failure record to its ``on_failure`` destination; a success record goes to
  ``send_receipt``, another function. A virtual clock moves the minute in no time, and a
  journal (SQLite) keeps every accepted event until it is finished.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import anyio
from pydantic import BaseModel, Field

import faaslib

registry = faaslib.Registry()

STOCK = {"apple": 10, "pear": 4, "plum": 0}
PRICES = {"apple": 0.5, "pear": 0.75, "plum": 1.2}
SHIPPED: list[str] = []
NOTICES = faaslib.Queue("shipping-notices")
DECLINED: list[dict[str, Any]] = []


class Line(BaseModel):
    sku: str
    quantity: int = Field(gt=0)


class Order(BaseModel):
    order_id: str
    customer: str
    lines: list[Line] = Field(min_length=1)


class Quote(BaseModel):
    order_id: str
    total: float
    available: bool


class Receipt(BaseModel):
    order_id: str
    total: float
    request_id: str


class Shipment(BaseModel):
    order_id: str
    address: str


@registry.function(description="Price an order and check stock")
def quote_order(order: Order) -> Quote:
    total = sum(PRICES[line.sku] * line.quantity for line in order.lines)
    available = all(STOCK.get(line.sku, 0) >= line.quantity for line in order.lines)
    return Quote(order_id=order.order_id, total=round(total, 2), available=available)


@registry.function(timeout=10, memory_size=256)
async def place_order(order: Order, context: faaslib.Context) -> Receipt:
    for line in order.lines:
        if STOCK.get(line.sku, 0) < line.quantity:
            raise ValueError(f"out of stock: {line.sku}")
    for line in order.lines:
        STOCK[line.sku] -= line.quantity
    total = sum(PRICES[line.sku] * line.quantity for line in order.lines)
    return Receipt(
        order_id=order.order_id, total=round(total, 2), request_id=context.aws_request_id
    )


@registry.function
async def ship_order(shipment: Shipment) -> None:
    await anyio.sleep(0.01)  # talk to the carrier
    SHIPPED.append(shipment.order_id)
    NOTICES.send({"order_id": shipment.order_id, "to": shipment.address})


@registry.function(events=[faaslib.SQS(NOTICES, batch_size=10, maximum_batching_window=1)])
def notify_customers(event: dict[str, Any]) -> None:
    """Pull model: an event source mapping polls the queue and invokes with batches."""
    orders = sorted(json.loads(record["body"])["order_id"] for record in event["Records"])
    print(f"notify       : one batch of {len(orders)} notices: {orders}")


@registry.function(max_retry_attempts=1, on_success="send_receipt", on_failure=DECLINED.append)
async def charge_card(quote: Quote) -> Quote:
    if quote.total > 100:
        raise ValueError(f"card declined for {quote.total}")
    return quote


@registry.function
def send_receipt(record: dict[str, object]) -> None:
    print("send_receipt :", record["requestContext"], "->", record["responsePayload"])


async def retries_and_destinations() -> None:
    clock = faaslib.VirtualClock()
    with tempfile.TemporaryDirectory() as directory:
        journal = os.path.join(directory, "events.db")
        async with faaslib.Invoker(registry, clock=clock, journal=journal) as invoker:
            for order_id, total in (("o-2001", 12.5), ("o-2002", 480.0)):
                quote = {"order_id": order_id, "total": total, "available": True}
                await invoker.invoke("charge_card", quote, "Event")
            await invoker.drain()
            for pending in invoker.pending():
                print("pending      :", pending.state, "after", pending.attempts, "attempt")
            clock.advance(60)  # Lambda's first retry delay, without waiting for it
            await invoker.drain()
    record = DECLINED[0]
    print("on_failure   :", record["requestContext"], record["responsePayload"]["errorMessage"])


async def main() -> None:
    order = Order(
        order_id="o-1001",
        customer="ada",
        lines=[Line(sku="apple", quantity=3), Line(sku="pear", quantity=2)],
    )
    async with faaslib.Invoker(registry) as invoker:
        # 1. Synchronous (RequestResponse) invocations: 200 and the handler's result.
        quote = await invoker.invoke("quote_order", order)
        print("quote_order  ->", quote.status_code, quote.json())
        receipt = await invoker.invoke("place_order", order)
        print("place_order  ->", receipt.status_code, receipt.json())

        # A handler error is a result, as in Lambda: function_error "Unhandled".
        sold_out = order.model_copy(update={"lines": [Line(sku="plum", quantity=1)]})
        failed = await invoker.invoke("place_order", sold_out)
        error = failed.json()
        print(
            "place_order  ->",
            failed.status_code,
            failed.function_error,
            error["errorType"],
            error["errorMessage"],
        )

        # 2. Event invocations: 202 at once, run on the invoker's task group.
        for n in range(3):
            accepted = await invoker.invoke(
                "ship_order", {"order_id": f"o-100{n + 1}", "address": "1 Main St"}, "Event"
            )
            print("ship_order   ->", accepted.status_code, "queued as", accepted.request_id)
        await invoker.drain()  # the events ran, and the mapping read the notices they queued
        print("shipped      :", SHIPPED)

        # 3. DryRun: every check a real invocation makes, nothing run.
        checked = await invoker.invoke("place_order", order, "DryRun")
        print("DryRun       ->", checked.status_code)
        try:
            await invoker.invoke("place_order", b'{"order_id": "o-1", "lines": []}', "DryRun")
        except faaslib.InvalidRequestContentException as exc:
            print(f"DryRun       -> {exc.status_code} {exc.error_type}")
            print("   ", str(exc).replace("\n", "\n    "))
        stats = invoker.statistics()
        print(
            f"statistics   : {stats.invocations} invocations, {stats.errors} error, "
            f"{stats.events_succeeded} events done"
        )
    # 4. Retries and destinations, on a virtual clock, with a journal.
    await retries_and_destinations()


if __name__ == "__main__":
    anyio.run(main)

"""The suite's workload: one small typed handler, the same in every row.

An order (invoke_overhead.py's model and its 193-byte JSON payload) is validated into a pydantic
model, totalled into a ``Total`` model, and that result dumped to JSON. The physical limit is
this work called directly; every implementation in the suite does it around its own machinery.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic_core
from invoke_overhead import PAYLOAD, Order
from pydantic import BaseModel, TypeAdapter

import faaslib

__all__ = ["ORDER", "PAYLOAD", "Order", "Total", "direct", "from_event", "registry", "total"]


class Total(BaseModel):
    order_id: str
    total: float


def total(order: Order) -> Total:
    """The handler: an order in, its total out."""
    amount = sum(item.quantity * item.unit_price for item in order.items)
    return Total(order_id=order.order_id, total=round(amount, 2))


async def total_async(order: Order) -> Total:
    return total(order)


#: The order as a decoded event: what task queues and Lambda's runtime hand a handler.
ORDER: dict[str, Any] = json.loads(PAYLOAD)

_validate_json = TypeAdapter(Order).validate_json
_validate = TypeAdapter(Order).validate_python
_to_json = pydantic_core.to_json


def direct(payload: bytes) -> bytes:
    """The physical limit: ``validate_json`` of the payload bytes, the call, the JSON dump."""
    return _to_json(total(_validate_json(payload)))


def from_event(event: dict[str, Any]) -> bytes:
    """The same work from a decoded event (a queue's message arguments)."""
    return _to_json(total(_validate(event)))


registry = faaslib.Registry()
registry.function(name="total_async")(total_async)
registry.function(name="total_sync")(total)

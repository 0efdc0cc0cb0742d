"""The order worker: prices each order of an SQS batch with Powertools' batch processor.

An order is a JSON message ``{"type": "order", "orderId": ..., "sku": ..., "quantity": n,
"unitPrice": "2.50"}``. One the worker cannot take (a bad quantity, a missing field, a price
that is not a number) is reported in ``batchItemFailures``, so only it comes back to the queue;
after the queue's ``maxReceiveCount`` receives SQS moves it to the dead-letter queue.
"""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

MAX_QUANTITY = int(os.environ["MAX_QUANTITY"])
SOURCE_QUEUE_ARN = os.environ["SOURCE_QUEUE_ARN"]
DEAD_LETTER_QUEUE_URL = os.environ["DEAD_LETTER_QUEUE_URL"]

logger = Logger()
# A batch whose every record failed is reported record by record too, not raised.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def price(order: dict[str, Any]) -> Decimal:
    """The order's total.

    :raises ValueError: the order cannot be taken
    """
    for field in ("orderId", "sku", "quantity", "unitPrice"):
        if field not in order:
            raise ValueError(f"order without {field}")
    quantity = order["quantity"]
    if not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValueError(f"quantity {quantity!r} is not from 1 to {MAX_QUANTITY}")
    try:
        unit_price = Decimal(str(order["unitPrice"]))
    except InvalidOperation:
        raise ValueError(f"unit price {order['unitPrice']!r} is not a number") from None
    return unit_price * quantity


def record_handler(record: SQSRecord) -> str:
    order: dict[str, Any] = record.json_body
    total = price(order)
    logger.info("order priced", extra={"order_id": order["orderId"], "total": str(total)})
    return str(total)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    logger.info(
        "batch received",
        extra={
            "records": len(event["Records"]),
            "source_queue": SOURCE_QUEUE_ARN,
            "dead_letter_queue": DEAD_LETTER_QUEUE_URL,
        },
    )
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )

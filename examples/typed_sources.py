"""Handlers typed with aws-lambda-powertools' parser models, fed by faaslib's sources.

Run: ``pip install . aws-lambda-powertools`` then ``python examples/typed_sources.py``.

The same handlers run unchanged on AWS Lambda: faaslib delivers the events Lambda delivers,
so Powertools' models (``SqsModel``, ``S3Model``, ...) parse them as they parse real ones.
"""

from __future__ import annotations

import json

import anyio
from aws_lambda_powertools.utilities.parser.models import S3Model, SqsModel

import faaslib

registry = faaslib.Registry()
uploads = faaslib.Bucket("order-uploads")
orders = faaslib.Queue("orders")
TOTALS: list[int] = []


@registry.function(events=[faaslib.S3(uploads, suffix=".json")])
def split_upload(event: S3Model) -> None:
    """Push: an S3 notification, typed; queue one message per order of the file."""
    for record in event.Records:
        s3_object = record.s3.object
        assert s3_object is not None  # an ObjectCreated notification names its object
        for order in json.loads(uploads.get(s3_object.key)):
            orders.send(order)


@registry.function(events=[faaslib.SQS(orders, batch_size=10, maximum_batching_window=1)])
def total_batch(event: SqsModel) -> int:
    """Pull: a batch of SQS records, typed; each body is an order."""
    total: int = sum(json.loads(str(record.body))["quantity"] for record in event.Records)
    TOTALS.append(total)
    print(f"batch        : {len(event.Records)} orders, {total} items")
    return total


async def main() -> None:
    async with faaslib.Invoker(registry) as invoker:
        batch = [{"order_id": f"o-{i}", "quantity": i} for i in range(1, 6)]
        uploads.put("2026/11/25/batch.json", json.dumps(batch))
        await invoker.drain()
        stats = invoker.event_source_mappings()[0].statistics()
        print(f"mapping      : {stats.records_succeeded} records in {stats.invocations} batch")


if __name__ == "__main__":
    anyio.run(main)

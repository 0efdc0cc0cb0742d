"""A Step Functions workflow run by faaslib: a checkout whose tasks are faaslib functions.

It prices each item (Map), sums the order, holds a big one for an hour's review (Choice and
Wait), and charges the card, retrying a declined charge a minute later (Retry). On a
VirtualClock the hour and the minute pass when the script says so, in no time.

Run it: ``python examples/workflow.py`` (the ``workflows`` extra: ``pip install
'faaslib[workflows]'``).
"""

from __future__ import annotations

import anyio

import faaslib

registry = faaslib.Registry()
PRICES = {"pen": 2.5, "lamp": 40.0}
declined_once: list[str] = []


class CardDeclined(Exception):
    """The payment provider said no (this time)."""


@registry.function
async def price(item: dict[str, object]) -> float:
    return PRICES[str(item["sku"])] * int(str(item["qty"]))


@registry.function
async def total(prices: list[float]) -> dict[str, float]:
    return {"total": sum(prices)}


@registry.function
async def charge(order: dict[str, object]) -> dict[str, object]:
    if not declined_once:  # the provider declines the first try
        declined_once.append(str(order["card"]))
        raise CardDeclined("try again later")
    return {"charged": order["total"], "card": order["card"]}


def invoke(function: str, payload: str = "$", **more: object) -> dict[str, object]:
    """A Task state invoking a faaslib function, keeping just its answer."""
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, "Payload.$": payload},
        "ResultSelector": {"value.$": "$.Payload"},
    }
    return {**task, **more}


registry.state_machine(
    "checkout",
    {
        "Comment": "Price, sum, review big orders, charge",
        "StartAt": "Price items",
        "States": {
            "Price items": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 4,
                "ItemProcessor": {
                    "StartAt": "Price",
                    "States": {"Price": {**invoke("price"), "OutputPath": "$.value", "End": True}},
                },
                "ResultPath": "$.prices",
                "Next": "Sum",
            },
            "Sum": invoke("total", "$.prices", ResultPath="$.sum", Next="Big order?"),
            "Big order?": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.sum.value.total", "NumericGreaterThan": 100, "Next": "Review"}
                ],
                "Default": "Charge",
            },
            "Review": {"Type": "Wait", "Seconds": 3600, "Next": "Charge"},
            "Charge": invoke(
                "charge",
                Parameters={
                    "FunctionName": "charge",
                    "Payload": {"total.$": "$.sum.value.total", "card.$": "$.card"},
                },
                Retry=[{"ErrorEquals": ["CardDeclined"], "IntervalSeconds": 60, "MaxAttempts": 2}],
                OutputPath="$.value",
                End=True,
            ),
        },
    },
)


async def main() -> None:
    clock = faaslib.VirtualClock()
    order = {"card": "4242", "items": [{"sku": "pen", "qty": 4}, {"sku": "lamp", "qty": 3}]}
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("checkout", order, execution_name="order-1")
        await invoker.drain()
        print("after drain  :", invoker.describe_execution(arn).status, "(in review)")
        clock.advance(3600)  # the review's hour
        await invoker.drain()
        print("after 1 hour :", invoker.describe_execution(arn).status, "(charge declined)")
        clock.advance(60)  # the retry's minute
        await invoker.drain()
        result = invoker.describe_execution(arn)
        print("after 1 min  :", result.status, result.output)
        history = invoker.get_execution_history(arn)
        print("events       :", len(history), "from", history[0]["type"], "to", history[-1]["type"])


if __name__ == "__main__":
    anyio.run(main)

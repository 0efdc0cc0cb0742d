"""The daily report, run each night by an EventBridge rule.

From the rule's Scheduled Event it reports on the UTC day before the scheduled time; run by
hand with ``{"date": "2024-03-01"}`` it reports on that day (a backfill). What it returns is
the report's summary, which Lambda's OnSuccess destination sends on; an event it cannot read
fails the invocation, which Lambda retries, then sends to the OnFailure destination.
"""

from __future__ import annotations

import datetime
import logging
import os
from typing import Any

logger = logging.getLogger()
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

REPORT_PREFIX = os.environ["REPORT_PREFIX"]


def report_day(event: dict[str, Any]) -> tuple[datetime.date, str]:
    """The day to report on, and what asked for it.

    :raises ValueError: the event names no day
    """
    if event.get("detail-type") == "Scheduled Event":
        fired = datetime.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")
        return fired.date() - datetime.timedelta(days=1), "schedule"
    if "date" in event:
        return datetime.date.fromisoformat(event["date"]), "manual"
    raise ValueError("Expected a Scheduled Event or a date to report on")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    day, trigger = report_day(event)
    start = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.timezone.utc)
    end = start + datetime.timedelta(days=1)
    key = f"{REPORT_PREFIX}/{day.isoformat()}.json"
    logger.info("Report of %s (%s) written to %s", day, trigger, key)
    return {
        "report": "daily",
        "date": day.isoformat(),
        "from": start.isoformat(),
        "to": end.isoformat(),
        "key": key,
        "trigger": trigger,
        "rule": event["resources"][0] if trigger == "schedule" else None,
        "requestId": context.aws_request_id,
    }

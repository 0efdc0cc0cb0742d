"""A heartbeat on SAM's ``Schedule`` event: the rule's ``Input`` (``{"check": ...}``) replaces
the Scheduled Event. Its answer goes to the OnSuccess destination."""

from __future__ import annotations

import os
from typing import Any

# Module scope runs once per execution environment (Lambda's Init phase).
BEATS = 0


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global BEATS
    BEATS += 1
    return {
        "check": event["check"],
        "healthy": True,
        "function": context.function_name,
        "region": os.environ["AWS_REGION"],
        "beatsInThisEnvironment": BEATS,
        "timeLeft": context.get_remaining_time_in_millis() > 0,
    }

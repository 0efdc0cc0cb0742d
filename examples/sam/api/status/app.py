"""The bookshop's status endpoint, a plain handler: ``GET /status`` on the REST API (an API
Gateway proxy event, format 1.0) and on the HTTP API (format 2.0).

Reports what the deployment is made of, read from the function's environment and context.
"""

from __future__ import annotations

import json
import os
from typing import Any


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("version") == "2.0":  # HTTP API
        method = event["requestContext"]["http"]["method"]
        api = "http"
    else:  # REST API
        method = event["httpMethod"]
        api = "rest"
    headers = {
        "Content-Type": "application/json",
        "Access-Control-Allow-Origin": os.environ["ALLOWED_ORIGIN"],
    }
    if method != "GET":
        return {"statusCode": 405, "headers": headers, "body": json.dumps({"message": "GET only"})}
    params = event.get("queryStringParameters") or {}
    status = {
        "status": "ok",
        "api": api,
        "stage": os.environ["STAGE"],
        "release": os.environ["RELEASE"],
        "region": os.environ["AWS_REGION"],
        "function": context.function_name,
        "memoryMb": int(context.memory_limit_in_mb),
        "requestId": context.aws_request_id,
        "catalog": {
            "function": os.environ["CATALOG_FUNCTION"],
            "arn": os.environ["CATALOG_FUNCTION_ARN"],
        },
    }
    if params.get("verbose") == "true":
        status["remainingMs"] = context.get_remaining_time_in_millis()
        status["userAgent"] = _header(event, "user-agent")
    return {"statusCode": 200, "headers": headers, "body": json.dumps(status)}

"""One execution environment of AWS Lambda's Python runtime, without the network: AWS's
Runtime Interface Client (awslambdaric) imports the handler and runs each invocation through
its own ``bootstrap.handle_event_request``, posting to a recording stand-in for the Runtime
API client.

Run: ``python aws_runtime_harness.py HANDLER OUT`` with the invocations on standard input as
JSON (``[{"request_id": ..., "payload": <JSON text>}, ...]``) and the function's environment
(``AWS_LAMBDA_FUNCTION_NAME``, ``FAASLIB_REGISTRY``, ...) set. Each post is a JSON line in
``OUT``; a line ``{"kind": "start"}`` precedes each invocation, so a runtime that exits
mid-invocation leaves the request it was serving as the last line.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import time
from typing import IO, Any

from awslambdaric import bootstrap
from awslambdaric.lambda_runtime_exception import FaultException
from awslambdaric.lambda_runtime_marshaller import LambdaMarshaller


class RecordingRuntimeClient:
    """What ``handle_event_request`` posts to, written down instead of sent."""

    marshaller = LambdaMarshaller()

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()

    def post_invocation_result(
        self,
        invoke_id: str,
        result_data: Any,
        content_type: str = "application/json",
        invocation_id: Any = None,
    ) -> None:
        data = result_data if isinstance(result_data, bytes) else result_data.encode()
        self.write(
            {
                "kind": "result",
                "request_id": invoke_id,
                "payload": data.decode("latin-1"),
                "content_type": content_type,
            }
        )

    def post_invocation_error(
        self, invoke_id: str, error_response_data: str, xray_fault: str, invocation_id: Any = None
    ) -> None:
        self.write(
            {"kind": "error", "request_id": invoke_id, "document": json.loads(error_response_data)}
        )

    def post_init_error(self, error_response_data: dict[str, Any], *args: Any) -> None:
        self.write({"kind": "init_error", "document": error_response_data})


def main() -> None:
    handler_name, out_path = sys.argv[1:3]
    invocations = json.load(sys.stdin)
    with open(out_path, "w", encoding="utf-8") as out:
        client = RecordingRuntimeClient(out)
        # The runtime's Init phase, as its run() does it.
        try:
            request_handler = bootstrap._get_handler(handler_name)
        except FaultException as exc:
            client.post_init_error(bootstrap.make_error(exc.msg, exc.exception_type, exc.trace))
            return
        except Exception:  # noqa: BLE001 - reported, as the runtime reports it
            client.post_init_error(bootstrap.build_fault_result(sys.exc_info(), None))
            return
        arn = os.environ["HARNESS_FUNCTION_ARN"]
        accepts_tenant = "tenant_id" in inspect.signature(bootstrap.handle_event_request).parameters
        with bootstrap.StandardLogSink() as log_sink:
            for invocation in invocations:
                client.write({"kind": "start", "request_id": invocation["request_id"]})
                options: dict[str, Any] = {"tenant_id": None} if accepts_tenant else {}
                bootstrap.handle_event_request(
                    lambda_runtime_client=client,
                    request_handler=request_handler,
                    invoke_id=invocation["request_id"],
                    event_body=invocation["payload"].encode(),
                    content_type="application/json",
                    client_context_json=None,
                    cognito_identity_json=None,
                    invoked_function_arn=arn,
                    epoch_deadline_time_in_ms=int(time.time() * 1000) + 60_000,
                    log_sink=log_sink,
                    **options,
                )


if __name__ == "__main__":
    main()

"""The sample AWS SAM applications of ``examples/sam/``: each template passes AWS's own tools
(aws-sam-translator's transform, cfn-lint), and each application runs in faaslib from its
template, its code as written for Lambda."""

from __future__ import annotations

import base64
import datetime
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_cli_serve import serving
from test_sam_export import lint_errors, transformed

import faaslib
from faaslib._cli import main
from faaslib.server import Server

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "examples" / "sam"
API = APPS / "api" / "template.yaml"
WORKER = APPS / "queue_worker" / "template.yaml"
JOB = APPS / "scheduled_job" / "template.yaml"
TEMPLATES = {"api": API, "queue_worker": WORKER, "scheduled_job": JOB}


def sam_template(path: Path) -> dict[str, Any]:
    """The template as JSON's data, its short-form intrinsics (``!Ref``) in their long form."""
    from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

    result: dict[str, Any] = yaml_parse(path.read_text(encoding="utf-8"))
    return result


# -- AWS's tools -------------------------------------------------------------------------------


@pytest.mark.parametrize("app", TEMPLATES)
def test_the_translator_transforms_the_template(app: str) -> None:
    template = sam_template(TEMPLATES[app])
    result = transformed(template)
    kinds = {resource["Type"] for resource in result["Resources"].values()}
    assert "AWS::Lambda::Function" in kinds
    assert not any(kind.startswith("AWS::Serverless::") for kind in kinds)
    assert lint_errors(result) == []


@pytest.mark.parametrize("app", TEMPLATES)
def test_cfn_lint_finds_no_error(app: str) -> None:
    assert lint_errors(sam_template(TEMPLATES[app])) == []


def test_the_templates_use_what_real_ones_do() -> None:
    """Each has parameters with defaults, Globals, intrinsics in the environment and Outputs;
    the scheduled job's rule is a plain EventBridge rule with its Lambda permission."""
    for path in TEMPLATES.values():
        template = sam_template(path)
        assert all("Default" in p for p in template["Parameters"].values())
        assert "Function" in template["Globals"]
        assert template["Outputs"]
    job = sam_template(JOB)["Resources"]
    target = job["NightlyReportRule"]["Properties"]["Targets"][0]
    assert target["Arn"] == {"Fn::GetAtt": ["ReportFunction", "Arn"]}
    assert job["ReportFunctionInvokePermission"]["Type"] == "AWS::Lambda::Permission"


# -- running them: helpers ---------------------------------------------------------------------

REGION, ACCOUNT = "us-east-1", "123456789012"


def rest_event(
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API proxy event, as a test of a Lambda handler writes one."""
    headers = {"Host": "example.execute-api.us-east-1.amazonaws.com", **(headers or {})}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "example",
            "stage": "Prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "httpMethod": method,
            "path": f"/Prod{path}",
            "resourcePath": path,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def sqs_event(*bodies: str, queue: str = "OrdersQueue") -> dict[str, Any]:
    """An SQS event of Lambda's, one record a body, message ids ``m-0``, ``m-1``, ..."""
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": f"handle-{i}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1709251200000",
                    "SenderId": ACCOUNT,
                    "ApproximateFirstReceiveTimestamp": "1709251200001",
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
                "awsRegion": REGION,
            }
            for i, body in enumerate(bodies)
        ]
    }


def order(order_id: str, quantity: Any = 1, unit_price: Any = "2.50", **more: Any) -> str:
    return json.dumps(
        {"type": "order", "orderId": order_id, "sku": "tea", "quantity": quantity,
         "unitPrice": unit_price, **more}
    )  # fmt: skip


def tail(result: faaslib.InvocationResult) -> str:
    assert result.log_result is not None
    return base64.b64decode(result.log_result).decode()


def drain_queue(queue: faaslib.Queue) -> list[Any]:
    """Every message's JSON body, received (and deleted) ten at a time."""
    bodies = []
    while messages := queue.receive(10):
        for message in messages:
            bodies.append(json.loads(message.body))
            queue.delete(message.receipt_handle)
    return bodies


def queue(registry: faaslib.Registry, logical_id: str) -> faaslib.Queue:
    """The template's ``AWS::SQS::Queue`` of that logical id, as faaslib made it."""
    made = registry.resources[logical_id]
    assert isinstance(made, faaslib.Queue), made
    return made


def utc(year: int, month: int, day: int, hour: int = 0) -> float:
    return datetime.datetime(year, month, day, hour, tzinfo=datetime.timezone.utc).timestamp()


# -- the REST API ------------------------------------------------------------------------------


async def test_the_api_functions_see_their_environment() -> None:
    registry = faaslib.Registry.from_template(API)
    assert sorted(spec.name for spec in registry) == ["CatalogFunction", "StatusFunction"]
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke(
            "StatusFunction", rest_event("GET", "/status", query={"verbose": "true"})
        )
    assert result.function_error is None, result.json()
    answer = result.json()
    assert answer["statusCode"] == 200
    assert answer["headers"]["Access-Control-Allow-Origin"] == "https://shop.example.com"
    status = json.loads(answer["body"])
    assert status == {
        "status": "ok",
        "api": "rest",
        "stage": "dev",  # Globals' variable, beside the function's own
        "release": "dev-EUR",  # !Sub of two parameters' defaults
        "region": REGION,  # Lambda's reserved variable
        "function": "StatusFunction",
        "memoryMb": 128,  # the function's own, over Globals' 256
        "requestId": result.request_id,
        "catalog": {
            "function": "CatalogFunction",  # !Ref of a function: its name
            "arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:CatalogFunction",  # !GetAtt
        },
        "remainingMs": status["remainingMs"],
        "userAgent": None,
    }
    assert 0 < status["remainingMs"] <= 3000  # Timeout: 3


async def test_parameters_override_the_defaults() -> None:
    registry = faaslib.Registry.from_template(API, parameters={"Stage": "prod", "Currency": "GBP"})
    async with faaslib.Invoker(registry) as invoker:
        status = await invoker.invoke("StatusFunction", rest_event("GET", "/status"))
        book = await invoker.invoke("CatalogFunction", rest_event("GET", "/books/9780000000011"))
    assert json.loads(status.json()["body"])["release"] == "prod-GBP"
    assert book.json()["statusCode"] == 200, book.json()
    assert json.loads(book.json()["body"])["currency"] == "GBP"


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    """The API application served by faaslib's HTTP front on a loopback port."""
    with (
        Server(faaslib.Registry.from_template(API)) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield client


def test_the_catalogue_lists_books_with_query_strings(api: httpx.Client) -> None:
    first_page = api.get("/Prod/books")
    assert first_page.status_code == 200, first_page.text
    listing = first_page.json()
    assert (listing["count"], listing["total"]) == (5, 7)  # MAX_PAGE_SIZE: "5"
    assert [b["title"] for b in listing["books"]] == [
        "Cranford", "Emma", "Mansfield Park", "Middlemarch", "North and South",
    ]  # fmt: skip
    austen = api.get("/Prod/books", params={"author": "Jane Austen", "limit": "2"}).json()
    assert [b["title"] for b in austen["books"]] == ["Emma", "Mansfield Park"]
    assert (austen["count"], austen["total"]) == (2, 3)
    too_many = api.get("/Prod/books", params={"limit": "6"})
    assert too_many.status_code == 400
    assert too_many.json() == {
        "statusCode": 400,
        "message": "limit must be a whole number from 1 to 5",
    }


def test_a_book_by_its_path_parameter_with_cors(api: httpx.Client) -> None:
    origin = {"Origin": "https://shop.example.com"}
    found = api.get("/Prod/books/9780000000035", headers=origin)
    assert found.status_code == 200, found.text
    assert found.json() == {
        "isbn": "9780000000035",
        "title": "Middlemarch",
        "author": "George Eliot",
        "year": 1871,
        "price": "12.00",
        "currency": "EUR",
    }
    assert found.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert found.headers["access-control-max-age"] == "300"
    stranger = api.get("/Prod/books/9780000000035", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers
    missing = api.get("/Prod/books/9999999999999")
    assert missing.status_code == 404
    assert missing.json() == {"statusCode": 404, "message": "No book with ISBN 9999999999999"}


def test_orders_are_created_or_refused(api: httpx.Client) -> None:
    placed = api.post("/Prod/orders", json={"isbn": "9780000000035", "quantity": 3})
    assert placed.status_code == 201, placed.text
    created = placed.json()
    assert placed.headers["location"] == f"/orders/{created['orderId']}"
    assert created == {
        "orderId": created["orderId"],  # the invocation's request id
        "isbn": "9780000000035",
        "quantity": 3,
        "total": "36.00",
        "currency": "EUR",
        "stage": "dev",
    }
    for body, message in [
        ("{not json", "The body must be a JSON object"),
        ("[1, 2]", "The body must be a JSON object"),
        ('{"isbn": "123"}', "Unknown ISBN: 123"),
        ('{"isbn": "9780000000035", "quantity": 11}', "quantity must be from 1 to 10"),
        ('{"isbn": "9780000000035", "quantity": "2"}', "quantity must be a whole number"),
    ]:
        refused = api.post(
            "/Prod/orders", content=body, headers={"Content-Type": "application/json"}
        )
        assert (refused.status_code, refused.json()) == (
            400,
            {"statusCode": 400, "message": message},
        )


def test_the_status_route_on_the_rest_and_the_http_api(api: httpx.Client) -> None:
    rest = api.get("/Prod/status", headers={"User-Agent": "probe/1"}, params={"verbose": "true"})
    http = api.get("/status")
    assert (rest.status_code, http.status_code) == (200, 200)
    assert rest.json()["api"] == "rest"
    assert rest.json()["userAgent"] == "probe/1"
    assert http.json()["api"] == "http"
    assert http.json()["release"] == "dev-EUR"
    assert http.headers["access-control-allow-origin"] == "https://shop.example.com"


def test_what_the_api_does_not_route(api: httpx.Client) -> None:
    assert api.get("/Prod/authors").json() == {"message": "Missing Authentication Token"}
    assert api.delete("/Prod/books/9780000000035").status_code == 403
    assert api.get("/books").status_code == 404  # REST routes live under their stage only


def test_the_command_line_invokes_a_function_of_a_template(
    capsys: pytest.CaptureFixture[str],
) -> None:
    payload = json.dumps(rest_event("GET", "/books/9780000000066"))
    assert main(["invoke", str(API), "CatalogFunction", "--payload", payload]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["title"] == "Cranford"
    overridden = ["--parameter-overrides", "Currency=GBP", "Stage=prod"]
    assert main(["invoke", str(API), "CatalogFunction", "--payload", payload, *overridden]) == 0
    assert json.loads(json.loads(capsys.readouterr().out)["body"])["currency"] == "GBP"


def test_faaslib_serve_runs_the_api_from_its_template() -> None:
    """``faaslib serve examples/sam/api/template.yaml``, as the README shows it."""
    with (
        serving(str(API.relative_to(ROOT)), ROOT) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        book = client.get("/Prod/books/9780000000028")
        status = client.get("/status")
    assert (book.status_code, book.json()["title"]) == (200, "Emma")
    assert status.json()["function"] == "StatusFunction"


# -- the queue worker --------------------------------------------------------------------------


async def test_the_worker_reports_the_orders_it_cannot_take() -> None:
    registry = faaslib.Registry.from_template(WORKER)
    tolerant = faaslib.Registry.from_template(WORKER, parameters={"MaxQuantity": "100"})
    batch = sqs_event(
        order("o-1"), order("o-2", quantity=0), order("o-3", unit_price="x"), order("o-4", 80)
    )
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("OrderWorkerFunction", batch)
    assert result.function_error is None, result.json()
    assert result.json() == {"batchItemFailures": [{"itemIdentifier": f"m-{i}"} for i in (1, 2, 3)]}
    async with faaslib.Invoker(tolerant) as invoker:  # MAX_QUANTITY: !Ref MaxQuantity
        result = await invoker.invoke("OrderWorkerFunction", batch)
    assert result.json() == {"batchItemFailures": [{"itemIdentifier": f"m-{i}"} for i in (1, 2)]}


async def test_the_workers_structured_log_is_in_its_tail() -> None:
    """What Powertools' Logger writes (one JSON line a record, to standard output) is the
    function's log, as in Lambda, with the variables the template resolved."""
    registry = faaslib.Registry.from_template(WORKER)
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke(
            "OrderWorkerFunction", sqs_event(order("o-1"), order("o-2", 0)), log_type="Tail"
        )
    log = tail(result)
    logged = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    [batch] = [record for record in logged if record["message"] == "batch received"]
    assert batch["records"] == 2
    assert batch["source_queue"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:OrdersQueue"  # !GetAtt
    assert batch["dead_letter_queue"] == (  # !Ref of a queue: its URL
        f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/OrdersDeadLetterQueue"
    )
    assert (batch["function_name"], batch["cold_start"]) == ("OrderWorkerFunction", True)
    assert batch["service"] == "order-worker"  # Globals' POWERTOOLS_SERVICE_NAME
    priced = [record["order_id"] for record in logged if record["message"] == "order priced"]
    assert priced == ["o-1"]
    # Each record once, between START and END (the runtime's handler on the root logger is
    # there before the module imports, so Powertools keeps its records from it).
    lines = log.splitlines()
    runtime_lines = [line.split()[0] for line in lines if not line.startswith("{")]
    assert runtime_lines == ["START", "END", "REPORT"]
    assert [line.split()[0] for line in (lines[0], lines[-2], lines[-1])] == runtime_lines


async def test_poison_orders_end_in_the_dead_letter_queue() -> None:
    registry = faaslib.Registry.from_template(WORKER)
    orders = queue(registry, "OrdersQueue")
    dead = queue(registry, "OrdersDeadLetterQueue")
    assert (orders.dead_letter_queue, orders.max_receive_count) == (dead, 3)
    assert orders.visibility_timeout == 60
    good = [order(f"o-{i}", quantity=i) for i in range(1, 13)]
    poison = [order("bad-1", quantity=0), order("bad-2", unit_price="free")]
    for body in good[:6] + poison + good[6:]:
        orders.send(body)
    orders.send(json.dumps({"type": "ping"}))  # not an order: the filter drops it
    clock = faaslib.VirtualClock(utc(2024, 3, 1))
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        [mapping] = invoker.event_source_mappings()
        first = mapping.statistics()
        assert (first.records_succeeded, first.records_failed) == (12, 2)
        assert first.records_filtered == 1
        assert dead.receive(10) == []
        for _ in range(3):  # the visibility timeout passes: received again, failed again
            clock.advance(60)
            await invoker.drain()
        last = mapping.statistics()
    assert (last.records_succeeded, last.records_failed) == (12, 6)  # each good order once
    assert sorted(m["orderId"] for m in drain_queue(dead)) == ["bad-1", "bad-2"]
    assert orders.receive(10) == []


# -- the scheduled job -------------------------------------------------------------------------


async def test_the_nightly_rule_runs_the_report_and_its_destination_records_it() -> None:
    registry = faaslib.Registry.from_template(JOB)
    results = queue(registry, "ReportResultsQueue")
    beats = queue(registry, "HeartbeatsQueue")
    failed = queue(registry, "FailedReportsQueue")
    clock = faaslib.VirtualClock(utc(2024, 3, 1))  # a Friday
    # Warm environments stay for the whole test (the hours pass in milliseconds).
    async with faaslib.Invoker(registry, clock=clock, idle_timeout=30 * 86400) as invoker:
        for _ in range(56):  # until Sunday 08:00, an hour at a time
            clock.advance(3600)
            await invoker.drain()
    reports = drain_queue(results)
    assert [r["responsePayload"]["date"] for r in reports] == [
        "2024-02-29",
        "2024-03-01",
        "2024-03-02",
    ]
    first = reports[0]
    assert first["requestContext"]["condition"] == "Success"
    assert first["requestContext"]["approximateInvokeCount"] == 1
    assert ":function:ReportFunction" in first["requestContext"]["functionArn"]
    assert first["requestPayload"]["detail-type"] == "Scheduled Event"
    assert first["requestPayload"]["time"] == "2024-03-01T02:00:00Z"
    assert first["responsePayload"] == {
        "report": "daily",
        "date": "2024-02-29",
        "from": "2024-02-29T00:00:00+00:00",
        "to": "2024-03-01T00:00:00+00:00",
        "key": "reports/daily/2024-02-29.json",  # !Sub "${ReportPrefix}/daily"
        "trigger": "schedule",
        "rule": first["requestPayload"]["resources"][0],
        "requestId": first["requestContext"]["requestId"],
    }
    assert first["responsePayload"]["rule"].startswith(f"arn:aws:events:{REGION}:{ACCOUNT}:rule/")
    heartbeats = drain_queue(beats)
    assert len(heartbeats) == 56  # hourly; the Saturday deep check is disabled
    assert {h["responsePayload"]["check"] for h in heartbeats} == {"heartbeat"}
    assert {h["requestPayload"]["check"] for h in heartbeats} == {"heartbeat"}
    assert heartbeats[0]["responsePayload"]["function"] == "HeartbeatFunction"
    # One at a time, each in the environment the one before left warm.
    assert [h["responsePayload"]["beatsInThisEnvironment"] for h in heartbeats] == list(
        range(1, 57)
    )
    assert failed.receive(10) == []


async def test_the_rules_permission_is_the_report_functions_policy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The rule is wired by CloudFormation alone (AWS::Events::Rule), so EventBridge needs the
    # template's AWS::Lambda::Permission: with the permission check on, the report runs;
    # without the statement, the rule cannot invoke it, as on AWS.
    registry = faaslib.Registry.from_template(JOB)
    (statement,) = registry.policy("ReportFunction")
    rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/NightlyReportRule"
    assert (statement.sid, statement.principal) == (
        "ReportFunctionInvokePermission",
        "events.amazonaws.com",
    )
    assert statement.source_arn == rule
    results = queue(registry, "ReportResultsQueue")
    clock = faaslib.VirtualClock(utc(2024, 3, 1))
    async with faaslib.Invoker(registry, clock=clock, check_permissions=True) as invoker:
        clock.advance(3 * 3600)  # past 02:00: the report of the day before
        await invoker.drain()
        assert [r["requestPayload"]["resources"] for r in drain_queue(results)] == [[rule]]
        registry.remove_permission("ReportFunction", "ReportFunctionInvokePermission")
        with caplog.at_level(logging.ERROR, logger="faaslib"):
            clock.advance(86400)
            await invoker.drain()
    assert drain_queue(results) == []
    assert "User: events.amazonaws.com is not authorized" in caplog.text


async def test_a_backfill_that_fails_is_retried_then_sent_to_the_failure_queue() -> None:
    registry = faaslib.Registry.from_template(JOB, parameters={"ReportPrefix": "archive"})
    results = queue(registry, "ReportResultsQueue")
    failed = queue(registry, "FailedReportsQueue")
    clock = faaslib.VirtualClock(utc(2024, 3, 1, 12))
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        unreadable = await invoker.invoke("ReportFunction", {})
        assert unreadable.function_error == "Unhandled"
        assert unreadable.json()["errorType"] == "ValueError"
        assert (
            unreadable.json()["errorMessage"] == "Expected a Scheduled Event or a date to report on"
        )
        await invoker.invoke("ReportFunction", {"date": "2024-01-31"}, "Event")
        await invoker.invoke("ReportFunction", {"date": "yesterday"}, "Event")
        await invoker.drain()
        assert [p.state for p in invoker.pending()] == ["delayed"]  # MaximumRetryAttempts: 1
        clock.advance(60)
        await invoker.drain()
    [done] = drain_queue(results)
    assert done["responsePayload"]["key"] == "archive/daily/2024-01-31.json"
    assert done["responsePayload"]["trigger"] == "manual"
    [gave_up] = drain_queue(failed)
    assert gave_up["requestContext"]["condition"] == "RetriesExhausted"
    assert gave_up["requestContext"]["approximateInvokeCount"] == 2
    assert gave_up["requestPayload"] == {"date": "yesterday"}
    assert gave_up["responsePayload"]["errorType"] == "ValueError"


async def test_a_schedule_parameter_changes_the_rule() -> None:
    registry = faaslib.Registry.from_template(JOB, parameters={"ReportSchedule": "rate(6 hours)"})
    clock = faaslib.VirtualClock(utc(2024, 3, 1))
    async with faaslib.Invoker(registry, clock=clock, idle_timeout=30 * 86400) as invoker:
        for _ in range(4):
            clock.advance(6 * 3600)
            await invoker.drain()
    reports = drain_queue(queue(registry, "ReportResultsQueue"))
    assert [r["requestPayload"]["time"] for r in reports] == [
        "2024-03-01T06:00:00Z", "2024-03-01T12:00:00Z", "2024-03-01T18:00:00Z",
        "2024-03-02T00:00:00Z",
    ]  # fmt: skip


# -- the same answers as AWS's runtime ---------------------------------------------------------

HARNESS = Path(__file__).parent / "aws_runtime_harness.py"

#: For each application, events its functions take (one at a time, in one environment).
PARITY = {
    API: [
        ("StatusFunction", rest_event("GET", "/status")),
        ("CatalogFunction", rest_event("GET", "/books", query={"author": "George Eliot"})),
        ("CatalogFunction", rest_event("GET", "/books/0")),
        ("CatalogFunction", rest_event("POST", "/orders", body='{"isbn": "9780000000011"}')),
        ("CatalogFunction", rest_event("POST", "/orders", body='{"quantity": 0}')),
    ],
    WORKER: [("OrderWorkerFunction", sqs_event(order("o-1"), order("o-2", quantity=0)))],
    JOB: [
        ("ReportFunction", {"date": "2024-02-29"}),
        ("ReportFunction", {"date": "someday"}),
        ("HeartbeatFunction", {"check": "heartbeat"}),
    ],
}


def under_awslambdaric(
    template: Path, spec: faaslib.FunctionSpec, invocations: list[tuple[str, Any]]
) -> list[dict[str, Any]]:
    """The function's invocations, with the request ids given, in one execution environment of
    AWS's runtime (awslambdaric's bootstrap): its code directory, Handler and the environment
    faaslib resolved from the template, plus the variables Lambda sets."""
    assert isinstance(spec.handler, str)
    assert spec.code_uri is not None
    code = (template.parent / spec.code_uri).resolve()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_"))},
        **spec.environment,
        "PYTHONPATH": str(code),
        "LAMBDA_TASK_ROOT": str(code),
        "_HANDLER": spec.handler,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2024/03/01/[$LATEST]0123456789abcdef",
        "HARNESS_FUNCTION_ARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{spec.name}",
    }
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "posts.jsonl"
        process = subprocess.run(
            [sys.executable, str(HARNESS), spec.handler, str(out)],
            input=json.dumps([{"request_id": r, "payload": json.dumps(e)} for r, e in invocations]),
            cwd=code, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        posts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    answers = [post for post in posts if post["kind"] in ("result", "error", "init_error")]
    assert len(answers) == len(invocations), (posts, process.stderr)
    return answers


@pytest.mark.parametrize(
    "template",
    [API, WORKER, JOB],
    ids=lambda path: path.parent.name,
)
async def test_each_function_answers_as_under_awslambdaric(template: Path) -> None:
    registry = faaslib.Registry.from_template(template)
    async with faaslib.Invoker(registry) as invoker:
        ours = [
            (name, event, await invoker.invoke(name, event)) for name, event in PARITY[template]
        ]
    names = sorted({name for name, _, _ in ours})
    runs = [
        [(result.request_id, event) for n, event, result in ours if n == name] for name in names
    ]
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        answers = dict(
            zip(
                names,
                pool.map(lambda name, run: under_awslambdaric(template, registry.get(name), run),
                         names, runs),
                strict=True,
            )
        )  # fmt: skip
    for name, _, result in ours:
        theirs = answers[name].pop(0)
        if theirs["kind"] == "result":
            assert result.function_error is None, (name, result.json())
            assert result.json() == json.loads(theirs["payload"]), name
        else:
            assert result.function_error == "Unhandled", (name, theirs)
            document = result.json()
            assert (document["errorType"], document["errorMessage"]) == (
                theirs["document"]["errorType"],
                theirs["document"]["errorMessage"],
            ), name

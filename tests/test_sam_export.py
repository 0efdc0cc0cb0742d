"""``faaslib export sam``: the templates of the example application and of a registry using
every option pass AWS's own tools (aws-sam-translator's transform and cfn-lint), and each
exported function's Handler and Environment answer under awslambdaric."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import faaslib
from faaslib._cli import main
from faaslib.sam._export import SamExport, export_sam

HERE = Path(__file__).parent
EXAMPLES = HERE.parent / "examples"
HARNESS = HERE / "aws_runtime_harness.py"
EVERYTHING = "test_sam_export:everything"
ORDERS = "orders:registry"

# -- a registry that uses every option ---------------------------------------------------------

everything = faaslib.Registry()
DEAD = faaslib.Queue("work-dead", visibility_timeout=60)
WORK = faaslib.Queue("work", visibility_timeout=60, max_receive_count=3, dead_letter_queue=DEAD)
JOBS = faaslib.Queue("jobs.fifo", visibility_timeout=60, content_based_deduplication=True)
FAILED = faaslib.Queue("failed", visibility_timeout=60)
CLICKS = faaslib.Stream("clicks", shard_count=2, retention=48 * 3600)
ORDERS_TABLE = faaslib.Table("orders-table", partition_key="pk", sort_key="sk")
ORDERS_TABLE.put({"pk": "a", "sk": 1})
USERS = faaslib.Table("users", partition_key="id")
UPLOADS = faaslib.Bucket("faaslib-export-uploads")
ALERTS = faaslib.Topic("alerts")
AUDIT = faaslib.Topic("audit")
VIRTUAL = faaslib.Queue("virtual", visibility_timeout=60, clock=faaslib.VirtualClock())


def answer(event: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "keys": sorted(event)}


everything.function(answer, name="target", description="A destination")
everything.function(
    answer,
    name="worker",
    timeout=30.5,
    memory_size=512,
    description="Every asynchronous setting",
    max_retry_attempts=1,
    max_event_age=3600,
    on_success="target",
    on_failure=FAILED,
    dead_letter=ALERTS,
    reserved_concurrency=7,
    isolation="process",
    events=[
        faaslib.SQS(
            WORK,
            batch_size=50,
            maximum_batching_window=2,
            function_response_types=["ReportBatchItemFailures"],
            filter_criteria=[{"body": {"kind": ["a"]}}, '{"body": {"kind": ["b"]}}'],
            maximum_concurrency=4,
            enabled=False,
        ),
        faaslib.SQS(JOBS, batch_size=10),
        faaslib.SQS(VIRTUAL),
    ],
)
everything.function(
    answer,
    name="streams",
    timeout=60,
    on_success=AUDIT,
    on_failure=print,
    dead_letter=DEAD,
    provisioned_concurrency=2,
    events=[
        faaslib.Kinesis(
            CLICKS,
            starting_position="LATEST",
            batch_size=500,
            maximum_batching_window=1.5,
            parallelization_factor=4,
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=5,
            maximum_record_age=600,
            on_failure=FAILED,
            function_response_types=["ReportBatchItemFailures"],
            filter_criteria=[{"data": {"n": [1]}}],
        ),
        faaslib.DynamoDB(ORDERS_TABLE, starting_position="TRIM_HORIZON", on_failure=ALERTS),
        faaslib.DynamoDB(USERS, on_failure="target"),
    ],
)
everything.function(
    answer,
    name="pushed",
    events=[
        faaslib.S3(UPLOADS, events=["s3:ObjectCreated:*"], prefix="in/", suffix=".csv"),
        faaslib.S3(UPLOADS, events=["s3:ObjectRemoved:*"]),
        faaslib.SNS(ALERTS, filter_policy={"level": ["high"]}),
        faaslib.SNS(AUDIT),
        faaslib.Schedule("rate(5 minutes)", input={"job": "sweep"}, name="sweeper"),
        faaslib.Schedule("cron(0 12 * * ? *)", enabled=False),
    ],
)
everything.function(
    answer,
    name="web",
    events=[
        faaslib.HttpApi(path="/orders/{id}", method="GET"),
        faaslib.HttpApi(payload_format_version="1.0", timeout_in_millis=5000),
        faaslib.Api(path="/items/{proxy+}", method="ANY"),
        faaslib.Api(path="/admin", method="POST", stage="Beta", binary_media_types=["image/png"]),
        faaslib.FunctionUrl(auth_type="AWS_IAM"),
        faaslib.FunctionUrl(),
        faaslib.ALB(path="/web/*", priority=10, multi_value_headers=True),
    ],
)
everything.function(answer, name="fifo_dead", dead_letter=JOBS)
everything.function(answer, name="versioned")
everything.publish_version("versioned")
everything.update("versioned", memory_size=256)
everything.publish_version("versioned")
everything.create_alias("versioned", "live", "2", routing={"1": 0.1}, provisioned_concurrency=3)
everything.create_alias("versioned", "beta", "1")


# -- AWS's tools -------------------------------------------------------------------------------


class StaticPolicies:
    """The managed policies the translator's policy templates name, without asking IAM."""

    def load(self) -> dict[str, str]:
        names = [
            "AWSLambdaBasicExecutionRole",
            "AWSLambdaSQSQueueExecutionRole",
            "AWSLambdaKinesisExecutionRole",
            "AWSLambdaDynamoDBExecutionRole",
            "AWSXrayWriteOnlyAccess",
            "AWSLambdaRole",
        ]
        return {name: f"arn:aws:iam::aws:policy/service-role/{name}" for name in names}


def exported(reference: str) -> SamExport:
    if reference == EVERYTHING:
        return export_sam(everything, reference, code_uri="src")
    sys.path.insert(0, str(EXAMPLES))
    try:
        import orders
    finally:
        sys.path.remove(str(EXAMPLES))
    return export_sam(orders.registry, reference)


def transformed(template: dict[str, Any]) -> dict[str, Any]:
    from samtranslator.translator.transform import transform  # type: ignore[import-untyped]

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the partition, offline
    packaged = json.loads(json.dumps(template))
    for resource in packaged["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # What `sam deploy` (`sam package`) does before the transform: the local CodeUri
            # becomes the uploaded package's S3 location.
            resource["Properties"]["CodeUri"] = "s3://faaslib-artifacts/code.zip"
    result: dict[str, Any] = transform(packaged, {}, StaticPolicies())
    return result


def lint_errors(template: dict[str, Any]) -> list[str]:
    from cfnlint.api import lint  # type: ignore[import-untyped]

    matches = lint(json.dumps(template), regions=["us-east-1"])
    return [str(m) for m in matches if m.rule.id.startswith("E")]


@pytest.fixture(scope="module")
def templates() -> dict[str, SamExport]:
    return {ref: exported(ref) for ref in (ORDERS, EVERYTHING)}


@pytest.fixture(scope="module")
def lints(templates: dict[str, SamExport]) -> dict[str, list[str]]:
    """cfn-lint's errors, once per template: the SAM one and the transformed one."""
    found: dict[str, list[str]] = {}
    for ref, export in templates.items():
        found[ref] = lint_errors(export.template)
        found[ref + " transformed"] = lint_errors(transformed(export.template))
    return found


@pytest.mark.parametrize("reference", [ORDERS, EVERYTHING])
def test_the_translator_transforms_the_template(
    templates: dict[str, SamExport], reference: str
) -> None:
    result = transformed(templates[reference].template)
    kinds = {resource["Type"] for resource in result["Resources"].values()}
    assert "AWS::Lambda::Function" in kinds
    assert not any(kind.startswith("AWS::Serverless::") for kind in kinds)


@pytest.mark.parametrize(
    "name", [ORDERS, EVERYTHING, ORDERS + " transformed", EVERYTHING + " transformed"]
)
def test_cfn_lint_finds_no_error(lints: dict[str, list[str]], name: str) -> None:
    assert lints[name] == []


def test_every_option_maps_to_its_aws_property(templates: dict[str, SamExport]) -> None:
    resources = templates[EVERYTHING].template["Resources"]
    worker = resources["WorkerFunction"]["Properties"]
    assert worker["Timeout"] == 31
    assert worker["ReservedConcurrentExecutions"] == 7
    assert worker["EventInvokeConfig"] == {
        "MaximumRetryAttempts": 1,
        "MaximumEventAgeInSeconds": 3600,
        "DestinationConfig": {
            "OnSuccess": {
                "Type": "Lambda",
                "Destination": {"Fn::GetAtt": ["TargetFunction", "Arn"]},
            },
            "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["FailedQueue", "Arn"]}},
        },
    }
    assert worker["DeadLetterQueue"] == {"Type": "SNS", "TargetArn": {"Ref": "AlertsTopic"}}
    sqs = worker["Events"]["SQS1"]["Properties"]
    assert sqs["FilterCriteria"]["Filters"][1] == {"Pattern": '{"body": {"kind": ["b"]}}'}
    assert sqs["ScalingConfig"] == {"MaximumConcurrency": 4}
    assert sqs["Enabled"] is False
    assert resources["WorkQueue"]["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["WorkDeadQueue", "Arn"]},
        "maxReceiveCount": 3,
    }
    assert resources["JobsFifoQueue"]["Properties"]["FifoQueue"] is True
    assert resources["ClicksStream"]["Properties"]["ShardCount"] == 2
    table = resources["OrdersTableTable"]["Properties"]
    assert table["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
    ]
    streams = resources["StreamsFunction"]["Properties"]
    assert streams["Events"]["DynamoDB1"]["Properties"]["Stream"] == {
        "Fn::GetAtt": ["OrdersTableTable", "StreamArn"]
    }
    assert streams["AutoPublishAlias"] == "live"
    assert streams["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 2}
    web = resources["WebFunction"]["Properties"]
    assert web["FunctionUrlConfig"] == {"AuthType": "AWS_IAM", "InvokeMode": "BUFFERED"}
    assert resources["BetaApi"]["Properties"] == {
        "StageName": "Beta",
        "BinaryMediaTypes": ["image/png"],
    }
    schedule = resources["PushedFunction"]["Properties"]["Events"]["ScheduleV21"]["Properties"]
    assert schedule["Input"] == '{"job": "sweep"}'
    versioned = resources["VersionedFunction"]["Properties"]
    assert versioned["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 3}


def test_what_has_no_aws_counterpart_is_a_warning(templates: dict[str, SamExport]) -> None:
    warnings = "\n".join(templates[EVERYTHING].warnings)
    for expected in (
        "streams: OnFailure destination: <built-in function print>",
        "streams: DynamoDB on_failure: 'target'",
        "Queue 'virtual' reads a VirtualClock",
        "worker: isolation='process'",
        "worker: timeout 30.5 s rounded up",
        "a second FunctionUrl not exported",
        "ALB has no SAM event type",
        "aliases beta not exported",
        "routing weights",
        "2 published version(s)",
        "Table 'users': the type of key 'id' is not known",
        "provisioned concurrency needs an alias",
        "streams: batching window 1.5 s rounded up",
        "fifo_dead: a dead-letter queue cannot be FIFO",
    ):
        assert expected in warnings
    assert "charge_card: OnFailure destination" in "\n".join(templates[ORDERS].warnings)


# -- the Handler under awslambdaric ------------------------------------------------------------

ORDER = {"order_id": "o-1", "customer": "c", "lines": [{"sku": "apple", "quantity": 1}]}
ORDER_EVENTS = {
    "quote_order": ORDER,
    "place_order": ORDER,
    "ship_order": {"order_id": "o-1", "address": "here"},
    "notify_customers": {"Records": []},
    "charge_card": {"order_id": "o-1", "total": 1.0, "available": True},
    "send_receipt": {"requestContext": {}, "responsePayload": None},
}


def run_handler(function: dict[str, Any], event: Any) -> dict[str, Any]:
    """One invocation of the exported function through awslambdaric, with its Handler and
    the template's Environment."""
    variables = function["Properties"]["Environment"]["Variables"]
    name = variables["FAASLIB_FUNCTION"]
    handler = function["Properties"]["Handler"]
    env = {
        **os.environ,
        **variables,
        "PYTHONPATH": os.pathsep.join([str(HERE), str(EXAMPLES), os.environ.get("PYTHONPATH", "")]),
        "_HANDLER": handler,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function["Properties"]["MemorySize"]),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/05/[$LATEST]0123456789abcdef",
        "HARNESS_FUNCTION_ARN": f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
    }
    out = HERE / f".export-{uuid.uuid4().hex}.jsonl"
    try:
        process = subprocess.run(
            [sys.executable, str(HARNESS), handler, str(out)],
            input=json.dumps([{"request_id": "r-1", "payload": json.dumps(event)}]),
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    finally:
        out.unlink(missing_ok=True)
    assert records[-1]["kind"] == "result", (records, process.stderr)
    return dict(records[-1])


def test_each_exported_function_answers_under_awslambdaric(
    templates: dict[str, SamExport],
) -> None:
    runs: list[tuple[str, dict[str, Any], Any]] = []
    for ref, events in ((ORDERS, ORDER_EVENTS), (EVERYTHING, None)):
        for logical_id, resource in templates[ref].template["Resources"].items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            name = resource["Properties"]["Environment"]["Variables"]["FAASLIB_FUNCTION"]
            runs.append((logical_id, resource, {"n": 1} if events is None else events[name]))
    assert len(runs) == 6 + 7
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda run: run_handler(run[1], run[2]), runs))
    answers = {
        run[0]: json.loads(result["payload"]) for run, result in zip(runs, results, strict=True)
    }
    assert answers["QuoteOrderFunction"] == {"order_id": "o-1", "total": 0.5, "available": True}
    assert answers["WorkerFunction"] == {"ok": True, "keys": ["n"]}


# -- the command line --------------------------------------------------------------------------


def test_the_command_writes_the_template(tmp_path: Path) -> None:
    out = tmp_path / "template.json"
    done = subprocess.run(
        [sys.executable, "-m", "faaslib", "export", "sam", ORDERS, "--code-uri", "app",
         "--runtime", "python3.13", "-o", str(out)],
        cwd=EXAMPLES, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "warning: charge_card: OnFailure destination" in done.stderr
    template = json.loads(out.read_text(encoding="utf-8"))
    function = template["Resources"]["QuoteOrderFunction"]["Properties"]
    assert (function["CodeUri"], function["Runtime"]) == ("app", "python3.13")


def test_the_command_prints_to_standard_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    assert main(["export", "sam", EVERYTHING]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["Resources"]["TargetFunction"]["Properties"]["CodeUri"] == "."
    assert "warning: " in captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "sam", "no_such_module:registry"], "no_such_module"),
        (["export", "sam", EVERYTHING, "-o", "/no/such/dir/t.json"], "cannot write the template"),
    ],
)
def test_mistakes_exit_with_status_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_a_missing_format_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "faaslib", "export"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2


def test_cfn_lint_does_find_errors(templates: dict[str, SamExport]) -> None:
    """The lint above is not vacuous: a value out of CloudFormation's range is an error."""
    broken = json.loads(json.dumps(templates[EVERYTHING].template))
    broken["Resources"]["WorkQueue"]["Properties"]["VisibilityTimeout"] = 99_999
    assert any("E3034" in error for error in lint_errors(broken))

"""S3 Batch Operations: a job invokes a function synchronously for every task of its manifest
with S3 Batch's event (schema 1.0 or 2.0), reads each answer's result code, retries temporary
failures, counts the tasks and writes S3's completion report."""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import S3BatchOperationEvent
from aws_lambda_powertools.utilities.parser.models import S3BatchOperationModel

import faaslib
from faaslib._services import s3_batch
from faaslib._services.s3 import Bucket
from faaslib._services.s3_batch import BatchJob, BatchTask, parse_manifest, s3_batch_event

T0 = 1_800_000_000.0
Answer = Callable[[dict[str, Any]], Any]


def answer(code: str, text: str = "", *, event: dict[str, Any]) -> dict[str, Any]:
    """A function's answer for the event's one task."""
    return {
        "invocationSchemaVersion": event["invocationSchemaVersion"],
        "treatMissingKeysAs": "PermanentFailure",
        "invocationId": event["invocationId"],
        "results": [
            {"taskId": event["tasks"][0]["taskId"], "resultCode": code, "resultString": text}
        ],
    }


def registry_for(events: list[dict[str, Any]], reply: Answer) -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function
    def process(event: dict[str, Any]) -> Any:
        events.append(event)
        return reply(event)

    return registry


async def run(job: BatchJob, reply: Answer, **options: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    clock = faaslib.VirtualClock(T0)
    async with faaslib.Invoker(registry_for(events, reply), clock=clock, **options) as invoker:
        await job.run(invoker)
    return events


def check_event(event: dict[str, Any], version: str) -> None:
    """The event is S3 Batch's, as Powertools reads it."""
    model = S3BatchOperationModel.model_validate(copy.deepcopy(event))  # it adds s3Bucket
    assert model.invocationSchemaVersion == version
    view = S3BatchOperationEvent(event)
    assert view.invocation_id == event["invocationId"]
    assert list(event) == ["invocationSchemaVersion", "invocationId", "job", "tasks"]
    [task] = event["tasks"]
    if version == "1.0":
        assert list(task) == ["taskId", "s3Key", "s3VersionId", "s3BucketArn"]
        assert list(event["job"]) == ["id"]
    else:
        assert list(task) == ["taskId", "s3Key", "s3VersionId", "s3Bucket"]
    assert view.task.s3_bucket == model.tasks[0].s3Bucket


def report(bucket: Bucket, job: BatchJob) -> tuple[dict[str, Any], dict[str, list[list[str]]]]:
    """The report's manifest.json and its result files' rows by task status."""
    manifest = json.loads(bucket.get(f"reports/job-{job.id}/manifest.json"))
    rows = {}
    for entry in manifest["Results"]:
        body = bucket.get(entry["Key"])
        assert hashlib.md5(body, usedforsecurity=False).hexdigest() == entry["MD5Checksum"]
        assert entry["Bucket"] == bucket.name
        assert entry["Key"].startswith(f"reports/job-{job.id}/results/")
        rows[entry["TaskExecutionStatus"]] = list(csv.reader(io.StringIO(body.decode())))
    return manifest, rows


async def test_schema_1_sends_each_task_and_reports_success() -> None:
    reports = Bucket("job-reports")
    manifest = "photos,cat%201.jpg\nphotos,dogs/rex+2.png,v2\n"
    job = BatchJob(manifest, function="process", report_bucket=reports, report_prefix="reports")
    events = await run(job, lambda e: answer("Succeeded", "done", event=e))
    assert len(events) == 2
    for event in events:
        check_event(event, "1.0")
        assert event["job"] == {"id": job.id}
    first, second = (S3BatchOperationEvent(e).task for e in events)
    assert (first.s3_key, first.s3_bucket_arn, first.s3_version_id) == (
        "cat 1.jpg",
        "arn:aws:s3:::photos",
        None,
    )
    assert (second.s3_key, second.s3_version_id) == ("dogs/rex 2.png", "v2")
    assert events[0]["tasks"][0]["s3Key"] == "cat%201.jpg"  # as the manifest has it
    assert job.status == "Complete"
    assert job.progress_summary["TotalNumberOfTasks"] == 2
    assert job.progress_summary["NumberOfTasksSucceeded"] == 2
    assert job.progress_summary["NumberOfTasksFailed"] == 0
    doc, rows = report(reports, job)
    assert doc["Format"] == "Report_CSV_20180820"
    assert doc["ReportSchema"] == (
        "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"
    )
    assert doc["ReportCreationDate"] == "2027-01-15T08:00:00.000Z"
    assert rows == {
        "succeeded": [
            ["photos", "cat%201.jpg", "", "succeeded", "200", "", "done"],
            ["photos", "dogs/rex+2.png", "v2", "succeeded", "200", "", "done"],
        ]
    }


async def test_schema_2_sends_the_bucket_name_and_user_arguments() -> None:
    job = BatchJob(
        [("data", "a b.txt", "3")],
        function="process",
        invocation_schema_version="2.0",
        user_arguments={"mode": "fast"},
    )
    events = await run(job, lambda e: answer("Succeeded", event=e))
    [event] = events
    check_event(event, "2.0")
    assert event["job"] == {"id": job.id, "userArguments": {"mode": "fast"}}
    assert event["tasks"][0]["s3Bucket"] == "data"
    task = S3BatchOperationEvent(event).task
    assert (task.s3_key, task.s3_version_id) == ("a b.txt", "3")
    assert S3BatchOperationEvent(event).job.user_arguments == {"mode": "fast"}
    assert job.describe()["Operation"]["LambdaInvoke"] == {
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:process",
        "InvocationSchemaVersion": "2.0",
        "UserArguments": {"mode": "fast"},
    }


async def test_a_bucket_is_a_manifest_of_its_objects() -> None:
    source = Bucket("source")
    source.put("x/1", b"1")
    source.put("x/2", b"2")
    job = BatchJob(source, function="process")
    events = await run(job, lambda e: answer("Succeeded", event=e))
    assert [S3BatchOperationEvent(e).task.s3_key for e in events] == ["x/1", "x/2"]


async def test_each_result_code_and_the_failed_report() -> None:
    reports = Bucket("job-reports")
    job = BatchJob(
        [("b1x", "ok"), ("b1x", "bad"), ("b1x", "flaky")],
        function="process",
        report_bucket=reports,
        report_prefix="reports/",
    )

    def reply(event: dict[str, Any]) -> dict[str, Any]:
        key = event["tasks"][0]["s3Key"]
        code = {"ok": "Succeeded", "bad": "PermanentFailure", "flaky": "TemporaryFailure"}[key]
        return answer(code, f"{key}!", event=event)

    events = await run(job, reply)
    keys = [e["tasks"][0]["s3Key"] for e in events]
    assert keys == ["ok", "bad", "flaky", "flaky", "flaky"]  # a temporary failure, 3 tries
    flaky = [e for e in events if e["tasks"][0]["s3Key"] == "flaky"]
    assert len({e["tasks"][0]["taskId"] for e in flaky}) == 1  # the same task
    assert len({e["invocationId"] for e in flaky}) == 3  # each a new invocation
    assert [r.attempts for r in job.results] == [1, 1, 3]
    assert job.status == "Complete"  # under the failure threshold
    summary = job.progress_summary
    assert (summary["NumberOfTasksSucceeded"], summary["NumberOfTasksFailed"]) == (1, 2)
    _, rows = report(reports, job)
    assert rows["failed"] == [
        ["b1x", "bad", "", "failed", "200", "PermanentFailure", "bad!"],
        ["b1x", "flaky", "", "failed", "200", "TemporaryFailure", "flaky!"],
    ]
    assert rows["succeeded"] == [["b1x", "ok", "", "succeeded", "200", "", "ok!"]]


async def test_a_temporary_failure_that_recovers_succeeds() -> None:
    calls: list[int] = []

    def reply(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        return answer("TemporaryFailure" if len(calls) < 2 else "Succeeded", event=event)

    job = BatchJob([("b1x", "k")], function="process", max_attempts=5)
    await run(job, reply)
    assert [(r.status, r.attempts) for r in job.results] == [("succeeded", 2)]


async def test_temporary_failures_are_redriven_after_the_other_tasks() -> None:
    tries: dict[str, int] = {}

    def reply(event: dict[str, Any]) -> dict[str, Any]:
        key = event["tasks"][0]["s3Key"]
        tries[key] = tries.get(key, 0) + 1
        code = "TemporaryFailure" if key == "slow" and tries[key] < 3 else "Succeeded"
        return answer(code, f"try {tries[key]}", event=event)

    job = BatchJob([("b1x", "slow"), ("b1x", "a"), ("b1x", "b")], function="process")
    events = await run(job, reply)
    assert [e["tasks"][0]["s3Key"] for e in events] == ["slow", "a", "b", "slow", "slow"]
    assert [(r.task.key, r.result_string, r.attempts) for r in job.results] == [
        ("a", "try 1", 1),
        ("b", "try 1", 1),
        ("slow", "try 3", 3),
    ]
    assert job.status == "Complete"


async def test_failed_tasks_only_reports_failures() -> None:
    reports = Bucket("job-reports")
    job = BatchJob(
        [("b1x", "ok"), ("b1x", "no")],
        function="process",
        report_bucket=reports,
        report_prefix="reports",
        report_scope="FailedTasksOnly",
    )
    code = {"ok": "Succeeded", "no": "PermanentFailure"}
    await run(job, lambda e: answer(code[e["tasks"][0]["s3Key"]], event=e))
    doc, rows = report(reports, job)
    assert [r["TaskExecutionStatus"] for r in doc["Results"]] == ["failed"]
    assert list(rows) == ["failed"]


async def test_a_function_error_fails_the_task() -> None:
    reports = Bucket("job-reports")
    job = BatchJob([("b1x", "k")], function="process", report_bucket=reports)

    def reply(event: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    events = await run(job, reply)
    assert len(events) == 1  # not retried
    [result] = job.results
    assert (result.status, result.http_status, result.error_code) == (
        "failed",
        200,
        "PermanentFailure",
    )
    assert result.result_string.startswith("Lambda returned function error: {")
    assert json.loads(result.result_string.split(": ", 1)[1])["errorMessage"] == "boom"
    manifest = json.loads(reports.get(f"job-{job.id}/manifest.json"))
    assert [r["TaskExecutionStatus"] for r in manifest["Results"]] == ["failed"]


@pytest.mark.parametrize(
    "reply",
    [
        "not an object",
        {"results": "nope"},
        {"results": [{"taskId": "?", "resultCode": "Succeeded"}], "treatMissingKeysAs": "Maybe"},
    ],
)
async def test_an_unreadable_answer_fails_the_task(reply: Any) -> None:
    job = BatchJob([("b1x", "k")], function="process")
    events = await run(job, lambda e: reply)
    assert len(events) == 1
    [result] = job.results
    assert (result.status, result.error_code) == ("failed", "PermanentFailure")
    assert result.result_string.startswith("Lambda returned an invalid response")


async def test_a_bad_result_code_fails_the_task() -> None:
    job = BatchJob([("b1x", "k")], function="process")
    await run(job, lambda e: answer("Done", event=e))
    assert job.results[0].result_string == (
        "Lambda returned an invalid response: invalid resultCode 'Done'"
    )


@pytest.mark.parametrize("missing", ["Succeeded", "TemporaryFailure", None])
async def test_treat_missing_keys_as(missing: str | None) -> None:
    def reply(event: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"invocationId": event["invocationId"], "results": []}
        if missing is not None:
            body["treatMissingKeysAs"] = missing
        return body

    job = BatchJob([("b1x", "k")], function="process")
    events = await run(job, reply)
    [result] = job.results
    expected = {"Succeeded": ("succeeded", ""), "TemporaryFailure": ("failed", "TemporaryFailure")}
    assert (result.status, result.error_code) == expected.get(
        str(missing), ("failed", "PermanentFailure")
    )
    assert len(events) == (3 if missing == "TemporaryFailure" else 1)


async def test_the_job_fails_past_the_task_failure_threshold() -> None:
    tasks = [("b1x", f"k{i}") for i in range(1200)]
    job = BatchJob(tasks, function="process")
    events = await run(job, lambda e: answer("PermanentFailure", event=e))
    assert len(events) == s3_batch.FAILURE_THRESHOLD_TASKS  # then it stops
    assert job.status == "Failed"
    assert job.describe()["FailureReasons"][0]["FailureCode"] == "TaskFailureThresholdExceeded"
    summary = job.progress_summary
    assert summary["TotalNumberOfTasks"] == 1200
    assert summary["NumberOfTasksFailed"] == 1000


async def test_invoked_as_the_service_for_the_job() -> None:
    registry = faaslib.Registry()
    events: list[dict[str, Any]] = []

    @registry.function
    def process(event: dict[str, Any]) -> dict[str, Any]:
        events.append(event)
        return answer("Succeeded", event=event)

    job = BatchJob([("b1x", "k")], function="process", region="us-east-1")
    refused = BatchJob([("b1x", "k")], function="process", region="us-east-1")
    registry.add_permission(
        "process", "batch", "batchoperations.s3.amazonaws.com", source_arn=job.arn
    )
    async with faaslib.Invoker(registry, check_permissions=True) as invoker:
        await job.run(invoker)
        await refused.run(invoker)
    assert job.arn.startswith("arn:aws:s3:us-east-1:123456789012:job/")
    assert job.results[0].status == "succeeded"
    [result] = refused.results
    assert (result.status, result.http_status, result.error_code) == (
        "failed",
        403,
        "AccessDeniedException",
    )
    assert len(events) == 1


async def test_a_throttled_task_is_retried_then_fails() -> None:
    registry = registry_for([], lambda e: answer("Succeeded", event=e))
    registry.update("process", reserved_concurrency=0)
    reports = Bucket("job-reports")
    job = BatchJob([("b1x", "k")], function="process", report_bucket=reports)
    async with faaslib.Invoker(registry) as invoker:
        await job.run(invoker)
    [result] = job.results
    assert (result.error_code, result.http_status, result.attempts) == (
        "TemporaryFailure",
        429,
        3,
    )
    assert reports.list() == []  # no task was invoked: no report


def test_parse_manifest_and_bad_input() -> None:
    assert parse_manifest(b"\xef\xbb\xbfb1x,a%2Bb,7\n\nb1x,c\n") == [
        BatchTask("b1x", "a%2Bb", "7"),
        BatchTask("b1x", "c"),
    ]
    with pytest.raises(faaslib.InvalidParameterValueException, match="line 1"):
        parse_manifest("b1x\n")
    with pytest.raises(faaslib.InvalidParameterValueException, match="bucket name"):
        parse_manifest("B!,k\n")
    with pytest.raises(faaslib.InvalidParameterValueException, match="2.0"):
        BatchJob("b1x,k", function="f", user_arguments={"a": "b"})
    with pytest.raises(faaslib.InvalidParameterValueException, match="InvocationSchemaVersion"):
        BatchJob("b1x,k", function="f", invocation_schema_version="3.0")  # type: ignore[arg-type]
    with pytest.raises(faaslib.InvalidParameterValueException, match="ReportScope"):
        BatchJob("b1x,k", function="f", report_scope="Some")  # type: ignore[arg-type]
    with pytest.raises(faaslib.InvalidParameterValueException, match="Priority"):
        BatchJob("b1x,k", function="f", priority=-1)


async def test_a_job_runs_once() -> None:
    job = BatchJob("b1x,k", function="process")
    await run(job, lambda e: answer("Succeeded", event=e))
    with pytest.raises(faaslib.InvalidParameterValueException, match="not New"):
        await run(job, lambda e: answer("Succeeded", event=e))


def test_event_factory_matches_powertools() -> None:
    one = s3_batch_event("my+photo.jpg", "pics", version_id="1")
    check_event(one, "1.0")
    assert S3BatchOperationEvent(one).task.s3_key == "my photo.jpg"
    two = s3_batch_event(invocation_schema_version="2.0", user_arguments={"k": "v"})
    check_event(two, "2.0")
    assert two["job"]["userArguments"] == {"k": "v"}


async def test_the_jobs_role_of_the_same_account_needs_no_permission() -> None:
    role = "arn:aws:iam::123456789012:role/BatchOperationsRole"
    job = BatchJob([("b1x", "k")], function="process", role_arn=role)
    await run(job, lambda e: answer("Succeeded", event=e), check_permissions=True)
    assert job.results[0].status == "succeeded"

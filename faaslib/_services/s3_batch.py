"""Amazon S3 Batch Operations: ``BatchJob``, a job that runs a function (S3 Batch's
``LambdaInvoke`` operation) on every object of a manifest, as S3 Batch Operations does.

The job invokes the function synchronously (RequestResponse), one task per invocation, with
S3 Batch's event (invocation schema ``1.0`` or ``2.0``), reads each answer's ``resultCode``
(``Succeeded``, ``TemporaryFailure``, which it retries, or ``PermanentFailure``), counts the
tasks as ``DescribeJob``'s ``ProgressSummary`` does, fails the job past S3's task failure
threshold, and writes S3's completion report (``manifest.json`` and result CSV files) to a
report bucket.
"""

from __future__ import annotations

import base64
import csv
import datetime
import hashlib
import io
import json
import re
import secrets
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .._arn import function_arn, parse_function_ref
from .._errors import FaaslibError, InvalidParameterValueException, TooManyRequestsException
from .._site import FollowsSite

if TYPE_CHECKING:
    from .._clock import Clock
    from .._triggers import Invokes as Invoker

__all__ = [
    "BatchJob",
    "BatchTask",
    "TaskResult",
    "parse_manifest",
    "s3_batch_event",
]

SchemaVersion = Literal["1.0", "2.0"]
ReportScope = Literal["AllTasks", "FailedTasksOnly"]
ResultCode = Literal["Succeeded", "TemporaryFailure", "PermanentFailure"]

#: The service principal S3 Batch Operations acts as (the trust principal of a job's role).
PRINCIPAL = "batchoperations.s3.amazonaws.com"
RESULT_CODES: tuple[ResultCode, ...] = ("Succeeded", "TemporaryFailure", "PermanentFailure")
#: How often a task answered ``TemporaryFailure`` is tried in all (AWS does not document it).
DEFAULT_ATTEMPTS = 3
#: S3's task failure threshold: once this many tasks have run, a job whose failed share is
#: above :data:`FAILURE_RATE` stops and fails.
FAILURE_THRESHOLD_TASKS = 1000
FAILURE_RATE = 0.5
REPORT_FORMAT = "Report_CSV_20180820"
REPORT_SCHEMA = "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"
_MAX_PRIORITY = 2_147_483_647
_MAX_USER_ARGUMENTS = 10
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class ReportBucket(Protocol):
    """Where a job writes its completion report: a :class:`~faaslib.Bucket` (anything with
    its ``name`` and ``put``)."""

    name: str

    def put(self, key: str, data: bytes) -> str: ...


class ManifestBucket(Protocol):
    """A bucket whose every object is a task: a :class:`~faaslib.Bucket` (``name``,
    ``list``)."""

    name: str

    def list(self, prefix: str = "") -> list[str]: ...


@dataclass(frozen=True)
class BatchTask:
    """One object of a manifest: its bucket, its key as the manifest gives it (URL-encoded,
    as S3 Batch reads and sends it) and its version id (``None``: the current version)."""

    bucket: str
    key: str
    version_id: str | None = None


@dataclass(frozen=True)
class TaskResult:
    """How a task ended, as a completion report lists it.

    :ivar status: ``succeeded`` or ``failed``
    :ivar http_status: the report's HTTP status code (200 once the function answered)
    :ivar error_code: empty when succeeded; else the result code (``PermanentFailure``,
        ``TemporaryFailure`` once retries ran out) or the invocation's error type
    :ivar result_string: the answer's ``resultString``, or why the task failed
    :ivar attempts: how many times the function was invoked for the task
    """

    task: BatchTask
    task_id: str
    status: Literal["succeeded", "failed"]
    http_status: int
    error_code: str
    result_string: str
    attempts: int

    @property
    def row(self) -> list[str]:
        """The task's line in a result CSV file."""
        return [
            self.task.bucket,
            self.task.key,
            self.task.version_id or "",
            self.status,
            str(self.http_status),
            self.error_code,
            self.result_string,
        ]


# -- manifests ---------------------------------------------------------------------------------


def parse_manifest(text: str | bytes) -> list[BatchTask]:
    """The tasks of a CSV manifest, S3's ``S3BatchOperations_CSV_20180820`` format: one
    ``bucket,key[,versionId]`` line per object, keys URL-encoded.

    :raises ~faaslib.InvalidParameterValueException: a line of other than 2 or 3 fields, a bad
        bucket name or an empty key
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")
    tasks = []
    for number, fields in enumerate(csv.reader(io.StringIO(text)), 1):
        if not fields:
            continue
        if len(fields) not in (2, 3):
            raise InvalidParameterValueException(
                f"Manifest line {number}: expected bucket,key[,versionId], got {len(fields)} fields"
            )
        version = fields[2] if len(fields) == 3 and fields[2] else None
        tasks.append(_task(fields[0], fields[1], version, f"Manifest line {number}"))
    return tasks


def _task(bucket: object, key: object, version: object, where: str) -> BatchTask:
    if not isinstance(bucket, str) or not _BUCKET.fullmatch(bucket):
        raise InvalidParameterValueException(f"{where}: invalid bucket name {bucket!r}")
    if not isinstance(key, str) or not key:
        raise InvalidParameterValueException(f"{where}: the object key must not be empty")
    if version is not None and not isinstance(version, str):
        raise InvalidParameterValueException(f"{where}: the version id must be a string")
    return BatchTask(bucket, key, version or None)


def _encode_key(key: str) -> str:
    """A key as a manifest holds it: URL-encoded (a space as ``+``; ``/`` kept)."""
    return urllib.parse.quote_plus(key, safe="/")


def _tasks(manifest: object) -> list[BatchTask]:
    """The tasks of a manifest given as CSV text, a bucket (all its objects) or pairs."""
    if isinstance(manifest, (str, bytes)):
        return parse_manifest(manifest)
    if hasattr(manifest, "list") and hasattr(manifest, "name"):
        bucket: ManifestBucket = manifest
        return [_task(bucket.name, _encode_key(key), None, "Manifest") for key in bucket.list()]
    if isinstance(manifest, Iterable):
        tasks = []
        for number, entry in enumerate(manifest, 1):
            if isinstance(entry, BatchTask):
                tasks.append(entry)
                continue
            if (
                not isinstance(entry, Sequence)
                or isinstance(entry, str)
                or len(entry) not in (2, 3)
            ):
                raise InvalidParameterValueException(
                    f"Manifest entry {number}: expected (bucket, key[, version_id])"
                )
            version = entry[2] if len(entry) == 3 else None
            tasks.append(_task(entry[0], _encode_key(str(entry[1])), version, f"Entry {number}"))
        return tasks
    raise InvalidParameterValueException(
        "The manifest must be CSV text, a faaslib.Bucket or (bucket, key) pairs"
    )


# -- events ------------------------------------------------------------------------------------


def _opaque_id(size: int) -> str:
    """An id as S3 Batch's look: base64 of random bytes, unpadded."""
    return base64.b64encode(secrets.token_bytes(size)).decode().rstrip("=")


def s3_batch_event(
    key: str = "customer-image-1.jpg",
    bucket: str = "my-bucket",
    *,
    version_id: str | None = None,
    invocation_schema_version: SchemaVersion = "1.0",
    user_arguments: Mapping[str, str] | None = None,
    job_id: str | None = None,
    task_id: str | None = None,
    invocation_id: str | None = None,
) -> dict[str, Any]:
    """The event S3 Batch Operations sends a function for one task.

    ``key`` is sent as given: URL-encoded, as the manifest holds it. Schema ``1.0`` names the
    bucket by ARN (``s3BucketArn``); ``2.0`` by name (``s3Bucket``) and carries the job's
    ``userArguments`` (when there are any).
    """
    if invocation_schema_version not in ("1.0", "2.0"):
        raise InvalidParameterValueException(
            f"Invalid InvocationSchemaVersion: {invocation_schema_version!r}"
        )
    job: dict[str, Any] = {"id": job_id or str(uuid.uuid4())}
    task: dict[str, Any] = {"taskId": task_id or _opaque_id(24)}
    if invocation_schema_version == "1.0":
        if user_arguments:
            raise InvalidParameterValueException(_USER_ARGUMENTS_NEED_2)
        task.update(s3Key=key, s3VersionId=version_id, s3BucketArn=f"arn:aws:s3:::{bucket}")
    else:
        if user_arguments:
            job["userArguments"] = dict(user_arguments)
        task.update(s3Key=key, s3VersionId=version_id, s3Bucket=bucket)
    return {
        "invocationSchemaVersion": invocation_schema_version,
        "invocationId": invocation_id or _opaque_id(36),
        "job": job,
        "tasks": [task],
    }


_USER_ARGUMENTS_NEED_2 = "UserArguments can only be specified with InvocationSchemaVersion 2.0"


# -- answers -----------------------------------------------------------------------------------


class _Unreadable(Exception):
    """An answer S3 Batch cannot read; the message says why."""


def _read_answer(payload: bytes, task_id: str) -> tuple[ResultCode, str]:
    """The result code and string an answer gives the task.

    A task the answer does not list gets ``treatMissingKeysAs`` (default
    ``PermanentFailure``).

    :raises _Unreadable: not a JSON object, no ``results`` list, a bad result code
    """
    try:
        answer = json.loads(payload) if payload else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise _Unreadable("Lambda returned an invalid response: not a JSON object")
    results = answer.get("results")
    if not isinstance(results, list):
        raise _Unreadable("Lambda returned an invalid response: results must be a list")
    for result in results:
        if isinstance(result, dict) and result.get("taskId") == task_id:
            return _result(result.get("resultCode"), result.get("resultString", ""))
    missing = answer.get("treatMissingKeysAs", "PermanentFailure")
    return _result(missing, f"The response has no result for task {task_id}")


def _result(code: object, text: object) -> tuple[ResultCode, str]:
    for known in RESULT_CODES:
        if code == known:
            string = text if isinstance(text, str) else json.dumps(text)
            return known, string
    raise _Unreadable(f"Lambda returned an invalid response: invalid resultCode {code!r}")


# -- the job -----------------------------------------------------------------------------------


class BatchJob(FollowsSite):
    """An S3 Batch Operations job whose operation invokes a function on every task.

    :meth:`run` invokes ``function`` (a name or ARN; a qualifier picks a version or alias)
    synchronously for each task of the manifest, in order, as ``batchoperations.s3.amazonaws
    .com`` for the job's ARN (or as ``role_arn``, the job's IAM role, when given). An answer
    ``Succeeded`` ends the task; ``TemporaryFailure`` (or a throttled invocation) is tried
    again once the other tasks have had their turn (S3 "redrives" it before the job
    completes), up to ``max_attempts`` in all, then fails; ``PermanentFailure``, a function error,
    an unreadable answer or an invocation error fail it. Once
    :data:`FAILURE_THRESHOLD_TASKS` tasks have run, a failed share above half stops the job,
    ``Failed``; else it ends ``Complete``. The completion report, when ``report_bucket`` is
    given and a task ran, goes to ``<report_prefix>/job-<id>/``.

    :param manifest: CSV text or bytes (``bucket,key[,versionId]`` lines, keys URL-encoded), a
        :class:`~faaslib.Bucket` (each of its objects), or ``(bucket, key[, version_id])``
        pairs (keys as stored; they are URL-encoded as a manifest holds them)
    :param invocation_schema_version: ``1.0`` (the default) or ``2.0``
    :param user_arguments: string pairs sent in ``job.userArguments`` (schema 2.0 only)
    :param report_scope: ``AllTasks`` or ``FailedTasksOnly``
    :param priority: the job's priority (0-2147483647); kept, as S3 keeps it
    """

    def __init__(
        self,
        manifest: str | bytes | ManifestBucket | Iterable[Sequence[str | None] | BatchTask],
        *,
        function: str,
        invocation_schema_version: SchemaVersion = "1.0",
        user_arguments: Mapping[str, str] | None = None,
        report_bucket: ReportBucket | None = None,
        report_prefix: str = "",
        report_scope: ReportScope = "AllTasks",
        priority: int = 10,
        role_arn: str | None = None,
        max_attempts: int = DEFAULT_ATTEMPTS,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        _check_options(
            invocation_schema_version, user_arguments, report_scope, priority, max_attempts
        )
        if report_bucket is not None and not hasattr(report_bucket, "put"):
            raise InvalidParameterValueException("report_bucket must be a faaslib.Bucket")
        if not isinstance(function, str) or parse_function_ref(function) is None:
            raise InvalidParameterValueException(f"Invalid function name or ARN: {function!r}")
        self._settle(region, account_id, clock)
        self.tasks = _tasks(manifest)
        self.function = function
        self.invocation_schema_version = invocation_schema_version
        self.user_arguments = dict(user_arguments or {})
        self.report_bucket = report_bucket
        self.report_prefix = report_prefix.strip("/")
        self.report_scope = report_scope
        self.priority = priority
        self.role_arn = role_arn
        self.max_attempts = max_attempts
        self.id = str(uuid.uuid4())
        self.status = "New"
        self.results: list[TaskResult] = []
        self.failure_reasons: list[dict[str, str]] = []
        self.report_keys: list[str] = []
        self.creation_time = self.clock.time()
        self.termination_time: float | None = None
        self._task_ids = [_opaque_id(24) for _ in self.tasks]

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:{self.region}:{self.account_id}:job/{self.id}"

    @property
    def function_arn(self) -> str:
        """The function as the job names it (``FunctionArn``)."""
        if self.function.startswith("arn:"):
            return self.function
        ref = parse_function_ref(self.function)
        assert ref is not None
        return function_arn(
            ref.region or self.region, ref.account or self.account_id, ref.name, ref.qualifier
        )

    @property
    def progress_summary(self) -> dict[str, Any]:
        """``DescribeJob``'s ``ProgressSummary``."""
        succeeded = sum(r.status == "succeeded" for r in self.results)
        end = self.termination_time if self.termination_time is not None else self.clock.time()
        return {
            "TotalNumberOfTasks": len(self.tasks),
            "NumberOfTasksSucceeded": succeeded,
            "NumberOfTasksFailed": len(self.results) - succeeded,
            "Timers": {"ElapsedTimeInActiveSeconds": int(end - self.creation_time)},
        }

    def describe(self) -> dict[str, Any]:
        """The job as ``DescribeJob`` gives it (the ``Job`` member, in part)."""
        operation: dict[str, Any] = {
            "FunctionArn": self.function_arn,
            "InvocationSchemaVersion": self.invocation_schema_version,
        }
        if self.user_arguments:
            operation["UserArguments"] = dict(self.user_arguments)
        job: dict[str, Any] = {
            "JobId": self.id,
            "JobArn": self.arn,
            "Operation": {"LambdaInvoke": operation},
            "Priority": self.priority,
            "Status": self.status,
            "ProgressSummary": self.progress_summary,
            "FailureReasons": list(self.failure_reasons),
            "Report": self._report_config(),
        }
        if self.termination_time is not None:
            job["TerminationDate"] = _iso(self.termination_time)
        return job

    async def run(self, invoker: Invoker) -> dict[str, Any]:
        """Run every task with ``invoker``, write the report; return the ``ProgressSummary``.

        :raises ~faaslib.InvalidParameterValueException: the job has run already
        """
        if self.status != "New":
            raise InvalidParameterValueException(f"Job {self.id} is {self.status}, not New")
        self.follow(invoker.site)
        self.status = "Active"
        failed = await self._run_tasks(invoker)
        if failed:
            self.status = "Failed"
            self.failure_reasons.append(
                {
                    "FailureCode": "TaskFailureThresholdExceeded",
                    "FailureReason": "Job failed: task failure threshold exceeded",
                }
            )
        else:
            self.status = "Complete"
        self.termination_time = self.clock.time()
        invoked = any(r.http_status == 200 for r in self.results)
        if self.report_bucket is not None and invoked:
            self._write_report(self.report_bucket)
        return self.progress_summary

    async def _run_tasks(self, invoker: Invoker) -> bool:
        """Run the tasks in manifest order, then redrive those that answered
        ``TemporaryFailure``, pass after pass, until each ends; ``True`` once the job is past
        the task failure threshold (it stops there)."""
        pending = list(range(len(self.tasks)))
        attempts = [0] * len(self.tasks)
        while pending:
            redrive = []
            for index in pending:
                task, task_id = self.tasks[index], self._task_ids[index]
                status, http, code, text = await self._attempt(invoker, task, task_id)
                attempts[index] += 1
                if code == "TemporaryFailure" and attempts[index] < self.max_attempts:
                    redrive.append(index)
                    continue
                self.results.append(
                    TaskResult(task, task_id, status, http, code, text, attempts[index])
                )
                if self._past_threshold():
                    return True
            pending = redrive
        return False

    def _past_threshold(self) -> bool:
        ran = len(self.results)
        failed = sum(r.status == "failed" for r in self.results)
        return ran >= FAILURE_THRESHOLD_TASKS and failed > ran * FAILURE_RATE

    async def _attempt(
        self, invoker: Invoker, task: BatchTask, task_id: str
    ) -> tuple[Literal["succeeded", "failed"], int, str, str]:
        event = s3_batch_event(
            task.key,
            task.bucket,
            version_id=task.version_id,
            invocation_schema_version=self.invocation_schema_version,
            user_arguments=self.user_arguments or None,
            job_id=self.id,
            task_id=task_id,
        )
        principal = self.role_arn or PRINCIPAL
        try:
            answer = await invoker.invoke(
                self.function, event, "RequestResponse", principal=principal, source_arn=self.arn
            )
        except TooManyRequestsException as exc:
            return "failed", exc.status_code, "TemporaryFailure", exc.message
        except FaaslibError as exc:
            return "failed", exc.status_code, exc.error_type, exc.message
        if answer.function_error is not None:
            text = answer.payload.decode("utf-8", "replace")
            return "failed", 200, "PermanentFailure", f"Lambda returned function error: {text}"
        try:
            code, text = _read_answer(answer.payload, task_id)
        except _Unreadable as unreadable:
            return "failed", 200, "PermanentFailure", str(unreadable)
        if code == "Succeeded":
            return "succeeded", 200, "", text
        return "failed", 200, code, text

    # -- the completion report -----------------------------------------------------------------

    def _report_config(self) -> dict[str, Any]:
        if self.report_bucket is None:
            return {"Enabled": False}
        config: dict[str, Any] = {
            "Bucket": f"arn:aws:s3:::{self.report_bucket.name}",
            "Format": "Report_CSV_20180820",
            "Enabled": True,
            "ReportScope": self.report_scope,
        }
        if self.report_prefix:
            config["Prefix"] = self.report_prefix
        return config

    def _write_report(self, bucket: ReportBucket) -> None:
        """Write the result CSV files (succeeded, failed) and the ``manifest.json`` naming
        them, as S3 writes a completion report."""
        base = f"job-{self.id}"
        if self.report_prefix:
            base = f"{self.report_prefix}/{base}"
        files = []
        for status in ("succeeded", "failed"):
            if status == "succeeded" and self.report_scope == "FailedTasksOnly":
                continue
            rows = [r.row for r in self.results if r.status == status]
            if not rows:
                continue
            body = _csv(rows)
            key = f"{base}/results/{secrets.token_hex(20)}.csv"
            bucket.put(key, body)
            self.report_keys.append(key)
            files.append(
                {
                    "TaskExecutionStatus": status,
                    "Bucket": bucket.name,
                    "MD5Checksum": hashlib.md5(body, usedforsecurity=False).hexdigest(),
                    "Key": key,
                }
            )
        manifest = {
            "Format": REPORT_FORMAT,
            "ReportCreationDate": _iso(self.clock.time()),
            "Results": files,
            "ReportSchema": REPORT_SCHEMA,
        }
        key = f"{base}/manifest.json"
        bucket.put(key, json.dumps(manifest).encode())
        self.report_keys.append(key)

    def __repr__(self) -> str:
        return f"<BatchJob {self.id} {self.status} tasks={len(self.tasks)}>"


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _iso(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def _check_options(
    version: object,
    user_arguments: Mapping[str, str] | None,
    scope: object,
    priority: object,
    max_attempts: object,
) -> None:
    if version not in ("1.0", "2.0"):
        raise InvalidParameterValueException(
            f"Invalid InvocationSchemaVersion: {version!r} (1.0 or 2.0)"
        )
    if user_arguments:
        if version != "2.0":
            raise InvalidParameterValueException(_USER_ARGUMENTS_NEED_2)
        if len(user_arguments) > _MAX_USER_ARGUMENTS or not all(
            isinstance(k, str) and 1 <= len(k) <= 64 and isinstance(v, str) and len(v) <= 1024
            for k, v in user_arguments.items()
        ):
            raise InvalidParameterValueException(
                "UserArguments: at most 10 pairs of strings, keys of 1-64 characters, values "
                "of up to 1024"
            )
    if scope not in ("AllTasks", "FailedTasksOnly"):
        raise InvalidParameterValueException(
            f"Invalid ReportScope: {scope!r} (AllTasks or FailedTasksOnly)"
        )
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidParameterValueException(f"Priority must be an integer: {priority!r}")
    if not 0 <= priority <= _MAX_PRIORITY:
        raise InvalidParameterValueException(f"Priority must be 0-{_MAX_PRIORITY}: {priority}")
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise InvalidParameterValueException(f"max_attempts must be 1 or more: {max_attempts!r}")

"""``faaslib serve --journal`` under faults (issue 16, item 3): killed with SIGKILL while boto3
clients send Event invocations, then restarted on the same journal, every invocation answered
202 runs (at least once, with the request id of its 202); a journal damaged before the server
starts stops it with a clear message, the file left as it was.

Real server processes on loopback ports, real boto3 clients in threads, real SQLite files.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

APP = textwrap.dedent(
    """
    import os
    import time

    import faaslib

    registry = faaslib.Registry()


    @registry.function(timeout=30, reserved_concurrency=2)
    def record(event: dict, context: faaslib.Context) -> None:
        # Slow in the first server only, so that the kill leaves a backlog in the journal.
        time.sleep(float(os.environ["FAULTS_DELAY"]))
        line = f"{event['id']} {context.aws_request_id}\\n".encode()
        fd = os.open(os.environ["FAULTS_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # one write on O_APPEND: a line is whole or absent
        finally:
            os.close(fd)


    @registry.function
    def ping(event: dict) -> str:
        return "pong"
    """
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def client_of(port: int) -> Any:
    """boto3's lambda client, one attempt per call (no retries against a dead server)."""
    return boto3.client(
        "lambda",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=10),
    )


def start_server(
    project: Path, port: int, delay: float, shell_prefix: str = ""
) -> subprocess.Popen[str]:
    """``faaslib serve`` on ``port``, once it answers; ``shell_prefix`` runs it through
    ``sh -c`` (``exec`` keeps the pid)."""
    env = {
        **os.environ,
        "FAULTS_DELAY": str(delay),
        "FAULTS_RECORD": str(project / "ran.txt"),
    }
    command = [sys.executable, "-m", "faaslib", "serve", "app:registry", "--port", str(port),
               "--journal", "events.db"]  # fmt: skip
    if shell_prefix:
        command = ["sh", "-c", shell_prefix + " ".join(shlex.quote(word) for word in command)]
    server = subprocess.Popen(
        command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while not answers(port):  # once the invoker is open (and has replayed the journal)
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise AssertionError(f"no server: {server.communicate()}")
        time.sleep(0.05)
    return server


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def recorded(project: Path) -> dict[str, list[str]]:
    """Event id -> the request ids it ran with (once per run)."""
    runs: dict[str, list[str]] = {}
    path = project / "ran.txt"
    if path.exists():
        for line in path.read_text().splitlines():
            event_id, request_id = line.split()
            runs.setdefault(event_id, []).append(request_id)
    return runs


class Producer(threading.Thread):
    """A boto3 client sending Event invocations with ids ``<name>-<n>`` until one fails."""

    def __init__(self, name: str, port: int) -> None:
        super().__init__(name=name, daemon=True)
        self.port = port
        self.sent: list[str] = []
        self.accepted: dict[str, str] = {}  # event id -> the 202's request id
        self.failure: Exception | None = None

    def run(self) -> None:
        with contextlib.closing(client_of(self.port)) as client:
            n = 0
            while True:
                event_id = f"{self.name}-{n}"
                n += 1
                self.sent.append(event_id)
                try:
                    response = client.invoke(
                        FunctionName="record",
                        InvocationType="Event",
                        Payload=f'{{"id": "{event_id}"}}'.encode(),
                    )
                except Exception as exc:  # noqa: BLE001 - the server was killed
                    self.failure = exc
                    return
                assert response["StatusCode"] == 202
                self.accepted[event_id] = response["ResponseMetadata"]["RequestId"]


def wait_until_recorded(project: Path, ids: set[str], server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not ids <= set(recorded(project)):
        assert server.poll() is None, server.communicate()
        missing = ids - set(recorded(project))
        assert time.monotonic() < deadline, f"{len(missing)} accepted events never ran"
        time.sleep(0.05)


def journal_rows(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT count(*) FROM events WHERE seq <> 0").fetchone()[0])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    return tmp_path


@pytest.mark.timeout(90)
def test_serve_killed_mid_stream_runs_every_accepted_event_after_a_restart(
    project: Path,
) -> None:
    port = free_port()
    server = start_server(project, port, delay=0.2)
    producers = [Producer(f"client{i}", port) for i in range(4)]
    try:
        for producer in producers:
            producer.start()
        deadline = time.monotonic() + 20
        while sum(len(p.accepted) for p in producers) < 200:
            assert all(p.failure is None for p in producers), [p.failure for p in producers]
            assert time.monotonic() < deadline, "the server accepted too few events"
            time.sleep(0.02)
        server.send_signal(signal.SIGKILL)
        assert server.wait(timeout=10) == -signal.SIGKILL
    finally:
        server.kill()
        server.communicate()
    for producer in producers:
        producer.join(timeout=15)
        assert not producer.is_alive()
        assert producer.failure is not None  # each client saw the server die
    accepted = {k: v for p in producers for k, v in p.accepted.items()}
    sent = {event_id for p in producers for event_id in p.sent}
    ran_before = recorded(project)
    assert len(ran_before) < len(accepted) - 50, "the kill left no backlog to replay"

    port = free_port()
    server = start_server(project, port, delay=0)
    try:
        wait_until_recorded(project, set(accepted), server)
        with contextlib.closing(client_of(port)) as client:  # it serves on
            answer = client.invoke(FunctionName="ping", Payload=b"{}")
            assert answer["Payload"].read() == b'"pong"'
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    runs = recorded(project)
    assert set(runs) <= sent  # nothing invented; an unanswered invoke may or may not run
    for event_id, request_id in accepted.items():
        assert request_id in runs[event_id]  # run with the request id of its 202
    assert journal_rows(project / "events.db") == 0  # all finished, none left to replay


DAMAGED = b"SQLite format 3\0" + b"\x10\x00\x02\x02" + bytes(12)  # a journal cut short


def serve_damaged(project: Path) -> subprocess.CompletedProcess[str]:
    (project / "events.db").write_bytes(DAMAGED)
    return subprocess.run(
        [sys.executable, "-m", "faaslib", "serve", "app:registry", "--port", str(free_port()),
         "--journal", "events.db"],
        cwd=project, capture_output=True, text=True, timeout=30, check=False,
        env={**os.environ, "FAULTS_DELAY": "0", "FAULTS_RECORD": str(project / "ran.txt")},
    )  # fmt: skip


def test_serve_refuses_a_damaged_journal_and_leaves_it(project: Path) -> None:
    done = serve_damaged(project)
    assert done.returncode != 0
    assert "events.db" in done.stderr
    assert "damaged" in done.stderr
    assert (project / "events.db").read_bytes() == DAMAGED
    assert not (project / "ran.txt").exists()


def test_serve_says_in_one_line_that_its_journal_is_damaged(project: Path) -> None:
    done = serve_damaged(project)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert "events.db" in line
    assert "damaged" in line


# -- the journal's disk fills up while the server runs ---------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prlimit is Linux's")
@pytest.mark.timeout(60)
def test_serve_refuses_events_it_cannot_journal_with_service_exception(project: Path) -> None:
    """``RLIMIT_FSIZE`` lowered on the running server (SIGXFSZ ignored) makes its journal's
    writes fail as on a full disk: Event invocations get Lambda's 500 ``ServiceException``,
    never a 202; RequestResponse invocations are answered; once the limit is lifted, Events
    are accepted again, and every one accepted runs."""
    port = free_port()
    server = start_server(project, port, delay=0, shell_prefix='trap "" XFSZ; exec ')
    try:
        with contextlib.closing(client_of(port)) as client:

            def event(n: int) -> dict[str, Any]:
                payload = f'{{"id": "e-{n}"}}'.encode()
                answer: dict[str, Any] = client.invoke(
                    FunctionName="record", InvocationType="Event", Payload=payload
                )
                return answer

            accepted = {f"e-{n}": event(n)["ResponseMetadata"]["RequestId"] for n in range(5)}
            wait_until_recorded(project, set(accepted), server)
            limits = resource.getrlimit(resource.RLIMIT_FSIZE)
            resource.prlimit(server.pid, resource.RLIMIT_FSIZE, (100, limits[1]))
            for n in range(5, 10):
                with pytest.raises(ClientError) as info:
                    event(n)
                error = info.value.response
                assert error["Error"]["Code"] == "ServiceException"
                assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
                assert "events.db" in error["Error"]["Message"]
            answer = client.invoke(FunctionName="ping", Payload=b"{}")
            assert answer["Payload"].read() == b'"pong"'
            resource.prlimit(server.pid, resource.RLIMIT_FSIZE, limits)
            for n in range(10, 15):
                accepted[f"e-{n}"] = event(n)["ResponseMetadata"]["RequestId"]
            wait_until_recorded(project, set(accepted), server)
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    runs = recorded(project)
    assert set(runs) == set(accepted)  # the refused ones never ran
    assert all(runs[e] == [r] for e, r in accepted.items())
    assert journal_rows(project / "events.db") == 0

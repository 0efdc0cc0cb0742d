"""The HTTP soak of load.py: ``faaslib serve`` as a real process, loaded by boto3 clients.

The server serves load_app.py's registry on a free loopback port (with ``--journal`` or
without). Each client is a thread of this process with a boto3 Lambda client of its own (its
own session and connections; botocore's retries off, so every failure is counted), invoking
in turn ``echo`` with RequestResponse (the answer must carry the id sent) and ``record`` with
Event (answered 202: the id is noted as accepted). When the time is up the server is stopped
with Ctrl-C (SIGINT), which drains its invoker; then every accepted id must be in the file the
server's ``record`` wrote, once, and the journal must hold no event.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.config
from server_load import free_port

HERE = Path(__file__).resolve().parent


@dataclass
class SoakReport:
    seconds: float = 0.0
    rr_latencies: list[float] = field(default_factory=list)
    event_latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    rr_wrong: int = 0
    events_accepted: int = 0
    events_ran: int = 0
    events_lost: int = 0
    events_duplicated: int = 0
    events_unknown: int = 0
    drain_seconds: float = 0.0
    server_exit: int | None = None
    journal_left: int = 0
    ran_by_stop: int = 0
    server_tracebacks: int = 0

    def lines(self) -> list[str]:
        rr, ev = len(self.rr_latencies), len(self.event_latencies)
        total = rr + ev
        rate = total / self.seconds
        head = (
            f"{total:,} requests in {self.seconds:.1f} s: {rate:,.0f} requests/s "
            f"({rr:,} RequestResponse, {ev:,} Event), errors {self.errors}"
        )
        out = [head]
        for name, latencies in (
            ("RequestResponse", self.rr_latencies),
            ("Event", self.event_latencies),
        ):
            out.append(f"{name} latency ms: {percentiles(latencies)}")
        out.append(
            f"Events: {self.events_accepted:,} answered 202, {self.events_ran:,} ran (recorded "
            f"by the handler: {self.ran_by_stop:,} when the load stopped, the rest as the "
            f"server drained, {self.drain_seconds:.2f} s from Ctrl-C to its exit): "
            f"lost {self.events_lost}, duplicated {self.events_duplicated}, "
            f"not sent {self.events_unknown}; journal rows left {self.journal_left}"
        )
        out.extend(f"error: {sample}" for sample in self.error_samples)
        return out


def percentiles(latencies: list[float]) -> str:
    if not latencies:
        return "none"
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000

    return (
        f"p50 {at(0.50):.1f}, p90 {at(0.90):.1f}, p99 {at(0.99):.1f}, "
        f"p99.9 {at(0.999):.1f}, max {ordered[-1] * 1000:.1f}"
    )


def lambda_client(url: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )
    config = botocore.config.Config(
        retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=60
    )
    return session.client("lambda", endpoint_url=url, config=config)


class Driver:
    """The client threads and what they saw."""

    def __init__(self, url: str, clients: int) -> None:
        self.lock = threading.Lock()
        self.report = SoakReport()
        self.accepted: list[str] = []
        self.clients = [lambda_client(url) for _ in range(clients)]
        self.start = threading.Barrier(clients + 1)
        self.deadline = 0.0

    def error(self, what: str) -> None:
        with self.lock:
            self.report.errors += 1
            if len(self.report.error_samples) < 5:
                self.report.error_samples.append(what)

    def run(self, index: int) -> None:
        client = self.clients[index]
        invoke = client.invoke
        rr: list[float] = []
        events: list[float] = []
        accepted: list[str] = []
        wrong = 0
        self.start.wait()
        j = 0
        while time.monotonic() < self.deadline:
            j += 1
            call_id = f"{'e' if j % 2 else 'r'}{index}-{j}"
            payload = json.dumps({"id": call_id, "note": "x" * 64}).encode()
            began = time.perf_counter()
            try:
                if j % 2:
                    answer = invoke(FunctionName="record", InvocationType="Event", Payload=payload)
                    events.append(time.perf_counter() - began)
                    if answer["StatusCode"] == 202:
                        accepted.append(call_id)
                    else:
                        self.error(f"Event answered {answer['StatusCode']}")
                else:
                    answer = invoke(FunctionName="echo", Payload=payload)
                    body = answer["Payload"].read()
                    rr.append(time.perf_counter() - began)
                    if answer["StatusCode"] != 200 or "FunctionError" in answer:
                        self.error(f"RequestResponse answered {answer['StatusCode']}: {body!r}")
                    elif json.loads(body) != {"id": call_id}:
                        wrong += 1
            except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                self.error(f"{type(exc).__name__}: {exc}")
        with self.lock:
            self.report.rr_latencies.extend(rr)
            self.report.event_latencies.extend(events)
            self.accepted.extend(accepted)
            self.report.rr_wrong += wrong

    def drive(self, seconds: float) -> None:
        threads = [threading.Thread(target=self.run, args=(i,)) for i in range(len(self.clients))]
        for thread in threads:
            thread.start()
        self.deadline = time.monotonic() + seconds
        began = time.perf_counter()
        self.start.wait()
        for thread in threads:
            thread.join()
        self.report.seconds = time.perf_counter() - began
        for client in self.clients:
            client.close()


class ServerDidNotStart(Exception):
    """``faaslib serve`` exited, or did not answer within 30 s: its log's end."""


def count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def wait_for_port(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while not answers(port):
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            server.wait()
            raise ServerDidNotStart(log.read_text(errors="replace")[-3000:])
        time.sleep(0.05)


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def soak(seconds: float, clients: int, journal: bool) -> SoakReport:
    with tempfile.TemporaryDirectory(prefix="faaslib-soak-") as tmp:
        directory = Path(tmp)
        ran_file, log, journal_file = (
            directory / "ran.txt",
            directory / "server.log",
            directory / "events.db",
        )
        port = free_port()
        command = [sys.executable, "-m", "faaslib", "serve", "load_app:registry"]
        command += ["--port", str(port)] + (["--journal", str(journal_file)] if journal else [])
        env = {**os.environ, "FAASLIB_LOAD_EVENTS": str(ran_file)}
        with open(log, "wb") as output:
            server = subprocess.Popen(command, cwd=HERE, env=env, stdout=output, stderr=output)
            try:
                wait_for_port(server, port, log)
                driver = Driver(f"http://127.0.0.1:{port}", clients)
                report = driver.report
                driver.drive(seconds)
                report.ran_by_stop = count_lines(ran_file)
            finally:
                stopping = time.perf_counter()
                server.send_signal(signal.SIGINT)
                try:
                    server.wait(120)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
        report.drain_seconds = time.perf_counter() - stopping
        report.server_exit = server.returncode
        server_log = log.read_text(errors="replace")
        report.server_tracebacks = server_log.count("Traceback")
        if server.returncode != 0 or report.server_tracebacks:
            report.error_samples.append(f"server log: {server_log[-2000:]}")
        ran = collections.Counter(ran_file.read_text().split()) if ran_file.exists() else {}
        accepted = set(driver.accepted)
        report.events_accepted = len(driver.accepted)
        report.events_ran = sum(ran.values())
        report.events_lost = len(accepted - ran.keys())
        report.events_duplicated = sum(1 for n in ran.values() if n > 1)
        report.events_duplicated += len(driver.accepted) - len(accepted)
        report.events_unknown = len(ran.keys() - accepted)
        if journal:
            with sqlite3.connect(journal_file) as db:
                report.journal_left = db.execute(
                    "SELECT count(*) FROM events WHERE seq <> 0"
                ).fetchone()[0]
            db.close()
        return report

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
import contextlib
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
    #: Requests cut off by a kill of the server on purpose (crash_soak), one per client.
    interrupted: int = 0
    crashed: bool = False

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
        if self.crashed:
            when = (
                f"{self.ran_by_stop:,} by the SIGKILL (which cut off {self.interrupted} "
                f"requests), {self.events_ran - self.ran_by_stop:,} replayed from the journal "
                f"by a new server"
            )
        else:
            when = (
                f"{self.ran_by_stop:,} when the load stopped, "
                f"{self.events_ran - self.ran_by_stop:,} as the server drained"
            )
        out.append(
            f"Events: {self.events_accepted:,} answered 202, {self.events_ran:,} ran (recorded "
            f"by the handler: {when}; {self.drain_seconds:.2f} s from Ctrl-C to its exit): "
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
        #: Set when the server is killed on purpose: a client stops at its next failure.
        self.killed = threading.Event()

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
                if self.killed.is_set():
                    with self.lock:
                        self.report.interrupted += 1
                    break
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


class Served:
    """``faaslib serve load_app:registry`` in a temporary directory: the file its ``record``
    writes, its journal and its log there; started again on the same files after a kill."""

    def __init__(self, directory: Path, journal: bool) -> None:
        self.ran_file = directory / "ran.txt"
        self.log = directory / "server.log"
        self.journal_file = directory / "events.db" if journal else None
        self.server: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> None:
        port = free_port()
        command = [sys.executable, "-m", "faaslib", "serve", "load_app:registry"]
        command += ["--port", str(port)]
        if self.journal_file is not None:
            command += ["--journal", str(self.journal_file)]
        env = {**os.environ, "FAASLIB_LOAD_EVENTS": str(self.ran_file)}
        with open(self.log, "ab") as output:
            self.server = subprocess.Popen(command, cwd=HERE, env=env, stdout=output, stderr=output)
        wait_for_port(self.server, port, self.log)
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> int | None:
        """Ctrl-C (SIGINT): the server drains its invoker and exits; its exit status."""
        if self.server is None:
            return None
        self.server.send_signal(signal.SIGINT)
        try:
            self.server.wait(120)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()
        return self.server.returncode

    def account(self, report: SoakReport, sent: list[str]) -> None:
        """What ran against what was accepted, the journal and the server's log."""
        log = self.log.read_text(errors="replace")
        report.server_tracebacks = log.count("Traceback")
        if report.server_exit != 0 or report.server_tracebacks:
            report.error_samples.append(f"server log: {log[-2000:]}")
        ran = (
            collections.Counter(self.ran_file.read_text().split()) if self.ran_file.exists() else {}
        )
        accepted = set(sent)
        report.events_accepted = len(sent)
        report.events_ran = sum(ran.values())
        report.events_lost = len(accepted - ran.keys())
        report.events_duplicated = sum(1 for n in ran.values() if n > 1)
        report.events_duplicated += len(sent) - len(accepted)
        report.events_unknown = len(ran.keys() - accepted)
        if self.journal_file is not None:
            with contextlib.closing(sqlite3.connect(self.journal_file)) as db:
                row = db.execute("SELECT count(*) FROM events WHERE seq <> 0").fetchone()
            report.journal_left = int(row[0])


def soak(seconds: float, clients: int, journal: bool) -> SoakReport:
    """Load the server for ``seconds``, stop it with Ctrl-C, and account for every Event."""
    with tempfile.TemporaryDirectory(prefix="faaslib-soak-") as tmp:
        served = Served(Path(tmp), journal)
        try:
            served.start()
            driver = Driver(served.url, clients)
            report = driver.report
            driver.drive(seconds)
            report.ran_by_stop = count_lines(served.ran_file)
        finally:
            stopping = time.perf_counter()
            exit_status = served.stop()
        report.drain_seconds = time.perf_counter() - stopping
        report.server_exit = exit_status
        served.account(report, driver.accepted)
        return report


def crash_soak(seconds: float, clients: int) -> SoakReport:
    """Load a server with ``--journal`` and SIGKILL it halfway; the clients stop at their
    first failure after the kill (``interrupted``, not errors). Then a new server opens the
    journal, replays what was unfinished and is stopped with Ctrl-C: no Event answered 202 may
    be lost; some may run twice (at least once, as Lambda promises: an event that finished
    just before the kill), and an Event whose answer the kill cut off may have run."""
    with tempfile.TemporaryDirectory(prefix="faaslib-crash-") as tmp:
        served = Served(Path(tmp), journal=True)
        try:
            served.start()
            driver = Driver(served.url, clients)
            report = driver.report
            report.crashed = True
            server = served.server
            assert server is not None

            def kill() -> None:
                driver.killed.set()
                server.kill()

            killer = threading.Timer(seconds / 2, kill)
            killer.start()
            driver.drive(seconds)
            killer.join()
            server.wait()
            report.ran_by_stop = count_lines(served.ran_file)
            served.start()  # on the same journal: replays the events left unfinished
        finally:
            stopping = time.perf_counter()
            exit_status = served.stop()
        report.drain_seconds = time.perf_counter() - stopping
        report.server_exit = exit_status
        served.account(report, driver.accepted)
        return report

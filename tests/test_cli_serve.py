"""``faaslib serve``: a real server process on a loopback port, driven by boto3 and by the
AWS CLI itself (``aws lambda invoke --endpoint-url ...``)."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

APP = textwrap.dedent(
    """
    import faaslib

    registry = faaslib.Registry()


    @registry.function
    def greet(event: dict) -> dict:
        return {"greeting": f"hello {event.get('name', 'world')}"}
    """
)


def lambda_client(url: str) -> Any:
    """boto3's lambda client for ``url``, with dummy credentials (close it when done)."""
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serving(reference: str, cwd: Path, *options: str) -> Iterator[str]:
    """``faaslib serve REFERENCE`` as a real process on a free loopback port: its URL once it
    answers; stopped with Ctrl-C (SIGINT) after, which must end it cleanly."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "faaslib", "serve", reference, "--port", str(port), *options],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # the port answers once uvicorn has started (and the invoker is open)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"no server: {server.communicate()}") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err


def wait_for_greeting(url: str, function: str, expected: str) -> None:
    """Invoke ``function`` until it greets with ``expected`` (a reloading server restarts).

    A connection the restarting server drops may be left to the garbage collector by the
    client: it is collected here, once the polling frame (and the last answer it held) is
    gone, where its ResourceWarning is expected, not in a later test.
    """
    client = lambda_client(url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            _poll_for_greeting(client, function, expected)
        finally:
            client.close()
            del client
            gc.collect()


def _poll_for_greeting(client: Any, function: str, expected: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            answer = client.invoke(FunctionName=function, Payload=b'{"name": "you"}')
            greeting = json.loads(answer["Payload"].read()).get("greeting")
        except Exception:  # noqa: BLE001 - not serving yet, or restarting
            greeting = None
        if greeting == expected:
            return
        assert time.monotonic() < deadline, f"never answered {expected!r}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    project = tmp_path_factory.mktemp("project")
    (project / "greeter.py").write_text(APP, encoding="utf-8")
    with serving("greeter:registry", project) as url:
        yield url


def test_boto3_against_faaslib_serve(served: str) -> None:
    with contextlib.closing(lambda_client(served)) as client:
        response = client.invoke(FunctionName="greet", Payload=b'{"name": "boto3"}')
        assert json.loads(response["Payload"].read()) == {"greeting": "hello boto3"}
        assert [f["FunctionName"] for f in client.list_functions()["Functions"]] == ["greet"]


def test_the_aws_cli_against_faaslib_serve(served: str, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "aws"),
            "lambda",
            "invoke",
            "--endpoint-url",
            served,
            "--function-name",
            "greet",
            "--payload",
            '{"name": "cli"}',
            str(out),
        ],
        env={
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
    assert json.loads(out.read_text()) == {"greeting": "hello cli"}


def test_serve_reload_picks_up_an_edited_handler(tmp_path: Path) -> None:
    (tmp_path / "greeter.py").write_text(APP, encoding="utf-8")
    with serving("greeter:registry", tmp_path, "--reload") as url:
        wait_for_greeting(url, "greet", "hello you")
        (tmp_path / "greeter.py").write_text(APP.replace("hello", "bonjour"), encoding="utf-8")
        wait_for_greeting(url, "greet", "bonjour you")  # no restart by hand, no build step


def test_serve_with_a_journal(tmp_path: Path) -> None:
    (tmp_path / "greeter.py").write_text(
        APP + "\n\n@registry.function\ndef mark(event: dict) -> None:\n"
        "    open(event['path'], 'w').close()\n",
        encoding="utf-8",
    )
    port = free_port()
    journal = tmp_path / "events.sqlite"
    server = subprocess.Popen(
        [sys.executable, "-m", "faaslib", "serve", "greeter:registry", "--port", str(port),
         "--journal", "events.sqlite"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    client = lambda_client(f"http://127.0.0.1:{port}")
    marker = tmp_path / "ran"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = client.invoke(
                    FunctionName="mark",
                    InvocationType="Event",
                    Payload=json.dumps({"path": str(marker)}),
                )
                break
            except Exception:  # noqa: BLE001 - not serving yet
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert response["StatusCode"] == 202
        while not marker.exists():
            assert time.monotonic() < deadline, "the Event invocation never ran"
            time.sleep(0.05)
        assert journal.exists()  # accepted events were kept there
    finally:
        client.close()
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err


TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Greet:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.handler
      Environment:
        Variables:
          GREETING: hello
"""
LAMBDA_CODE = """\
import os


def handler(event, context):
    return {"greeting": f"{os.environ['GREETING']} {event['name']}"}
"""


def test_serve_a_template_reloading_when_the_template_changes(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(LAMBDA_CODE, encoding="utf-8")
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE, encoding="utf-8")
    with serving(str(template), tmp_path, "--reload") as url:
        wait_for_greeting(url, "Greet", "hello you")
        template.write_text(TEMPLATE.replace("hello", "bonjour"), encoding="utf-8")
        wait_for_greeting(url, "Greet", "bonjour you")  # the template's Environment, read again

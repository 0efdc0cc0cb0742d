"""The edit-invoke loop of ``faaslib serve --reload``: seconds from saving an edited handler
to the first answer that reflects the edit, over HTTP from boto3 (medians of several edits).
Run: ``python benchmarks/reload_loop.py [--quick]`` (needs the test extras).
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

APP = """
import faaslib

registry = faaslib.Registry()


@registry.function
def greet(event: dict) -> dict:
    return {"greeting": "GREETING"}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answer(client: Any) -> str | None:
    try:
        response = client.invoke(FunctionName="greet", Payload=b"{}")
    except Exception:  # noqa: BLE001 - restarting
        return None
    return str(json.loads(response["Payload"].read())["greeting"])


def wait_for(client: Any, expected: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while answer(client) != expected:
        if time.monotonic() > deadline:
            raise SystemExit(f"the server never answered {expected!r}")
        time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="three edits")
    edits = 3 if parser.parse_args().quick else 10
    with tempfile.TemporaryDirectory() as folder:
        module = Path(folder) / "greeter.py"
        module.write_text(APP.replace("GREETING", "v0"))
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "faaslib", "serve", "greeter:registry", "--reload",
             "--port", str(port)],
            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = boto3.client(
            "lambda",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        try:
            wait_for(client, "v0")
            loops = []
            for n in range(1, edits + 1):
                start = time.perf_counter()
                module.write_text(APP.replace("GREETING", f"v{n}"))
                wait_for(client, f"v{n}")
                loops.append(time.perf_counter() - start)
        finally:
            client.close()
            server.send_signal(signal.SIGINT)
            server.wait(30)
    print(
        f"edit to new answer: median {statistics.median(loops):.2f} s, "
        f"max {max(loops):.2f} s over {edits} edits"
    )


if __name__ == "__main__":
    main()

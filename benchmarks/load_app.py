"""The registry load_soak.py serves with ``faaslib serve load_app:registry``.

``echo`` answers a RequestResponse with the id it was sent; ``record`` (invoked with Event)
appends its event's id to the file named by ``FAASLIB_LOAD_EVENTS`` (one ``write`` of one
line to a file opened with ``O_APPEND``: lines of concurrent runs never mix), so the client
can check afterwards that every Event answered 202 ran, and ran once.
"""

from __future__ import annotations

import os

import anyio
from pydantic import BaseModel

import faaslib

registry = faaslib.Registry()
_events = os.open(
    os.environ.get("FAASLIB_LOAD_EVENTS", os.devnull), os.O_WRONLY | os.O_APPEND | os.O_CREAT
)


class Call(BaseModel):
    id: str
    note: str


@registry.function
async def echo(call: Call) -> dict[str, str]:
    return {"id": call.id}


@registry.function
async def record(call: Call) -> None:
    await anyio.sleep(0.05)  # a call to another service: Events overlap, some are in flight
    # whenever the server is stopped or killed
    os.write(_events, f"{call.id}\n".encode())

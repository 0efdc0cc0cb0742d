"""Reading a request body up to a limit: refused as soon as it passes the limit, by its
declared length or by what has arrived, and never read whole."""

from __future__ import annotations

from starlette.requests import Request

__all__ = ["BodyTooLarge", "read_body"]


class BodyTooLarge(Exception):
    """The body passed the limit; ``size`` is what it declared or what had arrived."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body.

    :raises BodyTooLarge: it declares or sends more than ``limit`` bytes
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(int(declared))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(size)
        chunks.append(chunk)
    return b"".join(chunks)

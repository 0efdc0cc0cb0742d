"""Helpers shared by the journal tests (not collected: no ``test_`` prefix)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from faaslib._journal import Journal, JournalEntry


@asynccontextmanager
async def running(path: Path) -> AsyncIterator[Journal]:
    """An open journal with its writer running; closed on exit."""
    journal = Journal(path)
    await journal.open()
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(journal.run)
            yield journal
            tg.cancel_scope.cancel()
    finally:
        await journal.close()


async def reopen(path: Path) -> list[JournalEntry]:
    journal = Journal(path)
    try:
        return await journal.open()
    finally:
        await journal.close()

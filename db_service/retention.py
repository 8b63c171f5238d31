"""Pruning of the change log to a configured age.

With retention off (the default) the change log keeps every event, so a
subscriber can replay from sequence 0. With a retention of N hours, events
older than that are deleted in the writer thread, and WatchChanges from an
older sequence fails with OUT_OF_RANGE naming the oldest one kept.
"""

from __future__ import annotations

import asyncio
import logging
import time

from db_service.adapters import changelog as changelog_sql
from db_service.writer import LedgerWriter

log = logging.getLogger(__name__)

# Longest pause between two pruning runs, in seconds.
MAX_INTERVAL = 60.0


async def prune_forever(writer: LedgerWriter, retention_hours: float) -> None:
    """Delete change-log events older than ``retention_hours``, repeatedly."""
    retention_us = int(retention_hours * 3600 * 1_000_000)
    interval = min(MAX_INTERVAL, retention_hours * 3600 / 10)
    while True:
        cutoff = time.time_ns() // 1000 - retention_us
        try:
            deleted = await writer.run_maintenance(
                lambda cursor, cutoff=cutoff: changelog_sql.delete_older_than(
                    cursor, cutoff
                )
            )
        except Exception:
            log.exception("pruning the change log failed; retrying in %.0fs", interval)
        else:
            if deleted:
                log.info(
                    "pruned %d change-log events older than %g hours",
                    deleted,
                    retention_hours,
                )
        await asyncio.sleep(interval)

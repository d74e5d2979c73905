"""One transaction per state change, with the work that must wait for its commit.

Every service in this package changes state through :meth:`UnitOfWork.tx`: the rows, the
transitions and the outbox messages commit together; events for the rules engine and live
updates for the web UI run only after the commit (so nobody hears of a change that was
rolled back). Nested ``tx()`` calls on one thread join the outer transaction.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson

from hub.clock import Clock, iso_utc
from hub.storage.database import Database
from hub.storage.outbox import Outbox

logger = logging.getLogger(__name__)


def new_id(prefix: str) -> str:
    """A fresh object id such as ``off-3f2a...``."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def dumps(value: Any) -> str:
    """Canonical JSON text (sorted keys) for storage."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def loads(text: str | bytes | None) -> Any:
    """Parse JSON text stored by :func:`dumps` (``None`` -> ``{}``)."""
    return orjson.loads(text) if text else {}


def _run_hooks(hooks: list[Callable[[], None]]) -> None:
    for hook in hooks:
        try:
            hook()
        except Exception:
            # A listener that fails must not undo or hide a committed change.
            logger.exception("after-commit hook failed")


class UnitOfWork:
    """Transactions with after-commit callbacks and transition records.

    Args:
        db: the database.
        outbox: the transactional outbox; notified after each outermost commit.
        clock: source of "now".
    """

    def __init__(self, db: Database, outbox: Outbox, clock: Clock) -> None:
        self.db = db
        self.outbox = outbox
        self.clock = clock
        self._local = threading.local()

    def now(self) -> str:
        """The current time as ISO 8601 UTC text."""
        return iso_utc(self.clock.now().replace(microsecond=0))

    def now_dt(self) -> datetime:
        """The current time as an aware datetime."""
        return self.clock.now()

    def _state(self) -> tuple[int, list[Callable[[], None]]]:
        depth = getattr(self._local, "depth", 0)
        post = getattr(self._local, "post", None)
        if post is None:
            post = []
            self._local.post = post
        return depth, post

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; after the outermost commit, notify the outbox and run hooks.

        When the transaction joins one another component opened (the ingest batch, the
        rules engine calling the sink inside its own), the hooks run when that outer
        transaction commits (:meth:`Database.after_commit`) and are dropped if it rolls back.
        """
        depth, post = self._state()
        if depth:
            self._local.depth = depth + 1
            try:
                with self.db.transaction() as conn:
                    yield conn
            finally:
                self._local.depth = depth
            return
        self._local.depth = 1
        try:
            with self.db.transaction() as conn:
                yield conn
                hooks = list(post)
                post.clear()
                outbox = self.outbox

                def committed() -> None:
                    outbox.notify()
                    _run_hooks(hooks)

                self.db.after_commit(committed)
        except BaseException:
            post.clear()
            raise
        finally:
            self._local.depth = 0

    def drain(self, timeout: float = 5.0) -> bool:
        """Hooks run on the committing thread: nothing is ever left waiting."""
        del timeout
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Nothing to stop (kept for callers that close the unit of work)."""
        del timeout

    @contextmanager
    def savepoint(self, conn: sqlite3.Connection, name: str = "sp") -> Iterator[None]:
        """A savepoint inside the open transaction; on error roll back to it and its hooks."""
        _, post = self._state()
        mark = len(post)
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            del post[mark:]
            raise
        conn.execute(f"RELEASE {name}")

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` once the current outermost transaction has committed."""
        _, post = self._state()
        post.append(hook)

    def transition(
        self,
        conn: sqlite3.Connection,
        object_kind: str,
        object_id: str,
        from_state: str | None,
        to_state: str,
        actor: str,
        note: str = "",
    ) -> None:
        """Record one state change with who and when."""
        conn.execute(
            "INSERT INTO offer_transitions (object_kind, object_id, from_state, to_state,"
            " actor, note, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (object_kind, object_id, from_state, to_state, actor, note, self.now()),
        )

    def transitions(self, object_kind: str, object_id: str) -> list[dict[str, Any]]:
        """Every recorded transition of an object, oldest first."""
        rows = self.db.query(
            "SELECT from_state, to_state, actor, note, at FROM offer_transitions"
            " WHERE object_kind = ? AND object_id = ? ORDER BY id",
            (object_kind, object_id),
        )
        return [dict(r) for r in rows]

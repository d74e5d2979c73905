"""Idempotency keys for POST requests: a replayed key gets the first answer.

The stored answer commits in the same transaction as the change it describes, so a crash
cannot leave a change without its answer (a replay would apply it twice) or an answer
without its change. Domain errors are answers too: a lost claim replays as the same 409.
A key reused for a different request is refused with 409: it conflicts with the key's first use
(what the key already stands for is state, not a malformed request).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from hub.errors import Conflict, DomainError
from hub.i18n.words import N_
from hub.offers.problems import Unprocessable, problem_body, problem_extra
from hub.offers.uow import UnitOfWork, dumps, loads

MAX_KEY = 200

_STORED = "SELECT fingerprint, status, body FROM offer_idempotency WHERE principal = ? AND key = ?"


def fingerprint(method: str, path: str, body: Any) -> str:
    """What identifies a request for replay purposes."""
    return hashlib.sha256(f"{method} {path} {dumps(body)}".encode()).hexdigest()


class Idempotency:
    """Run a POST once per (principal, key)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def run(self, principal: str, key: str | None, fp: str, instance: str,
            fn: Callable[[], Any], say: Callable[[DomainError], str] = str) -> tuple[int, Any, bool]:
        """Run ``fn`` or replay its stored answer; return (status, body, is_problem).

        Without a key, ``fn`` runs and its domain errors propagate. ``say`` gives a domain
        error's detail (in the first request's language; a replay repeats it as stored).
        """
        if key is None:
            return 200, fn(), False
        if not 0 < len(key) <= MAX_KEY or not key.isprintable():
            raise Unprocessable(N_("Idempotency-Key must be 1-%(most)s printable characters", most=MAX_KEY))
        # A replay is answered from a plain read: a row another transaction can see is
        # committed with its final answer (the claim below and the answer commit together),
        # so it needs no write lock and replays never queue behind writers. A first run
        # claims the key inside its transaction, where racing first runs are serialised.
        stored = self._uow.db.query_one(_STORED, (principal, key))
        if stored is not None:
            return _replay(stored, fp)
        with self._uow.tx() as conn:
            # Claim the key first: a concurrent request with the same key (another worker)
            # waits on this row until the first commits, then finds its answer and replays it.
            claimed = conn.execute(
                "INSERT INTO offer_idempotency (principal, key, fingerprint, status, body,"
                " created_at) VALUES (?, ?, ?, 0, '', ?) ON CONFLICT (principal, key) DO NOTHING",
                (principal, key, fp, self._uow.now())).rowcount == 1
            if not claimed:
                return _replay(conn.execute(_STORED, (principal, key)).fetchone(), fp)
            try:
                with self._uow.savepoint(conn, "idem"):
                    body = fn()
                status, problem = 200, False
            except DomainError as exc:
                status, problem = exc.status, True
                body = problem_body(exc.status, exc.code, say(exc), instance, **problem_extra(exc))
            conn.execute(
                "UPDATE offer_idempotency SET status = ?, body = ? WHERE principal = ? AND key = ?",
                (status, dumps(body), principal, key))
            return status, body, problem


def _replay(row: Any, fp: str) -> tuple[int, Any, bool]:
    """The stored answer of a key, or 409 when the key came with a different request."""
    if row["fingerprint"] != fp:
        raise Conflict(N_("this Idempotency-Key was used for a different request"))
    return int(row["status"]), loads(row["body"]), int(row["status"]) >= 400

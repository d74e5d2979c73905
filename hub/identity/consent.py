"""Consent: a household's purpose-bound, time-limited grants of derived signals.

A household grants a provider, or every provider of a kind, the right to receive named
signals (``pantry_needs``, ``street_address``, ``slot``, ...) for one purpose
(``grocery_delivery``), until it revokes the grant or a time passes. The hub sends a
provider nothing that no grant covers: offers and feeds pass their payloads through
:meth:`Consent.filter_payload`, which keeps only covered fields.

Revocation stops the flow at once:

* the cache behind :meth:`Consent.allowed` is dropped in the same call, so nothing new
  passes the filter;
* ``on_revoke`` callbacks run inside the revoking transaction: :func:`drop_unsent_feed`
  (installed by default) deletes that household's messages to the affected providers'
  feeds still waiting in the outbox;
* ``after_revoke`` callbacks run after the commit: :class:`hub.identity.sessions.SessionPurger`
  destroys the providers' broker sessions, so that feed messages already queued in the
  broker for an offline provider are never delivered.

Every grant, use and revocation leaves a record in ``consent_audit``, which the household
reads and exports as JSON (:meth:`Consent.audit_export`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from hub.clock import Clock, iso_utc
from hub.errors import Conflict, NotFound
from hub.identity import names
from hub.identity.accounts import new_id
from hub.storage.database import Database

logger = logging.getLogger(__name__)

MAX_SIGNALS = 50
InTransactionHook = Callable[[sqlite3.Connection, "Grant"], None]
AfterCommitHook = Callable[["Grant"], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    """One consent grant (exactly one of ``grantee_provider`` and ``grantee_kind``)."""

    id: str
    household: str
    grantee_provider: str | None
    grantee_kind: str | None
    purpose: str
    signals: tuple[str, ...]
    created_at: float
    until: float | None = None
    revoked_at: float | None = None

    def active(self, now: float) -> bool:
        """Not revoked and not past its end."""
        return self.revoked_at is None and (self.until is None or now < self.until)

    def covers(self, provider: str, kinds: frozenset[str], purpose: str, now: float) -> bool:
        """Whether this grant applies to ``provider`` (of ``kinds``) for ``purpose`` now."""
        if purpose != self.purpose or not self.active(now):
            return False
        if self.grantee_provider is not None:
            return self.grantee_provider == provider
        return self.grantee_kind in kinds

    def marshal(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "household": self.household,
            "grantee_provider": self.grantee_provider,
            "grantee_kind": self.grantee_kind,
            "purpose": self.purpose,
            "signals": list(self.signals),
            "created_at": _iso(self.created_at),
            "until": _iso(self.until),
            "revoked_at": _iso(self.revoked_at),
        }


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return iso_utc(datetime.fromtimestamp(ts, UTC))


def _grant(row: sqlite3.Row) -> Grant:
    return Grant(
        id=row["id"],
        household=row["household"],
        grantee_provider=row["grantee_provider"],
        grantee_kind=row["grantee_kind"],
        purpose=row["purpose"],
        signals=tuple(json.loads(row["signals"])),
        created_at=row["created_at"],
        until=row["until"],
        revoked_at=row["revoked_at"],
    )


class Consent:
    """Grants, the fast check behind every send to a provider, and the audit trail."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._lock = threading.Lock()
        self._grants: dict[str, tuple[Grant, ...]] = {}
        self._kinds: dict[str, frozenset[str]] = {}
        self._on_revoke: list[InTransactionHook] = [drop_unsent_feed(self)]
        self._after_revoke: list[AfterCommitHook] = []

    # -- hooks -------------------------------------------------------------------------

    def on_revoke(self, hook: InTransactionHook) -> None:
        """Run ``hook(conn, grant)`` inside every revoking transaction (drop queued copies)."""
        self._on_revoke.append(hook)

    def after_revoke(self, hook: AfterCommitHook) -> None:
        """Run ``hook(grant)`` after every revocation commits (purge broker sessions)."""
        self._after_revoke.append(hook)

    # -- grants ------------------------------------------------------------------------

    def grant(
        self,
        household: str,
        grantee_provider: str | None = None,
        grantee_kind: str | None = None,
        *,
        purpose: str,
        signals: Iterable[str],
        until: datetime | float | None = None,
    ) -> Grant:
        """Record a grant and its audit entry.

        Raises:
            InvalidName: a malformed purpose, signal or kind.
            NotFound: no such household or provider.
            Conflict: not exactly one grantee, no signal, or an end in the past.
        """
        names.check_id(household, what="household id")
        names.check_name(purpose, what="purpose")
        sig = tuple(dict.fromkeys(names.check_name(s, what="signal") for s in signals))
        if not sig or len(sig) > MAX_SIGNALS:
            raise Conflict(f"a grant names 1 to {MAX_SIGNALS} signals")
        if (grantee_provider is None) == (grantee_kind is None):
            raise Conflict("a grant names either a provider or a kind of provider")
        if grantee_kind is not None:
            names.check_name(grantee_kind, what="provider kind")
        now = self._clock.timestamp()
        end = until.timestamp() if isinstance(until, datetime) else until
        if end is not None and end <= now:
            raise Conflict("the grant would end in the past")
        if self._db.query_one("SELECT 1 FROM households WHERE id = ?", (household,)) is None:
            raise NotFound(f"no household {household}")
        if (
            grantee_provider is not None
            and self._db.query_one("SELECT 1 FROM providers WHERE id = ?", (grantee_provider,))
            is None
        ):
            raise NotFound(f"no provider {grantee_provider[:64]}")
        grant = Grant(
            id=new_id(),
            household=household,
            grantee_provider=grantee_provider,
            grantee_kind=grantee_kind,
            purpose=purpose,
            signals=sig,
            created_at=now,
            until=end,
        )
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO consent_grants (id, household, grantee_provider, grantee_kind,"
                " purpose, signals, created_at, until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    grant.id,
                    household,
                    grantee_provider,
                    grantee_kind,
                    purpose,
                    json.dumps(list(sig)),
                    now,
                    end,
                ),
            )
            self._audit(
                conn,
                household,
                "grant",
                grant.id,
                grantee_provider,
                purpose,
                sig,
                {"grantee_kind": grantee_kind, "until": _iso(end)},
            )
            self.invalidate(household)
        logger.info(
            "consent %s granted by %s to %s for %s",
            grant.id,
            household,
            grantee_provider or f"kind {grantee_kind}",
            purpose,
        )
        return grant

    def revoke(self, grant_id: str, household: str) -> Grant:
        """Revoke a grant of ``household``; effective before this returns.

        Raises:
            NotFound: no such grant of this household (another's is never revealed).
        """
        now = self._clock.timestamp()
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM consent_grants WHERE id = ? AND household = ?", (grant_id, household)
            ).fetchone()
            if row is None:
                raise NotFound("no such consent")
            if row["revoked_at"] is not None:
                return _grant(row)
            conn.execute("UPDATE consent_grants SET revoked_at = ? WHERE id = ?", (now, grant_id))
            grant = replace(_grant(row), revoked_at=now)
            self._audit(
                conn,
                household,
                "revoke",
                grant_id,
                grant.grantee_provider,
                grant.purpose,
                grant.signals,
                {"grantee_kind": grant.grantee_kind},
            )
            self.invalidate(household)
            for hook in self._on_revoke:
                hook(conn, grant)
        for after in self._after_revoke:
            try:
                after(grant)
            except Exception:
                logger.exception("after-revoke hook failed for consent %s", grant_id)
        logger.info("consent %s revoked by %s", grant_id, household)
        return grant

    def get(self, grant_id: str, household: str) -> Grant:
        """One grant of ``household``; NotFound for anyone else's."""
        row = self._db.query_one(
            "SELECT * FROM consent_grants WHERE id = ? AND household = ?", (grant_id, household)
        )
        if row is None:
            raise NotFound("no such consent")
        return _grant(row)

    def list_grants(self, household: str, *, limit: int = 100, offset: int = 0) -> list[Grant]:
        """A household's grants, newest first."""
        rows = self._db.query(
            "SELECT * FROM consent_grants WHERE household = ? ORDER BY created_at DESC, id"
            " LIMIT ? OFFSET ?",
            (household, limit, offset),
        )
        return [_grant(r) for r in rows]

    # -- the check ---------------------------------------------------------------------

    def invalidate(self, household: str | None = None) -> None:
        """Drop cached grants (of one household, or all)."""
        with self._lock:
            if household is None:
                self._grants.clear()
            else:
                self._grants.pop(household, None)

    def forget_provider(self, provider: str) -> None:
        """Drop a provider's cached kinds (after its row changed)."""
        with self._lock:
            self._kinds.pop(provider, None)

    def _household_grants(self, household: str) -> tuple[Grant, ...]:
        with self._lock:
            cached = self._grants.get(household)
        if cached is not None:
            return cached
        rows = self._db.query(
            "SELECT * FROM consent_grants WHERE household = ? AND revoked_at IS NULL", (household,)
        )
        grants = tuple(_grant(r) for r in rows)
        with self._lock:
            self._grants[household] = grants
        return grants

    def provider_kinds(self, provider: str) -> frozenset[str]:
        """A provider's kinds from its row (cached)."""
        with self._lock:
            cached = self._kinds.get(provider)
        if cached is not None:
            return cached
        row = self._db.query_one("SELECT kinds FROM providers WHERE id = ?", (provider,))
        kinds = frozenset(json.loads(row["kinds"])) if row is not None else frozenset()
        with self._lock:
            self._kinds[provider] = kinds
        return kinds

    def allowed_signals(
        self,
        household: str,
        provider: str,
        purpose: str,
        provider_kinds: Iterable[str] | None = None,
    ) -> frozenset[str]:
        """Every signal of ``household`` that ``provider`` may receive for ``purpose`` now."""
        kinds = (
            frozenset(provider_kinds)
            if provider_kinds is not None
            else self.provider_kinds(provider)
        )
        now = self._clock.timestamp()
        out: set[str] = set()
        for grant in self._household_grants(household):
            if grant.covers(provider, kinds, purpose, now):
                out.update(grant.signals)
        return frozenset(out)

    def allowed(
        self,
        household: str,
        provider: str,
        provider_kinds: Iterable[str] | None,
        purpose: str,
        signal: str,
    ) -> bool:
        """Whether ``provider`` may receive ``signal`` of ``household`` for ``purpose`` now.

        Served from memory; the cache of a household is dropped on each of its grants and
        revocations, and time limits are checked on every call.
        """
        return signal in self.allowed_signals(household, provider, purpose, provider_kinds)

    def filter_payload(
        self,
        household: str,
        provider: str,
        purpose: str,
        payload: Mapping[str, Any],
        signal_of_field: Mapping[str, str | None],
        *,
        provider_kinds: Iterable[str] | None = None,
    ) -> dict[str, Any] | None:
        """Keep the fields of ``payload`` that the provider may receive.

        Args:
            household: whose data the payload carries.
            provider: who would receive it.
            purpose: why it is sent.
            payload: the message, one signal per field.
            signal_of_field: each field's signal; ``None`` marks a field that carries no
                household data (an id, an expiry). A field missing from it is dropped:
                whatever is not declared is not sent.
            provider_kinds: the provider's kinds (looked up when omitted).

        Returns:
            The filtered payload, or None when no signal of the household is covered
            (send nothing at all).
        """
        allowed = self.allowed_signals(household, provider, purpose, provider_kinds)
        if not allowed:
            return None
        out: dict[str, Any] = {}
        carried = False
        for key, value in payload.items():
            if key not in signal_of_field:
                continue
            signal = signal_of_field[key]
            if signal is None:
                out[key] = value
            elif signal in allowed:
                out[key] = value
                carried = True
        return out if carried else None

    # -- audit -------------------------------------------------------------------------

    def record_use(
        self,
        household: str,
        provider: str,
        purpose: str,
        signals: Iterable[str],
        *,
        ref: str | None = None,
    ) -> None:
        """Record that signals of ``household`` were sent to ``provider`` (joins the
        caller's open transaction, so call it where the message is committed)."""
        sig = tuple(signals)
        kinds = self.provider_kinds(provider)
        now = self._clock.timestamp()
        grants = [
            g.id
            for g in self._household_grants(household)
            if g.covers(provider, kinds, purpose, now)
        ]
        with self._db.transaction() as conn:
            self._audit(
                conn,
                household,
                "use",
                grants[0] if grants else None,
                provider,
                purpose,
                sig,
                {"grants": grants, "ref": ref},
            )

    def audit_export(
        self, household: str, *, limit: int = 10_000, after_id: int = 0
    ) -> list[dict[str, Any]]:
        """A household's audit records, oldest first, as JSON-ready dicts."""
        rows = self._db.query(
            "SELECT * FROM consent_audit WHERE household = ? AND id > ? ORDER BY id LIMIT ?",
            (household, after_id, limit),
        )
        return [
            {
                "id": r["id"],
                "at": _iso(r["at"]),
                "event": r["event"],
                "grant_id": r["grant_id"],
                "provider": r["provider"],
                "purpose": r["purpose"],
                "signals": json.loads(r["signals"]),
                "detail": json.loads(r["detail"]),
            }
            for r in rows
        ]

    def _audit(
        self,
        conn: sqlite3.Connection,
        household: str,
        event: str,
        grant_id: str | None,
        provider: str | None,
        purpose: str,
        signals: Iterable[str],
        detail: dict[str, Any],
    ) -> None:
        conn.execute(
            "INSERT INTO consent_audit (household, event, grant_id, provider, purpose, signals,"
            " detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                household,
                event,
                grant_id,
                provider,
                purpose,
                json.dumps(list(signals)),
                json.dumps(detail),
                self._clock.timestamp(),
            ),
        )

    def affected_providers(self, conn: sqlite3.Connection, grant: Grant) -> list[str]:
        """The providers a grant applied to (its provider, or every provider of its kind)."""
        if grant.grantee_provider is not None:
            return [grant.grantee_provider]
        rows = conn.execute("SELECT id, kinds FROM providers").fetchall()
        return [r["id"] for r in rows if grant.grantee_kind in json.loads(r["kinds"])]


def drop_unsent_feed(consent: Consent, *, household_field: str = "household") -> InTransactionHook:
    """An ``on_revoke`` hook: delete unsent outbox copies of the household's data.

    Messages on ``providers/<p>/feed/...`` for each affected provider whose JSON payload
    names the household in ``household_field`` are deleted, unless another live grant
    still covers that provider for the revoked purpose.
    """

    def hook(conn: sqlite3.Connection, grant: Grant) -> None:
        dropped = 0
        for provider in consent.affected_providers(conn, grant):
            if consent.allowed_signals(grant.household, provider, grant.purpose):
                continue
            prefix = f"providers/{provider}/feed/"
            rows = conn.execute(
                "SELECT id, payload FROM outbox WHERE sent_at IS NULL AND substr(topic, 1, ?) = ?",
                (len(prefix), prefix),
            ).fetchall()
            for row in rows:
                try:
                    body = json.loads(bytes(row["payload"]))
                except ValueError:
                    continue
                if isinstance(body, dict) and body.get(household_field) == grant.household:
                    conn.execute("DELETE FROM outbox WHERE id = ?", (row["id"],))
                    dropped += 1
        if dropped:
            logger.info("consent %s revoked: %d queued feed messages dropped", grant.id, dropped)

    return hook

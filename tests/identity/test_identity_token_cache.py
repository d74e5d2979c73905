"""The token cache: resolved tokens are answered from memory, and a logout, a revoked
token or an account change is refused from the very next call (real SQLite, no broker)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from identity_probe import FAST_PASSWORDS

from hub.clock import SystemClock
from hub.identity.errors import AuthFailed
from hub.identity.service import Identity
from hub.identity.token_cache import TokenCache
from hub.storage.database import Database


@pytest.fixture
def ident(tmp_path: Path) -> Iterator[Identity]:
    db = Database(tmp_path / "hub.db")
    identity = Identity(db, None, SystemClock(), "test-secret-" + uuid.uuid4().hex,
                        passwords=FAST_PASSWORDS)
    identity.create_household("h-ana", "riverside", "Ana", password="ana-password-1")
    identity.create_household("h-ben", "riverside", "Ben", password="ben-password-1")
    yield identity
    db.close()


def _reads(db: Database) -> list[str]:
    """Record the statements the calling thread's reader runs from now on."""
    seen: list[str] = []
    reader = db._reader()
    assert reader is not None
    reader.set_trace_callback(seen.append)
    return seen


def test_a_resolved_token_is_answered_without_reading_the_database(ident: Identity) -> None:
    token, principal, _ = ident.login("h-ana", "ana-password-1")
    assert ident.authenticate(token) == principal
    seen = _reads(ident.db)
    for _ in range(5):
        assert ident.authenticate(token).household == "h-ana"
    assert seen == []


def test_a_logged_out_token_is_refused_at_once(ident: Identity) -> None:
    token, _, _ = ident.login("h-ana", "ana-password-1")
    other, _, _ = ident.login("h-ben", "ben-password-1")
    assert ident.authenticate(token).household == "h-ana"  # now cached
    assert ident.authenticate(other).household == "h-ben"
    ident.logout(token)
    with pytest.raises(AuthFailed):
        ident.authenticate(token)
    assert ident.authenticate(other).household == "h-ben"  # others are unaffected


def test_a_disabled_account_is_refused_at_once_and_stays_refused_when_enabled(ident: Identity) -> None:
    token, _, _ = ident.login("h-ana", "ana-password-1")
    api_token = ident.create_api_token(ident.authenticate(token).account_id, label="bridge")
    assert ident.authenticate(api_token).household == "h-ana"
    ident.disable_account("h-ana")
    for t in (token, api_token):
        with pytest.raises(AuthFailed):
            ident.authenticate(t)
    ident.enable_account("h-ana")
    for t in (token, api_token):  # old tokens stay revoked
        with pytest.raises(AuthFailed):
            ident.authenticate(t)


def test_a_deleted_account_is_refused_at_once(ident: Identity) -> None:
    token, _, _ = ident.login("h-ben", "ben-password-1")
    assert ident.authenticate(token).household == "h-ben"
    ident.delete_account("h-ben")
    with pytest.raises(AuthFailed):
        ident.authenticate(token)


def test_a_revocation_inside_a_transaction_holds_once_it_commits(ident: Identity) -> None:
    token, principal, _ = ident.login("h-ana", "ana-password-1")
    assert ident.authenticate(token) == principal
    with ident.db.transaction() as conn:
        ident.tokens.revoke_all(conn, principal.account_id)
    with pytest.raises(AuthFailed):
        ident.authenticate(token)


def test_a_rolled_back_revocation_changes_nothing(ident: Identity) -> None:
    token, principal, _ = ident.login("h-ana", "ana-password-1")

    def abandoned() -> None:
        with ident.db.transaction() as conn:
            ident.tokens.revoke_all(conn, principal.account_id)
            raise RuntimeError("abandon")

    with pytest.raises(RuntimeError):
        abandoned()
    assert ident.authenticate(token) == principal


def test_an_answer_read_before_an_invalidation_is_not_cached_after_it() -> None:
    cache: TokenCache[str] = TokenCache(ttl_s=60)
    epoch = cache.epoch  # a request starts resolving the token from the database ...
    cache.invalidate()  # ... a logout commits meanwhile ...
    assert cache.put("digest", "stale", epoch) is False  # ... its answer is not kept
    assert cache.get("digest") is None
    assert cache.put("digest", "fresh", cache.epoch) is True
    assert cache.get("digest") == "fresh"


def test_entries_expire_after_the_ttl() -> None:
    now = [100.0]
    cache: TokenCache[str] = TokenCache(ttl_s=2.0, monotonic=lambda: now[0])
    cache.put("d", "v", cache.epoch)
    now[0] = 101.9
    assert cache.get("d") == "v"
    now[0] = 102.0
    assert cache.get("d") is None


def test_the_cache_is_bounded() -> None:
    cache: TokenCache[int] = TokenCache(ttl_s=60, max_entries=3)
    for i in range(7):
        cache.put(f"d{i}", i, cache.epoch)
    assert len(cache) <= 3
    assert cache.get("d6") == 6


"""The identity service: provisioning, login, token checks, disabling and deleting.

Provisioning writes the account in SQLite and its MQTT login in the broker's dynamic
security plugin in one step: the broker call runs inside the database transaction, so a
refused broker call rolls the account back, and a retry after a crash between the two
finds the MQTT login and resets its password instead of failing.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from hub.clock import Clock
from hub.errors import NotFound
from hub.i18n.words import N_
from hub.identity import acl, names
from hub.identity.accounts import Credentials, Passwords, Principal, new_id, new_secret
from hub.identity.consent import Consent
from hub.identity.dynsec import DynSecAdmin
from hub.identity.errors import AccountExists, AuthFailed, InvalidInput
from hub.identity.limits import LoginLimiter
from hub.identity.sessions import SessionPurger
from hub.identity.token_cache import TokenCache
from hub.identity.tokens import TokenStore
from hub.storage.database import Database

logger = logging.getLogger(__name__)

MAX_PASSWORD = 1024


class Identity:
    """Accounts, tokens, MQTT logins and consents of one hub.

    Args:
        db: the hub's database (migration ``0040_identity.sql`` applied).
        dynsec: the broker's dynsec admin connection; None runs without MQTT logins
            (unit tests, a hub without a managed broker).
        clock: time source.
        secret: the hub's secret from the settings (keys the token hashes).
        passwords: password hashing (argon2id defaults when omitted).
        session_ttl_s: lifetime of a login's token.
        limiter: login attempt limits.
    """

    def __init__(
        self,
        db: Database,
        dynsec: DynSecAdmin | None,
        clock: Clock,
        secret: str | bytes,
        *,
        passwords: Passwords | None = None,
        session_ttl_s: float = 3600.0,
        limiter: LoginLimiter | None = None,
    ) -> None:
        self.db = db
        self.dynsec = dynsec
        self.clock = clock
        # Resolved tokens, for a moment: most requests then read no row to authenticate.
        self.auth_cache: TokenCache[tuple[Principal, float | None]] = TokenCache()
        self.tokens = TokenStore(db, secret, clock, on_revoke=self.auth_cache.invalidate)
        self.passwords = passwords or Passwords()
        self.session_ttl_s = session_ttl_s
        self.limiter = limiter or LoginLimiter(clock)
        self.consent = Consent(db, clock)
        if dynsec is not None:
            SessionPurger(dynsec).hook(self.consent)

    # -- provisioning ------------------------------------------------------------------

    def create_household(
        self,
        id: str,
        community: str,
        name: str,
        street: str = "",
        lat: float | None = None,
        lon: float | None = None,
        area_codes: dict[str, list[str]] | None = None,
        language: str = "en",
        password: str | None = None,
        *,
        username: str | None = None,
    ) -> Credentials:
        """Provision a household: its row (if missing), its people's login, its gateway.

        Args:
            id: household id, 1-61 of ``[a-z0-9_-]``.
            community: its community (created if missing).
            name, street, lat, lon, area_codes, language: the household row's fields.
            password: the people's API password; a random one when omitted.
            username: the people's API username; the household id when omitted.

        Returns:
            The secrets, once: the API login and the device gateway's MQTT login
            (``gw-<id>``, client id pinned to it).
        """
        names.check_id(id, what="household id")
        names.check_id(community, what="community id")
        user = names.check_account_name(id if username is None else username)
        password = self._password(password)
        now = self.clock.timestamp()
        mqtt_user = names.gateway_username(id) if self.dynsec else None
        mqtt_password = new_secret() if self.dynsec else None
        account_id = new_id()
        with self.db.transaction() as conn:
            self._ensure_community(conn, community)
            conn.execute(
                "INSERT INTO households (id, community, name, street, lat, lon, area_codes,"
                " language, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING",
                (
                    id,
                    community,
                    name,
                    street,
                    lat,
                    lon,
                    json.dumps(area_codes or {}),
                    language,
                    now,
                ),
            )
            self._insert_account(
                conn,
                account_id,
                user,
                "household",
                household=id,
                community=community,
                password=password,
            )
            if self.dynsec is not None and mqtt_user and mqtt_password:
                # The gateway is an account of its own (role device, MQTT only), so that
                # it can be disabled alone; the household's account takes it along.
                self._insert_account(
                    conn,
                    new_id(),
                    mqtt_user,
                    "device",
                    household=id,
                    community=community,
                    password=None,
                    mqtt_username=mqtt_user,
                )
                # The gateway may be the household's Home Assistant too (CONTRACTS.md).
                roles = [acl.household_role(id), acl.homeassistant_role(id)]
                self._mqtt_login(mqtt_user, mqtt_password, roles, f"gateway of {id}")
        logger.info("provisioned household %s (login %s, gateway %s)", id, user, mqtt_user or "-")
        return Credentials(
            account_id=account_id,
            username=user,
            role="household",
            password=password,
            mqtt_username=mqtt_user,
            mqtt_password=mqtt_password,
        )

    def create_provider(
        self,
        id: str,
        community: str | None,
        name: str,
        kinds: Sequence[str] = (),
        lat: float | None = None,
        lon: float | None = None,
        radius_km: float | None = None,
        password: str | None = None,
        *,
        username: str | None = None,
    ) -> Credentials:
        """Provision a provider: its row (if missing), API login + token, MQTT login.

        Returns:
            The secrets, once: password, an API token for its integration, and the MQTT
            login ``pv-<id>`` (reads ``providers/<id>/feed/#``, writes ``.../claims``).
        """
        names.check_id(id, what="provider id")
        if community is not None:
            names.check_id(community, what="community id")
        for kind in kinds:
            names.check_name(kind, what="provider kind")
        user = names.check_account_name(id if username is None else username)
        password = self._password(password)
        now = self.clock.timestamp()
        mqtt_user = names.provider_username(id) if self.dynsec else None
        mqtt_password = new_secret() if self.dynsec else None
        account_id = new_id()
        with self.db.transaction() as conn:
            if community is not None:
                self._ensure_community(conn, community)
            conn.execute(
                "INSERT INTO providers (id, community, name, kinds, lat, lon, radius_km,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (id, community, name, json.dumps(list(kinds)), lat, lon, radius_km, now),
            )
            self._insert_account(
                conn,
                account_id,
                user,
                "provider",
                provider=id,
                community=community,
                password=password,
                mqtt_username=mqtt_user,
            )
            token = self.tokens.issue(conn, account_id, kind="api", ttl_s=None, label="integration")
            if self.dynsec is not None and mqtt_user and mqtt_password:
                self._mqtt_login(
                    mqtt_user, mqtt_password, [acl.provider_role(id)], f"provider {id}"
                )
        self.consent.forget_provider(id)
        logger.info("provisioned provider %s (login %s, mqtt %s)", id, user, mqtt_user or "-")
        return Credentials(
            account_id=account_id,
            username=user,
            role="provider",
            password=password,
            api_token=token,
            mqtt_username=mqtt_user,
            mqtt_password=mqtt_password,
        )

    def create_admin(
        self, username: str, password: str | None = None, *, community: str | None = None
    ) -> Credentials:
        """Provision a community administrator (API only)."""
        user = names.check_account_name(username)
        password = self._password(password)
        account_id = new_id()
        with self.db.transaction() as conn:
            if community is not None:
                self._ensure_community(conn, names.check_id(community, what="community id"))
            self._insert_account(
                conn, account_id, user, "admin", community=community, password=password
            )
        logger.info("provisioned admin %s", user)
        return Credentials(account_id=account_id, username=user, role="admin", password=password)

    def create_bridge(self, username: str, household: str, *, label: str = "bridge") -> Credentials:
        """Provision a bridge of ``household`` (an HTTP integration): an API token only."""
        user = names.check_account_name(username)
        row = self.db.query_one("SELECT community FROM households WHERE id = ?", (household,))
        if row is None:
            raise NotFound(f"no household {household}")
        account_id = new_id()
        with self.db.transaction() as conn:
            self._insert_account(
                conn,
                account_id,
                user,
                "bridge",
                household=household,
                community=row["community"],
                password=None,
            )
            token = self.tokens.issue(conn, account_id, kind="api", ttl_s=None, label=label)
        logger.info("provisioned bridge %s of household %s", user, household)
        return Credentials(account_id=account_id, username=user, role="bridge", api_token=token)

    def create_member_mqtt(self, household: str) -> tuple[str, str]:
        """An MQTT login for a household's people (``hm-<id>``), e.g. for a phone app.

        It reads the household's ``home/<id>/hub/#`` and its community's notices, and
        writes nothing. The secret is random (the broker stretches passwords little, so
        no human-chosen password goes there). Returns ``(username, secret)``, once.
        """
        if self.dynsec is None:
            raise NotFound("this hub manages no broker logins")
        row = self.db.query_one("SELECT community FROM households WHERE id = ?", (household,))
        if row is None:
            raise NotFound(f"no household {household}")
        user, secret = names.member_username(household), new_secret()
        roles = [acl.members_role(household), acl.community_role(row["community"])]
        self._mqtt_login(user, secret, roles, f"people of {household}")
        logger.info("provisioned MQTT login %s", user)
        return user, secret

    def create_api_token(
        self, account_id: str, *, label: str = "", ttl_s: float | None = None
    ) -> str:
        """A new API token for an account (shown once)."""
        self._account_row(account_id)
        with self.db.transaction() as conn:
            return self.tokens.issue(conn, account_id, kind="api", ttl_s=ttl_s, label=label)

    # -- login and tokens --------------------------------------------------------------

    def login(
        self, username: str, password: str, *, address: str = ""
    ) -> tuple[str, Principal, float]:
        """Check a password and open a session.

        Returns:
            ``(token, principal, expires_at)``.

        Raises:
            TooManyAttempts: this address may not try this account now (see LoginLimiter).
            AuthFailed: unknown user, wrong password or disabled account (one message).
        """
        self.limiter.check(username, address)
        row = None
        if names.NAME_RE.fullmatch(username):
            row = self.db.query_one("SELECT * FROM accounts WHERE username = ?", (username,))
        good = self.passwords.verify(row["password_hash"] if row else None, password[:MAX_PASSWORD])
        if row is None or not good or row["disabled"]:
            self.limiter.failed(username, address)
            logger.info("login refused for %s from %s", username[:64], address)
            raise AuthFailed(N_("wrong username or password"))
        self.limiter.succeeded(username, address)
        with self.db.transaction() as conn:
            token = self.tokens.issue(conn, row["id"], kind="session", ttl_s=self.session_ttl_s)
        logger.info("login %s (%s) from %s", username, row["role"], address)
        return token, self._principal(row), self.clock.timestamp() + self.session_ttl_s

    def logout(self, token: str) -> None:
        """End a session (or revoke an API token)."""
        self.tokens.revoke(token)

    def authenticate(self, token: str) -> Principal:
        """The principal of a live token of an enabled account.

        Raises:
            AuthFailed: unknown, revoked or expired token, or a disabled account.
        """
        digest = self.tokens.digest(token)
        cached = self.auth_cache.get(digest)
        if cached is not None:
            principal, expires_at = cached
            if expires_at is None or expires_at > self.clock.timestamp():
                return principal
        epoch = self.auth_cache.epoch
        record = self.tokens.resolve(token)
        if record is None:
            raise AuthFailed("unknown or expired token")
        row = self.db.query_one("SELECT * FROM accounts WHERE id = ?", (record.account_id,))
        if row is None or row["disabled"]:
            raise AuthFailed("unknown or expired token")
        principal = self._principal(row)
        self.auth_cache.put(digest, (principal, record.expires_at), epoch)
        return principal

    # -- disabling and deleting --------------------------------------------------------

    def disable_account(self, account: str) -> None:
        """Disable an account (id or username): tokens revoked, MQTT login kicked.

        A household's people account takes its devices' accounts with it.
        """
        rows = self._with_devices(self._account_row(account))
        now = self.clock.timestamp()
        with self.db.transaction() as conn:
            self.db.after_commit(self.auth_cache.invalidate)
            for row in rows:
                conn.execute(
                    "UPDATE accounts SET disabled = 1, disabled_at = ? WHERE id = ?",
                    (now, row["id"]),
                )
                self.tokens.revoke_all(conn, row["id"])
                if self.dynsec is not None and row["mqtt_username"]:
                    self._ignore_missing(self.dynsec.disable_client, row["mqtt_username"])
            if self.dynsec is not None and rows[0]["role"] == "household":
                member = names.member_username(rows[0]["household"])
                self._ignore_missing(self.dynsec.disable_client, member)
        logger.info("disabled account %s (%d with its devices)", rows[0]["username"], len(rows))

    def enable_account(self, account: str) -> None:
        """Enable a disabled account, and a household's devices (old tokens stay revoked)."""
        rows = self._with_devices(self._account_row(account))
        with self.db.transaction() as conn:
            self.db.after_commit(self.auth_cache.invalidate)
            for row in rows:
                conn.execute(
                    "UPDATE accounts SET disabled = 0, disabled_at = NULL WHERE id = ?",
                    (row["id"],),
                )
                if self.dynsec is not None and row["mqtt_username"]:
                    self.dynsec.enable_client(row["mqtt_username"])
            if self.dynsec is not None and rows[0]["role"] == "household":
                member = names.member_username(rows[0]["household"])
                self._ignore_missing(self.dynsec.enable_client, member)
        logger.info("enabled account %s", rows[0]["username"])

    def delete_account(self, account: str) -> None:
        """Delete an account (id or username) and its MQTT login (kicked); data stays.

        A household's people account takes its devices' accounts with it.
        """
        rows = self._with_devices(self._account_row(account))
        with self.db.transaction() as conn:
            self.db.after_commit(self.auth_cache.invalidate)
            for row in rows:
                conn.execute("DELETE FROM api_tokens WHERE account = ?", (row["id"],))
                conn.execute("DELETE FROM accounts WHERE id = ?", (row["id"],))
                if self.dynsec is not None and row["mqtt_username"]:
                    self._ignore_missing(self.dynsec.delete_client, row["mqtt_username"])
            if self.dynsec is not None and rows[0]["role"] == "household":
                member = names.member_username(rows[0]["household"])
                self._ignore_missing(self.dynsec.delete_client, member)
        logger.info("deleted account %s (%d with its devices)", rows[0]["username"], len(rows))

    def _with_devices(self, row: sqlite3.Row) -> list[sqlite3.Row]:
        if row["role"] != "household" or row["household"] is None:
            return [row]
        devices = self.db.query(
            "SELECT * FROM accounts WHERE role = 'device' AND household = ?", (row["household"],)
        )
        return [row, *devices]

    def get_account(self, account: str) -> dict[str, Any]:
        """An account's public fields (no hashes)."""
        row = self._account_row(account)
        return {
            "id": row["id"],
            "username": row["username"],
            "role": row["role"],
            "household": row["household"],
            "provider": row["provider"],
            "community": row["community"],
            "mqtt_username": row["mqtt_username"],
            "disabled": bool(row["disabled"]),
        }

    def list_accounts(self, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Accounts in creation order (public fields)."""
        rows = self.db.query(
            "SELECT id FROM accounts ORDER BY created_at, id LIMIT ? OFFSET ?", (limit, offset)
        )
        return [self.get_account(r["id"]) for r in rows]

    def mqtt_topic_owner(self, mqtt_username: str) -> str | None:
        """The household whose tree an MQTT login may write, or None."""
        row = self.db.query_one(
            "SELECT household FROM accounts WHERE mqtt_username = ? AND disabled = 0",
            (mqtt_username,),
        )
        return None if row is None else row["household"]

    # -- helpers -----------------------------------------------------------------------

    def _password(self, password: str | None) -> str:
        if password is None:
            return new_secret()
        if not 8 <= len(password) <= MAX_PASSWORD:
            raise InvalidInput(f"a password has 8 to {MAX_PASSWORD} characters")
        return password

    def _ensure_community(self, conn: sqlite3.Connection, community: str) -> None:
        conn.execute(
            "INSERT INTO communities (id, name, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING",
            (community, community, self.clock.timestamp()),
        )

    def _insert_account(
        self,
        conn: sqlite3.Connection,
        account_id: str,
        username: str,
        role: str,
        *,
        household: str | None = None,
        provider: str | None = None,
        community: str | None = None,
        password: str | None,
        mqtt_username: str | None = None,
    ) -> None:
        try:
            conn.execute(
                "INSERT INTO accounts (id, username, role, household, provider, community,"
                " password_hash, mqtt_username, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    account_id,
                    username,
                    role,
                    household,
                    provider,
                    community,
                    None if password is None else self.passwords.hash(password),
                    mqtt_username,
                    self.clock.timestamp(),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise AccountExists(f"account {username} (or its MQTT login) exists") from exc

    def mqtt_login(
        self, username: str, password: str, roles: Iterable[acl.Role], label: str
    ) -> None:
        """Create (or take over) an MQTT login with ``roles``, client id pinned to it."""
        self._mqtt_login(username, password, roles, label)

    def _mqtt_login(
        self, username: str, password: str, roles: Iterable[acl.Role], label: str
    ) -> None:
        assert self.dynsec is not None
        role_list = list(roles)
        for role in role_list:
            self.dynsec.ensure_role(role)
        try:
            self.dynsec.create_client(
                username, password, roles=[r.rolename for r in role_list], textname=label
            )
        except AccountExists:
            # Left over by a provisioning that crashed before its commit: take it over.
            self.dynsec.set_client_password(username, password)
            self.dynsec.set_client_id(username, username)
            for role in role_list:
                self.dynsec.add_client_role(username, role.rolename)
            self.dynsec.enable_client(username)

    @staticmethod
    def _ignore_missing(call: Any, username: str) -> None:
        try:
            call(username)
        except NotFound:
            logger.warning("MQTT login %s was already gone", username)

    def _account_row(self, account: str) -> sqlite3.Row:
        row = self.db.query_one(
            "SELECT * FROM accounts WHERE id = ? OR username = ?", (account, account)
        )
        if row is None:
            raise NotFound(f"no account {account[:64]}")
        return row

    def _principal(self, row: sqlite3.Row) -> Principal:
        return Principal(
            account_id=row["id"],
            username=row["username"],
            role=row["role"],
            household=row["household"],
            provider=row["provider"],
            community=row["community"],
        )

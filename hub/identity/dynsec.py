"""Administer Mosquitto's dynamic security plugin over MQTT v5.

Commands go to ``$CONTROL/dynamic-security/v1`` as ``{"commands": [...]}``; the plugin
answers on ``$CONTROL/dynamic-security/v1/response`` with ``{"responses": [...]}``, each
echoing the command's ``correlationData``, which is how several admin connections (and
several commands in flight) find their own answer. Only the admin account may publish
there (see :mod:`hub.identity.acl`).

The API is synchronous with a timeout (provisioning is rare and not on the ingest path);
:class:`AsyncDynSecAdmin` runs it in a worker thread for async callers. Passwords are
sent to the broker but never logged: log lines name the command and the account only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from hub.errors import NotFound
from hub.identity import names
from hub.identity.acl import Acl, Role
from hub.identity.errors import AccountExists, DynSecError

logger = logging.getLogger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = CONTROL_TOPIC + "/response"


def _translate(command: str, error: str) -> Exception:
    """The hub error for a plugin error text."""
    low = error.lower()
    if "already exists" in low:
        return AccountExists(f"{command}: {error}")
    if "not found" in low:
        return NotFound(f"{command}: {error}")
    return DynSecError(command, error)


class DynSecAdmin:
    """A connection of the dynsec admin account, sending commands and awaiting answers.

    Args:
        host: the broker's address.
        port: its port.
        username: the admin account (see :func:`hub.identity.broker_config.init_dynsec`).
        password: its password.
        timeout: seconds to wait for the connection and for each answer.

    Use as a context manager, or call :meth:`connect` and :meth:`close`.
    """

    def __init__(
        self, host: str, port: int, username: str, password: str, *, timeout: float = 5.0
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.timeout = timeout
        self._password = password
        self._pending: dict[str, Future[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._ready: Future[None] = Future()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{username}-{secrets.token_hex(6)}",
            protocol=mqtt.MQTTv5,
        )
        self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.on_disconnect = self._on_disconnect
        self._connected = False

    # -- connection --------------------------------------------------------------------

    def connect(self) -> DynSecAdmin:
        """Connect, subscribe to the responses and wait until both are acknowledged."""
        if self._connected:
            return self
        self._ready = Future()
        try:
            self._client.connect(self.host, self.port, keepalive=30, clean_start=True)
        except OSError as exc:
            raise DynSecError("connect", f"{self.host}:{self.port}: {exc}") from exc
        self._client.loop_start()
        try:
            self._ready.result(timeout=self.timeout)
        except FutureTimeout as exc:
            self.close()
            raise DynSecError("connect", f"no answer from {self.host}:{self.port}") from exc
        except DynSecError:
            self.close()
            raise
        self._connected = True
        logger.info("dynsec admin %s connected to %s:%s", self.username, self.host, self.port)
        return self

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._connected = False
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()
        with self._lock:
            pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(DynSecError("close", "connection closed"))

    def __enter__(self) -> DynSecAdmin:
        return self.connect()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason: ReasonCode,
        props: Properties | None,
    ) -> None:
        if reason.is_failure:
            if not self._ready.done():
                self._ready.set_exception(DynSecError("connect", f"refused: {reason}"))
            return
        client.subscribe(RESPONSE_TOPIC, qos=1)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        props: Properties | None,
    ) -> None:
        if self._ready.done():
            return
        if any(r.is_failure for r in reasons):
            self._ready.set_exception(
                DynSecError("subscribe", f"{RESPONSE_TOPIC} refused: not an admin account")
            )
        else:
            self._ready.set_result(None)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason: ReasonCode,
        props: Properties | None,
    ) -> None:
        if self._connected:
            logger.warning("dynsec admin %s disconnected: %s", self.username, reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            body = json.loads(msg.payload)
            responses = body["responses"]
        except (ValueError, KeyError, TypeError):
            logger.warning("dynsec: unreadable response on %s", msg.topic)
            return
        for response in responses if isinstance(responses, list) else ():
            if not isinstance(response, dict):
                continue
            corr = response.get("correlationData")
            with self._lock:
                fut = self._pending.pop(corr, None) if isinstance(corr, str) else None
            if fut is not None and not fut.done():
                fut.set_result(response)

    # -- commands ----------------------------------------------------------------------

    def execute(self, commands: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send commands in one message; return their ``data`` (or ``{}``) in order.

        Raises:
            AccountExists: a create of something that exists.
            NotFound: a command on an account or role that does not exist.
            DynSecError: any other refusal, or no answer within the timeout.
        """
        if not self._connected:
            self.connect()
        futures: list[tuple[str, Future[dict[str, Any]]]] = []
        sent = []
        for command in commands:
            corr = secrets.token_hex(8)
            fut: Future[dict[str, Any]] = Future()
            with self._lock:
                self._pending[corr] = fut
            futures.append((command["command"], fut))
            sent.append({**command, "correlationData": corr})
        info = self._client.publish(CONTROL_TOPIC, json.dumps({"commands": sent}), qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise DynSecError(futures[0][0], f"publish failed: {mqtt.error_string(info.rc)}")
        results = []
        first_error: Exception | None = None
        for name, fut in futures:
            try:
                response = fut.result(timeout=self.timeout)
            except FutureTimeout as exc:
                raise DynSecError(name, f"no answer within {self.timeout} s") from exc
            error = response.get("error")
            if error and first_error is None:
                first_error = _translate(name, str(error))
            data = response.get("data")
            results.append(data if isinstance(data, dict) else {})
        logger.info("dynsec %s", ", ".join(name for name, _ in futures))
        if first_error is not None:
            raise first_error
        return results

    def command(self, name: str, **fields: Any) -> dict[str, Any]:
        """Send one command; return its ``data``."""
        return self.execute([{"command": name, **fields}])[0]

    # -- clients -----------------------------------------------------------------------

    def create_client(
        self,
        username: str,
        password: str,
        *,
        clientid: str | None = "",
        roles: Iterable[str] = (),
        textname: str = "",
    ) -> None:
        """Create an MQTT account.

        Args:
            username: 1-64 of ``[a-z0-9_-]``, else :class:`~hub.identity.errors.InvalidName`.
            password: its secret.
            clientid: the client id it must connect with; ``""`` pins it to the username
                (the default), None leaves it free.
            roles: role names to give it.
            textname: a label for operators.
        """
        names.check_name(username)
        fields: dict[str, Any] = {
            "username": username,
            "password": password,
            "roles": [{"rolename": r, "priority": 0} for r in roles],
        }
        if clientid is not None:
            fields["clientid"] = names.check_name(clientid or username, what="client id")
        if textname:
            fields["textname"] = textname
        self.command("createClient", **fields)

    def delete_client(self, username: str) -> None:
        """Delete an account; its connections are kicked."""
        self.command("deleteClient", username=username)

    def disable_client(self, username: str) -> None:
        """Disable an account; its connections are kicked and new ones refused."""
        self.command("disableClient", username=username)

    def enable_client(self, username: str) -> None:
        """Enable a disabled account."""
        self.command("enableClient", username=username)

    def set_client_password(self, username: str, password: str) -> None:
        """Replace an account's password (the broker hashes it)."""
        self.command("setClientPassword", username=username, password=password)

    def set_client_id(self, username: str, clientid: str | None) -> None:
        """Pin an account to another client id (None or ``""`` unpins it)."""
        self.command("setClientId", username=username, clientid=clientid or "")

    def add_client_role(self, username: str, rolename: str, priority: int = 0) -> None:
        """Give an account a role."""
        self.command("addClientRole", username=username, rolename=rolename, priority=priority)

    def remove_client_role(self, username: str, rolename: str) -> None:
        """Take a role from an account (takes effect on its next publish or subscribe)."""
        self.command("removeClientRole", username=username, rolename=rolename)

    def get_client(self, username: str) -> dict[str, Any]:
        """The plugin's description of an account (no password)."""
        data = self.command("getClient", username=username)
        client = data.get("client")
        return client if isinstance(client, dict) else {}

    def list_clients(self) -> list[str]:
        """Every account's username."""
        data = self.command("listClients", verbose=False, count=-1, offset=0)
        clients = data.get("clients", [])
        return [c if isinstance(c, str) else str(c.get("username")) for c in clients]

    # -- roles -------------------------------------------------------------------------

    def create_role(self, role: Role | str, acls: Iterable[Acl] = ()) -> None:
        """Create a role with its ACLs."""
        if isinstance(role, str):
            role = Role(role, tuple(acls))
        self.command("createRole", **role.to_json())

    def ensure_role(self, role: Role) -> None:
        """Create a role, or replace the ACLs of an existing one with ``role``'s."""
        try:
            self.create_role(role)
            return
        except AccountExists:
            pass
        current = self.command("getRole", rolename=role.rolename).get("role", {})
        existing = current.get("acls", []) if isinstance(current, dict) else []
        commands: list[dict[str, Any]] = [
            {
                "command": "removeRoleACL",
                "rolename": role.rolename,
                "acltype": a["acltype"],
                "topic": a["topic"],
            }
            for a in existing
        ]
        commands += [
            {"command": "addRoleACL", "rolename": role.rolename, **a.to_json()} for a in role.acls
        ]
        if commands:
            self.execute(commands)

    def delete_role(self, rolename: str) -> None:
        """Delete a role."""
        self.command("deleteRole", rolename=rolename)

    def add_role_acl(
        self, rolename: str, acltype: str, topic: str, *, allow: bool = True, priority: int = 0
    ) -> None:
        """Add one ACL to a role."""
        self.command(
            "addRoleACL",
            rolename=rolename,
            acltype=acltype,
            topic=topic,
            allow=allow,
            priority=priority,
        )

    def list_roles(self) -> list[str]:
        """Every role's name."""
        data = self.command("listRoles", verbose=False, count=-1, offset=0)
        roles = data.get("roles", [])
        return [r if isinstance(r, str) else str(r.get("rolename")) for r in roles]


class AsyncDynSecAdmin:
    """:class:`DynSecAdmin` for asyncio callers: each call runs in a worker thread."""

    def __init__(self, admin: DynSecAdmin) -> None:
        self.sync = admin

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.sync, name)
        if not callable(method):
            return method

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)

        return call

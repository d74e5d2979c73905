"""Destroy a provider's broker session when its consent is revoked.

Feed messages the hub already handed to the broker sit in the provider's persistent
session while it is offline (or in flight while it is slow). Revocation must reach them
too. The hub's admin creates a throwaway account with no ACL at all, pinned to the
provider's client id, and connects with it using clean start and a zero session expiry
(MQTT v5 §3.1.2.4, §3.1.2.11.2): the broker hands it the session (kicking the provider if
it is online, reason 0x8E "session taken over"), discards every queued message, and
removes the session when the throwaway connection closes. The provider's next connection
finds no session (``session present`` = 0) and subscribes again; feed messages of other
households it missed are resent by the offers side if it wants (consumers de-duplicate by
message id).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub.errors import NotFound
from hub.identity import names
from hub.identity.consent import Consent, Grant
from hub.identity.dynsec import DynSecAdmin
from hub.identity.errors import DynSecError

logger = logging.getLogger(__name__)


class SessionPurger:
    """Takes over and discards MQTT sessions through the dynsec admin."""

    def __init__(self, dynsec: DynSecAdmin, *, timeout: float = 5.0) -> None:
        self._dynsec = dynsec
        self._timeout = timeout

    def purge(self, client_id: str) -> None:
        """Discard the session (and queued messages) of ``client_id``; kick it if online.

        Raises:
            DynSecError: the takeover connection was refused or timed out.
        """
        names.check_name(client_id, what="client id")
        user = names.PURGE_PREFIX + secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        self._dynsec.create_client(user, secret, clientid=client_id, textname="session purge")
        try:
            self._take_over(client_id, user, secret)
        finally:
            with contextlib.suppress(NotFound):
                self._dynsec.delete_client(user)
        logger.info("broker session of %s discarded", client_id)

    def _take_over(self, client_id: str, user: str, secret: str) -> None:
        done = threading.Event()
        outcome: list[str] = []
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        client.username_pw_set(user, secret)

        def on_connect(c: mqtt.Client, u: object, f: object, reason: object, p: object) -> None:
            outcome.append(str(reason))
            done.set()

        client.on_connect = on_connect
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 0
        try:
            client.connect(
                self._dynsec.host,
                self._dynsec.port,
                keepalive=10,
                clean_start=True,
                properties=props,
            )
        except OSError as exc:
            raise DynSecError("purge", f"cannot connect: {exc}") from exc
        client.loop_start()
        try:
            if not done.wait(self._timeout):
                raise DynSecError("purge", f"no CONNACK for {client_id}")
            if outcome and outcome[0] != "Success":
                raise DynSecError("purge", f"takeover of {client_id} refused: {outcome[0]}")
        finally:
            client.disconnect()
            client.loop_stop()

    def purge_provider(self, provider: str) -> None:
        """Discard the broker session of a provider's MQTT login."""
        self.purge(names.provider_username(provider))

    def hook(self, consent: Consent) -> None:
        """Install as ``after_revoke`` on ``consent``: purge each affected provider."""

        def after(grant: Grant) -> None:
            with consent._db.transaction() as conn:  # read-only; joins nothing outside
                providers = consent.affected_providers(conn, grant)
            for provider in providers:
                if consent.allowed_signals(grant.household, provider, grant.purpose):
                    continue
                self.purge_provider(provider)

        consent.after_revoke(after)

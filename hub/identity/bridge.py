"""Edge brokers bridged to the core broker: their ACL role, login and configuration.

An edge broker (a building, a neighbourhood) is a plain Mosquitto near its devices. It keeps
its own logins (one ``gw-<household>`` per household, with the same ACLs as on the core) and
holds one bridge connection to the core broker the hub uses. The bridge logs in to the core
as ``br-<edge>``, whose role allows exactly that edge's households' topics, so ACLs hold
across the bridge twice: the edge refuses a device writing another household's tree, and the
core refuses the bridge forwarding it (a tampered edge configuration gains nothing).

Topics are the same on both sides (no prefix remapping), so a device needs no change when
its household moves from the core to an edge:

=====================================  =========  ==========================================
topic                                   direction  why
=====================================  =========  ==========================================
``home/<h>/#``                          out        the devices' readings and commands
``home/<h>/hub/#``                      in         the hub's suggestions and notices
``home/<h>/homeassistant/#``            in         the Home Assistant configs the hub retains
``community/<c>/notices/#``             in         the community's notices (retained)
=====================================  =========  ==========================================

The session is persistent both ways (``cleansession false``, MQTT 3.1.1 with Mosquitto's
bridge bit ``try_private``): while the core is away the edge queues what its devices send
(up to ``max_queued_messages``, QoS 0 included) and delivers it on return; while the edge is
away the core queues the downstream messages in the bridge's session (the core's own
``max_queued_messages``, 1,000,000). See docs/scaling.md.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.identity import acl, names
from hub.identity.acl import SEND, Acl, Role
from hub.identity.broker_config import dynsec_plugin_path, init_dynsec, seed_accounts
from hub.identity.dynsec import DynSecAdmin
from hub.identity.errors import AccountExists, BrokerConfigError

#: Messages the edge keeps for the core while it is away: one hour of 200 households with
#: 5 devices each reporting every 10 s is 360,000 messages (about 150 MB in memory).
DEFAULT_MAX_QUEUED = 400_000
EDGE_ADMIN = "edge-admin"


def _read(topic: str) -> tuple[Acl, ...]:
    return (Acl(acl.SUBSCRIBE, topic), Acl(acl.RECEIVE, topic))


def check_households(households: Sequence[str]) -> tuple[str, ...]:
    """Validated, de-duplicated household ids in the given order; at least one."""
    out: list[str] = []
    for h in households:
        names.check_id(h, what="household id")
        if h not in out:
            out.append(h)
    if not out:
        raise BrokerConfigError("an edge needs at least one household (--households)")
    return tuple(out)


def bridge_role(edge: str, households: Sequence[str], communities: Sequence[str]) -> Role:
    """The core-side role of edge ``edge``'s bridge: its households' topics, nothing else."""
    e = names.check_id(edge, what="edge id")
    acls: list[Acl] = []
    for h in check_households(households):
        acls += [
            # The hub's subtree of a household is the hub's alone, on the bridge as well.
            Acl(SEND, f"home/{h}/hub/#", allow=False, priority=10),
            Acl(SEND, f"home/{h}/#"),
            *_read(f"home/{h}/hub/#"),
            *_read(f"home/{h}/homeassistant/#"),
        ]
    for c in communities:
        acls += _read(f"community/{names.check_id(c, what='community id')}/notices/#")
    return Role(f"bridge-{e}", tuple(acls), textname=f"bridge of edge broker {e}")


def edge_household_role(household: str) -> Role:
    """The edge-side role of a household's gateway: the core's, plus its HA configs."""
    base = acl.household_role(household)
    return Role(
        base.rolename,
        (*base.acls, *_read(f"home/{household}/homeassistant/#")),
        textname=base.textname,
    )


@dataclass(frozen=True, slots=True)
class EdgeSpec:
    """What the configuration of one edge broker's bridge is made from."""

    edge: str
    households: tuple[str, ...]
    communities: tuple[str, ...]
    core_host: str
    core_port: int
    password: str
    max_queued: int = DEFAULT_MAX_QUEUED

    @property
    def username(self) -> str:
        return names.bridge_username(self.edge)


def provision_bridge(
    dynsec: DynSecAdmin, edge: str, households: Sequence[str], communities: Sequence[str]
) -> str:
    """Create (or reset) edge ``edge``'s bridge login on the core; return its new secret.

    The role is rewritten to exactly ``households`` and ``communities``, so running it again
    with a changed list moves households between edges; the old secret stops working.
    """
    role = bridge_role(edge, households, communities)
    username = names.bridge_username(edge)
    password = secrets.token_urlsafe(32)
    dynsec.ensure_role(role)
    try:
        dynsec.create_client(
            username, password, roles=[role.rolename], textname=f"bridge of edge {edge}"
        )
    except AccountExists:
        dynsec.set_client_password(username, password)
        dynsec.set_client_id(username, username)
        held = {r.get("rolename") for r in dynsec.get_client(username).get("roles", [])}
        if role.rolename not in held:  # the plugin refuses a role the client already has
            dynsec.add_client_role(username, role.rolename)
    return password


def remove_bridge(dynsec: DynSecAdmin, edge: str) -> None:
    """Delete edge ``edge``'s bridge login and role on the core (its connection is kicked).

    Raises:
        NotFound: the core has no such bridge.
    """
    dynsec.delete_client(names.bridge_username(edge))
    dynsec.delete_role(f"bridge-{names.check_id(edge, what='edge id')}")


def render_bridge_section(spec: EdgeSpec) -> str:
    """The ``connection`` block of the edge's mosquitto.conf (it holds the secret)."""
    if not re.fullmatch(r"[0-9A-Za-z.:\-]+", spec.core_host):
        raise BrokerConfigError(f"core host {spec.core_host!r} is not an address or host name")
    if not 0 < spec.core_port < 65536:
        raise BrokerConfigError(f"core port must be 1-65535, not {spec.core_port}")
    if any(c.isspace() for c in spec.password) or not spec.password:
        raise BrokerConfigError("the bridge password must be non-empty, without spaces")
    user = spec.username
    lines = [
        f"# Bridge of edge {spec.edge} to the core broker (written by `hub broker bridge-config`).",
        f"connection {user}",
        f"address {spec.core_host}:{spec.core_port}",
        "bridge_protocol_version mqttv311",
        # The core knows the bridge as a bridge: it does not echo the bridge's own messages.
        "try_private true",
        # Persistent sessions on both sides: the core queues the downstream messages while
        # the edge is away, the edge queues the devices' messages while the core is away.
        "cleansession false",
        "local_cleansession false",
        f"remote_clientid {user}",
        f"remote_username {user}",
        f"remote_password {spec.password}",
        f"local_clientid {user}-local",
        # $SYS notifications would be refused by the core's ACL.
        "notifications false",
        "start_type automatic",
        "restart_timeout 1 30",
        "keepalive_interval 30",
        "bridge_attempt_unsubscribe false",
    ]
    for h in spec.households:
        lines += [
            f"topic home/{h}/# out 1",
            f"topic home/{h}/hub/# in 1",
            f"topic home/{h}/homeassistant/# in 1",
        ]
    lines += [f"topic community/{c}/notices/# in 1" for c in spec.communities]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class EdgeHost:
    """Where the edge runs: its listener, and the machine's own paths and user.

    ``home``, ``user`` and ``plugin`` default to this machine's (the folder written, the
    current user, the plugin found here): set them when the folder is copied elsewhere.
    """

    port: int = 1883
    bind: str = "127.0.0.1"
    home: Path | None = None
    user: str | None = None
    plugin: str | None = None


def render_edge_config(spec: EdgeSpec, host: EdgeHost, folder: Path) -> str:
    """A whole mosquitto.conf for the edge: its listener, its own logins, the bridge."""
    port, bind = host.port, host.bind
    if not 0 < port < 65536:
        raise BrokerConfigError(f"edge port must be 1-65535, not {port}")
    if spec.max_queued < 1:
        raise BrokerConfigError(f"max queued messages must be positive, not {spec.max_queued}")
    if not re.fullmatch(r"[0-9A-Za-z.:\-]+", bind):
        raise BrokerConfigError(f"edge bind address {bind!r} is not an address or host name")
    where = str((host.home or folder).absolute()).rstrip("/")
    plugin = host.plugin or str(dynsec_plugin_path())
    user = host.user or pwd.getpwuid(os.geteuid()).pw_name
    for what, value in (("edge folder", where), ("plugin", plugin)):
        if any(c.isspace() for c in value):
            raise BrokerConfigError(f"{what} {value!r}: Mosquitto paths cannot hold spaces")
    if not re.fullmatch(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*", user):
        raise BrokerConfigError(f"edge user {user!r} is not a user name")
    head = [
        f"# Edge broker {spec.edge}: its devices log in here as gw-<household>.",
        "per_listener_settings false",
        # Started as root, Mosquitto drops to this user: the one that wrote the 0600 files.
        f"user {user}",
        "allow_anonymous false",
        "allow_zero_length_clientid false",
        f"listener {port} {bind}",
        f"plugin {plugin}",
        f"plugin_opt_config_file {where}/dynamic-security.json",
        "persistence true",
        f"persistence_location {where}/data/",
        # Saved every 100 changes: a kill -9 of the edge loses at most that many queued ones.
        "autosave_on_changes true",
        "autosave_interval 100",
        # What the edge holds for the core while it is away (devices send QoS 0 too).
        f"max_queued_messages {spec.max_queued}",
        "max_queued_bytes 0",
        "queue_qos0_messages true",
        "max_inflight_messages 1000",
        "max_packet_size 262144",
        "persistent_client_expiration 14d",
        "set_tcp_nodelay true",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
        "",
    ]
    return "\n".join(head) + render_bridge_section(spec)


def write_edge(spec: EdgeSpec, folder: Path, host: EdgeHost) -> dict[str, Any]:
    """Write the edge's folder: mosquitto.conf, its dynsec file, credentials.json (0600).

    Every household gets a fresh gateway secret on this edge (``gw-<h>``, the same role as
    on the core). Returns the credentials written: ``{"edge", "listener", "admin",
    "households": {h: {"username", "password"}}}``.
    """
    conf = render_edge_config(spec, host, folder)  # before writing anything: it validates
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    admin_password = secrets.token_urlsafe(24)
    dynsec_file = folder / "dynamic-security.json"
    init_dynsec(dynsec_file, EDGE_ADMIN, admin_password)
    gateways = {h: secrets.token_urlsafe(24) for h in spec.households}
    seed_accounts(
        dynsec_file,
        [edge_household_role(h) for h in spec.households],
        [(names.gateway_username(h), pw, f"household-{h}") for h, pw in gateways.items()],
    )
    _write_private(folder / "mosquitto.conf", conf)  # it holds the bridge's secret
    creds = {
        "edge": spec.edge,
        "listener": {"host": host.bind, "port": host.port},
        "admin": {"username": EDGE_ADMIN, "password": admin_password},
        "households": {
            h: {"username": names.gateway_username(h), "password": pw} for h, pw in gateways.items()
        },
    }
    _write_private(folder / "credentials.json", json.dumps(creds, indent=1))
    return creds


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, never readable by others even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT

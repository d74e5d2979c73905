"""``hub broker bridge-config EDGE``: provision an edge broker's bridge and write its config;
``hub broker bridge-remove EDGE``: delete it.

The command logs in to the core broker's dynamic security as its admin
(``HUB_BROKER_ADMIN_USERNAME`` / ``HUB_BROKER_ADMIN_PASSWORD``; the core's address from
``HUB_MQTT_URL`` or ``--core``), creates or resets the edge's bridge login ``br-<edge>``
with a role for exactly the named households, and prints the edge's bridge section, or
with ``--out DIR`` writes a whole edge folder (mosquitto.conf, its own dynsec file with a
``gw-<h>`` login per household, credentials.json), ready for ``mosquitto -c DIR/mosquitto.conf``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hub.config import load_settings
from hub.errors import HubError
from hub.identity import bridge, names
from hub.identity.dynsec import DynSecAdmin
from hub.identity.errors import BrokerConfigError


def register(sub: Any) -> None:
    """Add ``hub broker ...`` to the ``hub`` parser."""
    broker = sub.add_parser("broker", help="the broker tier (edge brokers bridged to the core)")
    broker_sub = broker.add_subparsers(dest="broker_command", required=True)
    cfg = broker_sub.add_parser(
        "bridge-config", help="provision an edge broker's bridge login and print its config"
    )
    cfg.add_argument("edge", help="the edge's id (a-z, 0-9, '_', '-')")
    cfg.add_argument("--households", required=True, help="comma-separated household ids")
    cfg.add_argument(
        "--communities",
        default=None,
        help="comma-separated communities whose notices the edge gets (default: the"
        " households' own, from the hub's database)",
    )
    cfg.add_argument("--core", default=None, help="HOST:PORT of the core broker (default: HUB_MQTT_URL)")
    cfg.add_argument("--out", type=Path, default=None, help="write a whole edge folder here")
    cfg.add_argument("--edge-port", type=int, default=1883, help="the edge's listener port (--out)")
    cfg.add_argument("--edge-bind", default="127.0.0.1", help="the edge's listener address (--out)")
    cfg.add_argument("--edge-dir", type=Path, default=None,
                     help="where the folder will live on the edge (default: --out)")
    cfg.add_argument("--edge-user", default=None, help="the edge's Mosquitto user (default: yours)")
    cfg.add_argument("--edge-plugin", default=None,
                     help="the dynsec plugin's path on the edge (default: the one found here)")
    cfg.add_argument(
        "--max-queued",
        type=int,
        default=bridge.DEFAULT_MAX_QUEUED,
        help="messages the edge holds for the core while it is away",
    )
    cfg.set_defaults(func=cmd_bridge_config)
    rm = broker_sub.add_parser("bridge-remove", help="delete an edge's bridge login on the core")
    rm.add_argument("edge", help="the edge's id")
    rm.add_argument("--core", default=None, help="HOST:PORT of the core broker (default: HUB_MQTT_URL)")
    rm.set_defaults(func=cmd_bridge_remove)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _core_address(args: argparse.Namespace, settings: Any) -> tuple[str, int]:
    if args.core:
        host, sep, port = str(args.core).rpartition(":")
        if not sep or not host or not port.isdigit():
            raise BrokerConfigError(f"--core {args.core!r}: expected HOST:PORT")
        return host, int(port)
    if settings.mqtt_url is None:
        raise BrokerConfigError("no core broker: set HUB_MQTT_URL or pass --core HOST:PORT")
    host, port, _, _ = settings.broker_address()
    return host, port


def _communities_of(settings: Any, households: tuple[str, ...]) -> tuple[str, ...]:
    """The households' communities from the hub's database; an unknown household is refused."""
    from hub.storage.factory import open_database

    if not settings.database_url and not settings.db_path.exists():
        raise BrokerConfigError(
            f"no hub database at {settings.db_path} to look the households up in:"
            " pass --communities"
        )
    db = open_database(settings)
    try:
        found: dict[str, str] = {}
        for h in households:
            row = db.query_one("SELECT community FROM households WHERE id = ?", (h,))
            if row is None:
                raise BrokerConfigError(f"household {h!r} is not known to the hub")
            found[h] = str(row["community"])
    finally:
        db.close()
    return tuple(dict.fromkeys(found.values()))


def _admin(args: argparse.Namespace, settings: Any) -> DynSecAdmin:
    """The core broker's dynamic-security admin, from the settings (not connected yet)."""
    host, port = _core_address(args, settings)
    if not settings.broker_admin_username:
        raise BrokerConfigError(
            "HUB_BROKER_ADMIN_USERNAME and HUB_BROKER_ADMIN_PASSWORD must name the core"
            " broker's dynamic-security admin"
        )
    password = settings.broker_admin_password.get_secret_value()
    return DynSecAdmin(host, port, settings.broker_admin_username, password)


def cmd_bridge_remove(args: argparse.Namespace) -> int:
    """Delete the edge's bridge login and role on the core."""
    try:
        settings = load_settings()
        names.bridge_username(args.edge)
        with _admin(args, settings) as dynsec:
            bridge.remove_bridge(dynsec, args.edge)
    except HubError as exc:
        print(f"hub broker bridge-remove: {exc}", file=sys.stderr)
        return 2
    print(f"edge {args.edge}: bridge login {names.bridge_username(args.edge)} removed from the core")
    return 0


def cmd_bridge_config(args: argparse.Namespace) -> int:
    """Provision the bridge on the core, then print or write the edge's configuration."""
    try:
        settings = load_settings()
        households = bridge.check_households(_split(args.households))
        if args.communities is not None:
            communities = tuple(_split(args.communities))
        else:
            communities = _communities_of(settings, households)
        host, port = _core_address(args, settings)
        admin = _admin(args, settings)
        # Everything is checked before the core is touched: a refusal provisions nothing.
        bridge.bridge_role(args.edge, households, communities)
        if not 0 < args.edge_port < 65536:
            raise BrokerConfigError(f"--edge-port must be 1-65535, not {args.edge_port}")
        if args.max_queued < 1:
            raise BrokerConfigError(f"--max-queued must be positive, not {args.max_queued}")
        edge_host = bridge.EdgeHost(
            args.edge_port, args.edge_bind, args.edge_dir, args.edge_user, args.edge_plugin
        )
        probe = bridge.EdgeSpec(args.edge, households, communities, host, port, "placeholder")
        bridge.render_bridge_section(probe)
        if args.out is not None:
            bridge.render_edge_config(probe, edge_host, args.out)
        with admin as dynsec:
            password = bridge.provision_bridge(dynsec, args.edge, households, communities)
        spec = bridge.EdgeSpec(
            args.edge, households, communities, host, port, password, args.max_queued
        )
        if args.out is None:
            sys.stdout.write(bridge.render_bridge_section(spec))
            return 0
        creds = bridge.write_edge(spec, args.out, edge_host)
    except HubError as exc:
        print(f"hub broker bridge-config: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"hub broker bridge-config: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    print(
        f"edge {args.edge}: {len(creds['households'])} households, config in"
        f" {args.out / 'mosquitto.conf'}, device logins in {args.out / 'credentials.json'}"
    )
    return 0

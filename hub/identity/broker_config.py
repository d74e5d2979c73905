"""Render the production broker configuration and prepare the dynamic security file.

The broker supervisor (``hub/broker``) calls, before every start of Mosquitto::

    init_dynsec(dynsec_file, admin_user, admin_password, hub_user="hub", hub_password=...)
    text = render_config(Path("mosquitto/mosquitto.conf"), port=port, data_dir=data_dir,
                         dynsec_file=dynsec_file)

The dynsec file uses the format of Mosquitto 2.0's plugin (checked against
``mosquitto_ctrl dynsec init`` of the Debian 2.0.11 package): passwords are
PBKDF2-HMAC-SHA512 over the raw 12-byte salt, 64-byte digest, both base64, with the
iteration count stored beside them.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import json
import logging
import os
import pwd
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hub.identity import acl, names
from hub.identity.errors import BrokerConfigError

logger = logging.getLogger(__name__)

PLUGIN_NAME = "mosquitto_dynamic_security.so"
#: Where Debian, Ubuntu, Fedora, Alpine and Homebrew put the plugin.
PLUGIN_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib/arm-linux-gnueabihf",
    "/usr/lib/i386-linux-gnu",
    "/usr/lib/*-linux-gnu*",
    "/usr/lib/mosquitto",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
    "/usr/local/lib/mosquitto",
    "/opt/homebrew/lib",
)
#: Mosquitto 2.0's own count when it hashes a password (``setClientPassword``). The
#: secrets the hub generates carry 256 bits of entropy, so stretching adds nothing, and
#: every CONNECT costs one hash on the broker's single thread.
DEFAULT_ITERATIONS = 101
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def dynsec_plugin_path(search: Iterable[str] = PLUGIN_DIRS) -> Path:
    """Find Mosquitto's dynamic security plugin.

    ``HUB_DYNSEC_PLUGIN`` in the environment wins when set. Otherwise the usual
    multiarch and distribution directories are searched in order.

    Raises:
        BrokerConfigError: the plugin is not installed (Debian: package ``mosquitto``).
    """
    override = os.environ.get("HUB_DYNSEC_PLUGIN")
    if override:
        path = Path(override)
        if not path.is_file():
            raise BrokerConfigError(f"HUB_DYNSEC_PLUGIN={override} is not a file")
        return path
    tried = []
    for pattern in search:
        for folder in sorted(glob.glob(pattern)) or [pattern]:
            candidate = Path(folder) / PLUGIN_NAME
            tried.append(str(candidate))
            if candidate.is_file():
                return candidate
    raise BrokerConfigError(
        f"{PLUGIN_NAME} not found (tried {', '.join(tried[:6])}, ...): install mosquitto 2.0+"
        " or set HUB_DYNSEC_PLUGIN"
    )


def _config_path(path: Path, what: str) -> str:
    text = str(Path(path).absolute())
    if any(c.isspace() for c in text) or "{" in text:
        raise BrokerConfigError(f"{what} {text!r}: Mosquitto paths cannot hold spaces or braces")
    return text


def render_config(
    template: Path,
    *,
    port: int,
    data_dir: Path,
    dynsec_file: Path,
    bind_address: str = "127.0.0.1",
    plugin_path: Path | None = None,
    user: str | None = None,
) -> str:
    """Return the broker configuration with every placeholder filled in.

    Args:
        template: ``mosquitto/mosquitto.conf``.
        port: the listener's TCP port (1-65535).
        data_dir: Mosquitto's persistence directory (created if missing).
        dynsec_file: the dynamic security JSON file (see :func:`init_dynsec`).
        bind_address: the listener's address; loopback unless the operator says so.
        plugin_path: the plugin, found with :func:`dynsec_plugin_path` when omitted.
        user: the account Mosquitto runs as when started as root; the current one when
            omitted, so that it can read the dynsec file (mode 0600) the hub wrote.

    Raises:
        BrokerConfigError: a bad port or path, or a placeholder left unfilled.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise BrokerConfigError(f"port must be 1-65535, not {port!r}")
    if not re.fullmatch(r"[0-9A-Za-z.:\-]+", bind_address):
        raise BrokerConfigError(f"bind address {bind_address!r} is not an address or host name")
    try:
        text = Path(template).read_text(encoding="utf-8")
    except OSError as exc:
        raise BrokerConfigError(f"cannot read broker template {template}: {exc}") from exc
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    values = {
        "port": str(port),
        "bind_address": bind_address,
        "data_dir": _config_path(data_dir, "data dir").rstrip("/"),
        "dynsec_file": _config_path(dynsec_file, "dynsec file"),
        "dynsec_plugin": _config_path(plugin_path or dynsec_plugin_path(), "plugin"),
        "user": user or pwd.getpwuid(os.geteuid()).pw_name,
    }
    if not re.fullmatch(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*", values["user"]):
        raise BrokerConfigError(f"user {values['user']!r} is not a user name")

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise BrokerConfigError(f"{template}: unknown placeholder {{{{{key}}}}}")
        return values[key]

    return _PLACEHOLDER.sub(fill, text)


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS) -> dict[str, Any]:
    """The dynsec client fields for ``password``: ``password``, ``salt``, ``iterations``."""
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return {
        "password": base64.b64encode(digest).decode("ascii"),
        "salt": base64.b64encode(salt).decode("ascii"),
        "iterations": iterations,
    }


def verify_password(client: dict[str, Any], password: str) -> bool:
    """Check ``password`` against a dynsec client entry (as the broker does)."""
    try:
        salt = base64.b64decode(client["salt"])
        want = base64.b64decode(client["password"])
        iterations = int(client["iterations"])
    except (KeyError, ValueError, TypeError):
        return False
    got = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return secrets.compare_digest(got, want)


def _upsert(items: list[dict[str, Any]], key: str, entry: dict[str, Any]) -> None:
    for i, item in enumerate(items):
        if item.get(key) == entry[key]:
            items[i] = entry
            return
    items.append(entry)


def init_dynsec(
    dynsec_file: Path,
    admin_user: str,
    admin_password: str,
    *,
    hub_user: str | None = None,
    hub_password: str | None = None,
    hub_clientid: str | None = "",
) -> None:
    """Create the dynamic security file, or reset its admin (and hub) account in place.

    Idempotent, so the supervisor calls it before every broker start: a missing file is
    created with every default access set to *deny*; an existing one keeps every other
    account and role, while the admin (and the hub, when given) get the password from the
    settings and their roles rewritten. Call it only while the broker is stopped: the
    broker owns the file while it runs. The file is written atomically with mode 0600.

    Args:
        dynsec_file: the plugin's JSON file.
        admin_user: the ``$CONTROL`` administrator (unpinned client id).
        admin_password: its password (never logged).
        hub_user: the hub's own MQTT account (client id pinned to it), optional.
        hub_password: its password; required with ``hub_user``.
        hub_clientid: the client id the hub account is pinned to: ``""`` pins it to
            ``hub_user``; None leaves it unpinned (several hub connections, each with its
            own client id).
    """
    names.check_name(admin_user, what="admin username")
    if not admin_password:
        raise BrokerConfigError("the dynsec admin password is empty")
    if (hub_user is None) != (hub_password is None) or hub_password == "":
        raise BrokerConfigError("hub_user and hub_password go together")
    path = Path(dynsec_file)
    data: dict[str, Any]
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BrokerConfigError(f"cannot read dynsec file {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise BrokerConfigError(f"dynsec file {path} does not hold a JSON object")
    else:
        data = {}
    data.setdefault("clients", [])
    data.setdefault("groups", [])
    data.setdefault("roles", [])
    data["defaultACLAccess"] = {
        "publishClientSend": False,
        "publishClientReceive": False,
        "subscribe": False,
        "unsubscribe": True,
    }
    _upsert(data["roles"], "rolename", acl.admin_role().to_json())
    _upsert(
        data["clients"],
        "username",
        {
            "username": admin_user,
            "textname": "hub dynsec administrator",
            **hash_password(admin_password),
            "roles": [{"rolename": acl.admin_role().rolename}],
        },
    )
    if hub_user is not None and hub_password is not None:
        names.check_name(hub_user, what="hub username")
        _upsert(data["roles"], "rolename", acl.hub_role().to_json())
        hub_entry: dict[str, Any] = {
            "username": hub_user,
            "textname": "the hub",
            **hash_password(hub_password),
            "roles": [{"rolename": acl.hub_role().rolename}],
        }
        if hub_clientid is not None:
            hub_entry["clientid"] = hub_clientid or hub_user
        _upsert(data["clients"], "username", hub_entry)
    _write_private_json(path, data)
    logger.info("dynsec file %s ready (admin %s, hub %s)", path, admin_user, hub_user or "-")


def _write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600 (it holds password hashes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
    os.replace(tmp, path)


def seed_accounts(
    dynsec_file: Path, roles: Iterable[acl.Role], clients: Iterable[tuple[str, str, str]]
) -> None:
    """Add roles and pinned clients to a dynsec file made by :func:`init_dynsec`.

    For a broker that is not running yet (an edge broker's first start): each client is
    ``(username, password, rolename)``, pinned to a client id equal to its username.
    Existing entries of the same name are replaced.
    """
    path = Path(dynsec_file)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BrokerConfigError(f"cannot read dynsec file {path}: {exc}") from exc
    for role in roles:
        _upsert(data["roles"], "rolename", role.to_json())
    for username, password, rolename in clients:
        names.check_name(username)
        entry = {
            "username": username,
            "clientid": username,
            **hash_password(password),
            "roles": [{"rolename": rolename}],
        }
        _upsert(data["clients"], "username", entry)
    _write_private_json(path, data)

"""``hub demo``: the whole weekend story on loopback, with a simulated community.

Starts the hub with its managed Mosquitto on a story clock (a Saturday, running 60x
faster than real time), seeds Riverside (20 households, fresh-grocer, river-bistro, the
gas utility), provisions every account with its API and MQTT logins, writes
``var/demo/credentials.json`` (CONTRACTS.md; each household also gets a ``devices`` login,
a linked home broker that its simulated devices use, leaving its gateway login to its Home
Assistant), starts the simulated devices of every household in their vendor formats, and
plays STORY.md through the API and MQTT while the dashboards show it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import threading
import time as _wall_clock
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from hub.config import load_settings
from hub.demo.clock import ScaledClock
from hub.errors import HubError
from hub.runner import run_until_signal

logger = logging.getLogger(__name__)

DEMO_DIR = Path("var/demo")
SPEED = 60.0
ADMIN_USER = "riverside-admin"
STORY_HOUSEHOLD = "h-ana"
DEVICES_LABEL = "Demo devices (simulated)"


def story_day(today: datetime) -> datetime:
    """07:00 UTC of today: the story's "Saturday" is played on today's date.

    A later date would put the devices' own timestamps days ahead of the wall clock, and
    the adapters rightly refuse readings from more than a day in the future.
    """
    return datetime.combine(today.date(), time(7, 0), UTC)


def run_demo(*, port: int = 8080, households: int = 20, fresh: bool = True, speed: float = SPEED) -> int:
    """Run the demo until Ctrl-C; returns the exit code."""
    if not 1 <= speed <= 3600:
        raise HubError("--speed must be between 1 and 3600")
    if households < 3:
        raise HubError("the demo needs at least 3 households (Ana, Ben and Chen)")
    if fresh and DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    start = story_day(datetime.now(UTC))
    settings = load_settings(demo=True, data_dir=DEMO_DIR, api_port=port, timer_max_sleep_s=1.0)
    clock = ScaledClock(start, speed)
    return run_until_signal(settings, clock=clock, after_ready=lambda hub, stop: _start(hub, stop, clock, households))


async def _start(hub: Any, stop: asyncio.Event, clock: ScaledClock, households: int) -> None:
    from hub.demo.sunday_sharing import seed_sharing
    from hub.offers import seed_story

    seed = seed_story(hub.db, clock, day=clock.now().date())
    seed_sharing(hub.db, clock, datetime.combine(seed.day, time(0), UTC))
    path = DEMO_DIR / "credentials.json"
    resumed = _resume(hub, path)
    if resumed is None:
        credentials = await asyncio.to_thread(_provision, hub, seed, households)
    else:
        credentials = resumed
    api = f"http://127.0.0.1:{hub.api_port}"
    credentials = {**credentials, "api": api, "mqtt": {"host": "127.0.0.1", "port": hub.broker.port}}
    _write_private(path, json.dumps(credentials, indent=2))
    # Ana's devices are played by the story itself (it logs in as her gateway, whose client
    # id is pinned): the fleet simulates everyone else's.
    simulated = {h: c for h, c in credentials["households"].items() if h != STORY_HOUSEHOLD}
    devices = DeviceFleet(hub.broker.port, simulated, clock)
    devices.start()
    hub.components["closers"].append(("demo-devices", devices.stop))
    _print_welcome(api, credentials, path, clock)
    if resumed is not None:
        # The story's steps are in the store already; playing them again would only collide.
        print("Resumed the demo on its existing store: same accounts and logins.", flush=True)
        return
    asyncio.get_running_loop().create_task(_play(api, hub, credentials, clock), name="demo-story")


def _resume(hub: Any, path: Path) -> dict[str, Any] | None:
    """The logins of an earlier run on this store, or None when it was never provisioned.

    Provisioning happens once per store: its accounts (and their broker logins, kept in the
    broker's dynamic-security file beside the store) survive any stop, ``kill -9`` included,
    and ``credentials.json`` is written atomically right after them.
    """
    admin = hub.db.query_one("SELECT 1 FROM accounts WHERE username = ?", (ADMIN_USER,))
    if admin is None:
        return None
    if not path.exists():
        raise HubError(f"the demo store {DEMO_DIR} holds accounts but not their logins ({path} is missing): "
                       "start the demo with --fresh")
    credentials: dict[str, Any] = json.loads(path.read_text())
    usernames = [credentials["admin"]["username"]]
    for group in ("households", "providers"):
        usernames += [c["username"] for c in credentials[group].values()]
    known = {r["username"] for r in hub.db.query("SELECT username FROM accounts")}
    missing = [u for u in usernames if u not in known]
    if missing:
        raise HubError(f"{path} names accounts the store does not hold ({', '.join(missing[:5])}): "
                       "start the demo with --fresh")
    logger.info("resuming the demo: %d households and %d providers already provisioned",
                len(credentials["households"]), len(credentials["providers"]))
    return credentials


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600) atomically: a crash leaves the old file or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def _provision(hub: Any, seed: Any, households: int) -> dict[str, Any]:
    """Accounts for the admin, the households and the providers; Ana's grocery consent."""
    from hub.identity.provisioning import provision

    rows = hub.db.query("SELECT id, community, name, street, lat, lon FROM households ORDER BY id")
    chosen = [r for r in rows if r["id"] in ("h-ana", "h-ben", "h-chen")]
    chosen += [r for r in rows if r["id"] not in ("h-ana", "h-ben", "h-chen")][: max(0, households - 3)]
    providers = hub.db.query("SELECT id, community, name, kinds, lat, lon, radius_km FROM providers ORDER BY id")
    out = provision(
        hub.identity,
        admin_username=ADMIN_USER,
        households=[
            {"id": r["id"], "community": r["community"], "name": r["name"], "street": r["street"],
             "lat": r["lat"], "lon": r["lon"], "password": f"{r['id']}-demo"}
            for r in chosen
        ],
        providers=[
            {"id": p["id"], "community": p["community"], "name": p["name"], "kinds": json.loads(p["kinds"]),
             "lat": p["lat"], "lon": p["lon"], "radius_km": p["radius_km"], "password": f"{p['id']}-demo"}
            for p in providers
        ],
    )
    hub.identity.consent.grant(
        "h-ana", "fresh-grocer", purpose="grocery_delivery", signals=["pantry_needs", "slot", "street_address"]
    )
    # The simulated devices get a login of their own per household (a linked home broker,
    # as a real home would have), so that the household's gateway login stays free for its
    # Home Assistant (CONTRACTS.md: client id = username, pinned by the broker: two clients
    # on one login would throw each other off, once a second).
    from hub.identity.links import Links

    links = Links(hub.db, hub.identity, _wall_clock.time)
    for household, creds in out["households"].items():
        link, secret = links.create(household, "mosquitto", DEVICES_LABEL, actor="demo")
        creds["devices"] = {"username": link.mqtt_username, "password": secret}
    del seed
    return out


def devices_login(creds: dict[str, Any]) -> dict[str, str]:
    """The login a household's simulated devices use (its gateway login on older stores)."""
    login = creds.get("devices") or creds["mqtt"]
    return {"username": login["username"], "password": login["password"]}


class DeviceFleet:
    """Every household's simulated devices, each household on its own gateway login."""

    def __init__(self, port: int, households: dict[str, Any], clock: ScaledClock, period_s: float = 5.0) -> None:
        self._port = port
        self._households = households
        self._clock = clock
        self._period = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-devices", daemon=True)
        self.simulators: dict[str, Any] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        from hub.simulator import HouseholdSimulator

        clients = []
        for index, (household, creds) in enumerate(sorted(self._households.items())):
            login = devices_login(creds)
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=login["username"], protocol=mqtt.MQTTv5)
            client.username_pw_set(login["username"], login["password"])
            client.connect("127.0.0.1", self._port)
            client.loop_start()
            clients.append((household, client))
            self.simulators[household] = HouseholdSimulator(household, seed=index)
        try:
            while not self._stop.is_set():
                now = self._clock.now()
                for household, client in clients:
                    for topic, payload, retain in self.simulators[household].messages(now):
                        client.publish(f"home/{household}/{topic}", payload, qos=1, retain=retain)
                self._stop.wait(self._period)
        finally:
            for _, client in clients:
                client.disconnect()
                client.loop_stop()


def _print_welcome(api: str, credentials: dict[str, Any], path: Path, clock: ScaledClock) -> None:
    lines = [
        "",
        f"The community hub demo is running: open {api}/ in a browser.",
        "  household Ana:    h-ana / h-ana-demo",
        "  household Ben:    h-ben / h-ben-demo",
        "  provider:         fresh-grocer / fresh-grocer-demo",
        f"  community admin:  {ADMIN_USER} / {credentials['admin']['password']}",
        f"All logins (API and MQTT): {path}",
        f"The story of STORY.md plays now ({clock.speed:g}x real time). Ctrl-C stops everything.",
        "",
    ]
    print("\n".join(lines), flush=True)


async def _play(api: str, hub: Any, credentials: dict[str, Any], clock: ScaledClock) -> None:
    try:
        from hub.demo.story import StoryPlayer
    except ImportError:
        logger.info("no story player in this build; the community runs without the scripted story")
        return
    player = StoryPlayer(api, ("127.0.0.1", hub.broker.port), credentials, clock)

    def show(step: Any) -> None:
        print(f"[story {step.story_time:%H:%M}] {step.name}", flush=True)

    try:
        from hub.demo.sunday_sharing import CHAPTERS as SHARING
        from hub.demo.sunday_timebank import CHAPTERS as TIMEBANK

        # Sunday in story-time order: sharing 08:55-11:50, the time bank from 14:00.
        await player.play(observer=show, chapters=SHARING + TIMEBANK)
        print("The story is over; the community goes on. Ctrl-C stops the demo.", flush=True)
    except Exception:
        logger.exception("the story stopped")

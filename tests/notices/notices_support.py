"""Helpers shared by the notices tests (imported by name: tests have no packages)."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from hub.storage.database import Database

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus" / "cap"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notices"


@dataclass(frozen=True)
class Broker:
    host: str
    port: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"mosquitto exited early: {err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            # Not listening yet: wait on the socket again (bounded by the deadline).
            time.sleep(0.02)
    pytest.fail(f"mosquitto did not listen on {port} within {timeout}s")


# Ana and Ben live in the outage polygon (and on streets named by outage lists); Chen does not.
START = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
HOUSEHOLDS = [
    # id, community, name, street, lat, lon, area_codes, language
    ("ana", "riverside", "Ana", "Mill Lane", 50.0610, 19.9370, {"POSTAL": ["30-001"]}, "en"),
    ("ben", "riverside", "Ben", "Mill Lane", 50.0615, 19.9380, {"POSTAL": ["30-001"]}, "es"),
    ("chen", "riverside", "Chen", "Hill Road", 50.0700, 19.9600, {"POSTAL": ["30-009"]}, "en"),
    ("dora", "hilltop", "Dora", "Mill Lane", 50.0612, 19.9375, {"POSTAL": ["30-001"]}, "en"),
]


def seed_households(db: Database) -> None:
    with db.transaction() as conn:
        for community in ("riverside", "hilltop"):
            conn.execute(
                "INSERT INTO communities (id, name, created_at) VALUES (?, ?, ?)",
                (community, community.title(), 0.0),
            )
        for hid, community, name, street, lat, lon, codes, lang in HOUSEHOLDS:
            conn.execute(
                "INSERT INTO households (id, community, name, street, lat, lon, area_codes,"
                " language, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (hid, community, name, street, lat, lon, orjson.dumps(codes).decode(), lang, 0.0),
            )

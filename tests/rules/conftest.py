"""Fixtures of the rules tests: a real SQLite file, a fake clock, a pack written to disk."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.clock import FakeClock
from hub.rules.actions import ListSink
from hub.rules.engine import RuleEngine
from hub.storage.database import Database
from tests.stores import open_db

START = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_db(tmp_path / "hub.db")
    yield database
    database.close()


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


@pytest.fixture
def write_pack(tmp_path: Path) -> Callable[..., Path]:
    folder = tmp_path / "packs"
    folder.mkdir()

    def write(text: str, name: str = "test") -> Path:
        path = folder / f"{name}.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_engine(
    db: Database, clock: FakeClock, sink: ListSink, write_pack: Callable[..., Path]
) -> Callable[..., RuleEngine]:
    def make(text: str, **kwargs: object) -> RuleEngine:
        path = write_pack(text)
        engine = RuleEngine(db, clock, sink, **kwargs)  # type: ignore[arg-type]
        result = engine.reload([path])
        assert result.errors == (), [str(e) for e in result.errors]
        return engine

    return make

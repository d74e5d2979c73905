"""Speed and memory figures for hub.notices (prints, asserts nothing).

Not collected by pytest (no ``test_`` prefix); the lead may move it to ``bench/``.
Run: ``.venv/bin/python bench/bench_notices.py``
"""

from __future__ import annotations

import gc
import os
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "notices"))

from notices_support import cap_xml  # noqa: E402

from hub.clock import FakeClock  # noqa: E402
from hub.errors import NoticeRejected  # noqa: E402
from hub.notices.book import NoticeBook  # noqa: E402
from hub.notices.geo import households_for  # noqa: E402
from hub.notices.parse import parse_document  # noqa: E402
from hub.storage.database import Database  # noqa: E402
from hub.storage.outbox import Outbox  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"


def per_call(fn: object, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / n


def main() -> None:
    feed = (FIXTURES / "corpus/cap/nws_atom_feed_cap11_index_2018.xml").read_bytes()
    dt = per_call(lambda: parse_document(feed), 20)
    print(f"parse NWS Atom index (276 kB, 163 entries): {dt * 1e3:.1f} ms/doc")
    doc = cap_xml("x")
    print(f"parse 2-language CAP alert: {per_call(lambda: parse_document(doc), 2000) * 1e6:.0f} us")

    rng = random.Random(1)
    households = [
        {
            "id": f"h{i}",
            "community": "c",
            "lat": 50.04 + rng.random() * 0.03,
            "lon": 19.91 + rng.random() * 0.05,
            "area_codes": {},
        }
        for i in range(1000)
    ]
    (notice,) = parse_document(doc)
    notice = notice.with_community("c")
    matched = len(households_for(notice, households))
    dt = per_call(lambda: households_for(notice, households), 50)
    print(f"target polygon notice over 1000 households: {dt * 1e3:.1f} ms ({matched} matched)")

    db = Database(os.path.join(tempfile.mkdtemp(), "bench.db"))
    with db.transaction() as conn:
        conn.execute("INSERT INTO communities (id, name, created_at) VALUES ('c', 'c', 0)")
        for h in households:
            conn.execute(
                "INSERT INTO households (id, community, name, lat, lon, created_at)"
                " VALUES (?, 'c', ?, ?, ?, 0)",
                (h["id"], h["id"], h["lat"], h["lon"]),
            )
    book = NoticeBook(db, Outbox(db), FakeClock(datetime(2026, 11, 28, 10, 0, tzinfo=UTC)))
    n = 20
    start = time.perf_counter()
    for i in range(n):
        book.ingest_bytes(cap_xml(f"a{i}"), "c", "bench")
    dt = (time.perf_counter() - start) / n
    print(f"ingest alert, 1000-household community (SQLite file + outbox): {dt * 1e3:.1f} ms")

    for name, data in [
        ("billion_laughs.xml", (FIXTURES / "notices/billion_laughs.xml").read_bytes()),
        ("quadratic_blowup.xml", (FIXTURES / "notices/quadratic_blowup.xml").read_bytes()),
        ("50 MB CAP body", doc.replace(b"Works on the gas main.", b"x" * 50 * 2**20, 1)),
    ]:
        gc.collect()
        tracemalloc.start()
        reason = "accepted?!"
        try:
            parse_document(data)
        except NoticeRejected as exc:
            reason = str(exc)[:50]
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"refused {name}: traced peak {peak / 1024:.1f} KiB ({reason})")


if __name__ == "__main__":
    main()

"""Hostile notice documents are refused with a reason, memory stays flat, nothing changes."""

from __future__ import annotations

import gc
import resource
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from notices_support import FIXTURES, cap_xml

from hub.errors import NoticeRejected
from hub.notices.parse import DEFAULT_MAX_BYTES, parse_document

MB = 1024 * 1024
FIFTY_MB = 50 * MB
BOUND = 20 * MB  # well below the hostile sizes: the parser must not build what they ask for


def maxrss_bytes() -> int:
    # Linux reports ru_maxrss in kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def refused_within_bound(call: Callable[[], object], reason: str) -> tuple[int, int]:
    """Run ``call``; assert NoticeRejected(reason); return (tracemalloc peak, maxrss growth)."""
    gc.collect()
    rss_before = maxrss_bytes()
    tracemalloc.start()
    try:
        with pytest.raises(NoticeRejected, match=reason):
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    growth = maxrss_bytes() - rss_before
    assert peak < BOUND, f"traced peak {peak} bytes"
    assert growth < BOUND, f"max RSS grew by {growth} bytes"
    return peak, growth


@pytest.mark.parametrize(
    "name",
    [
        "billion_laughs.xml",
        "quadratic_blowup.xml",
        "xxe_file.xml",
        "xxe_parameter_entity.xml",
        "external_dtd.xml",
    ],
)
def test_entity_and_dtd_attacks_are_refused(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    refused_within_bound(lambda: parse_document(data), "DTDForbidden")


def test_fifty_megabyte_xml_body_is_refused_unparsed() -> None:
    body = cap_xml("big").replace(b"Works on the gas main.", b"x" * FIFTY_MB, 1)
    assert len(body) > FIFTY_MB
    peak, _ = refused_within_bound(lambda: parse_document(body), "above the limit")
    assert peak < MB  # refused before any parsing


def test_fifty_megabyte_json_body_is_refused_unparsed() -> None:
    body = b'{"OutageItems": [' + b'{"OutageId": "x"},' * (FIFTY_MB // 18) + b"{}]}"
    refused_within_bound(lambda: parse_document(body), "above the limit")


def test_large_embedded_resource_under_the_limit_is_accepted() -> None:
    # CAP resources may embed base64 content (<derefUri>); 4 MiB is under the 5 MiB default.
    resource_xml = (
        b"<resource><resourceDesc>map</resourceDesc><mimeType>image/png</mimeType>"
        b"<derefUri>" + b"QUFB" * (MB) + b"</derefUri></resource>"
    )
    doc = cap_xml("with-map").replace(b"<area>", resource_xml + b"<area>", 1)
    assert 4 * MB < len(doc) < DEFAULT_MAX_BYTES
    (notice,) = parse_document(doc)
    assert notice.id == "with-map"
    with pytest.raises(NoticeRejected, match="above the limit of 1048576"):
        parse_document(doc, max_bytes=MB)


def test_hostile_document_through_the_book_changes_nothing(kit) -> None:  # type: ignore[no-untyped-def]
    data = (FIXTURES / "billion_laughs.xml").read_bytes()
    with pytest.raises(NoticeRejected):
        kit.book.ingest_bytes(data, community="riverside", source="mqtt:x")
    assert kit.db.query("SELECT COUNT(*) AS n FROM notices")[0]["n"] == 0
    assert kit.outbox.pending() == []


def test_cli_refuses_a_fifty_megabyte_file_reading_only_the_limit(tmp_path: Path) -> None:
    import subprocess
    import sys

    big = tmp_path / "big.xml"
    with big.open("wb") as fh:
        fh.write(b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>')
        fh.write(b"x" * FIFTY_MB)
        fh.write(b"</identifier></alert>")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "notices", "parse", str(big)],
        capture_output=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(root)},
    )
    assert done.returncode == 2
    assert b"above the limit" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1

"""The senders' HTTP requests and error mapping, against a recording HTTP server on loopback.

There is no InfluxDB 2.x on these machines: this pins what the 2.x sender puts on the wire
(the path, org, bucket, precision, token and body InfluxDB 2.x expects); the contract tests
in test_telemetry_influx.py run against a real 2.x when HUB_TEST_INFLUX_URL names one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from hub.telemetry.senders import SendFailed, SendRejected, V1Sender, V2Sender


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    status: int = 204
    answer: bytes = b""


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    state = Recorder(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            parts = urlsplit(self.path)
            state.requests.append(
                Recorded(
                    "POST",
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
            )
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="recorder", daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


BODY = "power,device=d,household=h value=1.0 1764288000000000000"


def test_v2_sender_posts_line_protocol_to_api_v2_write(recorder: Recorder) -> None:
    sender = V2Sender(recorder.url, "s3cret-token", "acme", "hub")
    try:
        sender.send(BODY, 1)
    finally:
        sender.close()

    (request,) = recorder.requests
    assert request.path == "/api/v2/write"
    assert request.query == {"org": ["acme"], "bucket": ["hub"], "precision": ["ns"]}
    assert request.headers["authorization"] == "Token s3cret-token"
    assert request.body == BODY.encode()


def test_v1_sender_posts_to_write_with_database_policy_and_basic_auth(recorder: Recorder) -> None:
    sender = V1Sender(recorder.url, "hub/week", "ana:pw")
    try:
        sender.send(BODY, 1)
    finally:
        sender.close()

    (request,) = recorder.requests
    assert request.path == "/write"
    assert request.query == {"db": ["hub"], "rp": ["week"], "precision": ["ns"]}
    assert request.headers["authorization"] == "Basic YW5hOnB3"
    assert request.body == BODY.encode()


@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize(
    ("status", "answer", "error", "refused"),
    [
        (400, b'{"error":"partial write: field type conflict dropped=2"}', SendRejected, 2),
        (413, b'{"error":"too large"}', SendRejected, 3),
        (503, b'{"error":"busy"}', SendFailed, None),
        (401, b'{"error":"unauthorized"}', SendFailed, None),
        (404, b'{"error":"bucket not found"}', SendFailed, None),
    ],
)
def test_answers_map_to_retry_or_refusal(
    recorder: Recorder,
    api: str,
    status: int,
    answer: bytes,
    error: type[Exception],
    refused: int | None,
) -> None:
    recorder.status, recorder.answer = status, answer
    sender = (
        V1Sender(recorder.url, "hub") if api == "v1" else V2Sender(recorder.url, "t", "o", "hub")
    )
    try:
        with pytest.raises(error, match=str(status)) as caught:
            sender.send(BODY + "\n" + BODY + "\n" + BODY, 3)
    finally:
        sender.close()
    if refused is not None:
        assert isinstance(caught.value, SendRejected)
        assert caught.value.refused == refused

"""MQTT v5 on the wire: the packets the hub sends, and one connection that parses what arrives.

:class:`Connection` is an asyncio protocol: every complete packet of a socket read is parsed
in one loop, PUBLISH packets straight into :class:`InboundMessage` objects appended to its
owner's queue (at most ``queue_max`` waiting: past that the rest of the read stays in the
buffer and reading pauses). Control packets go to the owner (:class:`Owner`), which is
:class:`hub.transport.mqtt.MqttTransport`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
import time
from typing import Protocol

from hub.transport.base import InboundMessage

logger = logging.getLogger(__name__)


class Owner(Protocol):
    """What a connection reports to."""

    _queue: collections.deque[InboundMessage]
    _queue_max: int

    def _count(self, reason: str, n: int) -> None: ...

    def _received(self, count: int) -> None: ...

    def _acked(self, mid: int) -> None: ...


_PUBLISH, _PUBACK, _CONNACK, _SUBACK, _PINGRESP, _DISCONNECT = 3, 4, 2, 9, 13, 14


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def string(s: str | bytes) -> bytes:
    raw = s.encode() if isinstance(s, str) else s
    return len(raw).to_bytes(2, "big") + raw


def packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + varint(len(body)) + body


def connect_packet(
    client_id: str, *, keepalive: int, clean_start: bool, session_expiry_s: int,
    username: str | None, password: str | None,
) -> bytes:
    """An MQTT v5 CONNECT (session expiry property; receive maximum left at its default)."""
    flags = (0x02 if clean_start else 0) | (0x80 if username is not None else 0)
    flags |= 0x40 if username is not None and password is not None else 0
    props = b"\x11" + session_expiry_s.to_bytes(4, "big")
    body = string("MQTT") + b"\x05" + bytes((flags,)) + keepalive.to_bytes(2, "big") + varint(len(props)) + props
    body += string(client_id)
    if username is not None:
        body += string(username)
        if password is not None:
            body += string(password)
    return packet(0x10, body)


def publish_packet(topic: str, payload: bytes, qos: int, retain: bool, mid: int, dup: bool = False) -> bytes:
    """An MQTT v5 PUBLISH without properties."""
    first = 0x30 | (qos << 1) | (1 if retain else 0) | (0x08 if dup else 0)
    head = string(topic) + (mid.to_bytes(2, "big") if qos else b"") + b"\x00"
    return packet(first, head + payload)


class Connection(asyncio.Protocol):
    """One broker connection: writes packets, parses what arrives, reports to its owner."""

    def __init__(self, owner: Owner, name: str) -> None:
        self.owner = owner
        self.name = name
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.paused = False  # backpressure: the owner's queue is full
        self.held = False  # a batch is lingering: let the kernel gather what follows
        self._soon: list[bytes] = []  # packets of this loop pass, written together (write_soon)
        self.connack: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.last_heard = time.monotonic()

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.connack.done():
            self.connack.set_result(False)
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.last_heard = time.monotonic()
        self.buffer = self.buffer + data if self.buffer else data
        self.parse()

    # -- packets ----------------------------------------------------------------------

    def write(self, data: bytes) -> bool:
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        if self._soon:
            self._flush()  # keep the order of what was written
        transport.write(data)
        return True

    def write_soon(self, data: bytes) -> bool:
        """Write at the end of this pass of the event loop, with every packet written so far
        in it: one send for a relay pass of publishes instead of one each (on the loop only)."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        if not self._soon:
            try:
                asyncio.get_running_loop().call_soon(self._flush)
            except RuntimeError:  # not on a loop: now
                transport.write(data)
                return True
        self._soon.append(data)
        return True

    def _flush(self) -> None:
        soon = self._soon
        if not soon:
            return
        self._soon = []
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(soon[0] if len(soon) == 1 else b"".join(soon))

    def parse(self) -> None:
        """Parse every complete packet in the buffer (PUBLISH in one tight loop)."""
        buf = self.buffer
        n = len(buf)
        pos = 0
        owner = self.owner
        queue = owner._queue
        room = owner._queue_max - len(queue)
        now = time.time()
        received = 0
        append = queue.append
        message = InboundMessage
        while n - pos >= 2 and room > 0:
            first = buf[pos]
            i = pos + 1
            length = buf[i] & 0x7F
            if buf[i] & 0x80:  # remaining length over 127 bytes: a multi-byte varint
                shift, length = 7, length
                while True:
                    i += 1
                    if i >= n:
                        break
                    length |= (buf[i] & 0x7F) << shift
                    if not buf[i] & 0x80:
                        break
                    shift += 7
                if i >= n:
                    break
            start = i + 1
            end = start + length
            if end > n:
                break
            kind = first >> 4
            if kind == _PUBLISH:
                t_end = start + 2 + ((buf[start] << 8) | buf[start + 1])
                qos = (first >> 1) & 3
                if qos:
                    mid = (buf[t_end] << 8) | buf[t_end + 1]
                    p = t_end + 2
                else:
                    mid, p = 0, t_end
                if buf[p]:  # properties present: skip them (varint length)
                    plen, shift = 0, 0
                    while True:
                        plen |= (buf[p] & 0x7F) << shift
                        p += 1
                        if not buf[p - 1] & 0x80:
                            break
                        shift += 7
                    p += plen
                else:
                    p += 1
                try:
                    topic = buf[start + 2:t_end].decode()
                except UnicodeDecodeError:
                    owner._count("bad_topic", 1)
                    if qos:
                        self.write(b"\x40\x02" + mid.to_bytes(2, "big"))  # unusable: do not have it again
                else:
                    append(message(topic, buf[p:end], qos, bool(first & 1), mid, now))
                    received += 1
                    room -= 1
            else:
                self.control(kind, buf[start:end])
            pos = end
        self.buffer = buf[pos:] if pos < n else b""
        if received:
            owner._received(received)
        if room <= 0 and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
            owner._count("backpressure", 1)

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self.parse()
            if not self.paused and not self.held and self.transport is not None:
                self.transport.resume_reading()

    def hold(self) -> None:
        """Stop reading for a moment (while a batch lingers): what arrives meanwhile waits in
        the socket and comes in one read, instead of one wake-up per message or two."""
        if not self.held and not self.paused and self.transport is not None:
            self.held = True
            self.transport.pause_reading()

    def release(self) -> None:
        """Read again after :meth:`hold`."""
        if self.held:
            self.held = False
            if not self.paused and self.transport is not None:
                self.transport.resume_reading()

    def control(self, kind: int, body: bytes) -> None:
        if kind == _PUBACK:
            self.owner._acked((body[0] << 8) | body[1])
        elif kind == _CONNACK:
            ok = len(body) >= 2 and body[1] < 0x80
            if not ok:
                logger.error("broker refused the %s connection: reason 0x%02x", self.name, body[1] if body else 0)
            if not self.connack.done():
                self.connack.set_result(ok)
        elif kind == _SUBACK:
            plen_at = 2
            plen = body[plen_at] if len(body) > plen_at else 0
            for code in body[plen_at + 1 + plen:]:
                if code >= 0x80:
                    logger.error("a subscription was refused: reason 0x%02x", code)
        elif kind == _DISCONNECT:
            logger.warning("broker disconnected the %s connection: reason 0x%02x", self.name, body[0] if body else 0)


__all__ = ["Connection", "Owner", "connect_packet", "packet", "publish_packet", "string", "varint"]

"""The QoS 1 load of ``bench/scale.py``'s partitioned rows: the reference fridges, paced.

``../shared/bench/loadgen.py`` reads its broker's PUBACKs only twice a second, so at QoS 1
its publisher stalls on paho's window of 20 unacknowledged messages (measured: 8 of 300
msg/s arrived). This publisher sends the same payloads (``home/h<n>/fridge-<n>/telemetry``,
10 % with milk under 0.5 l, the publish time as ``ts``) at QoS 1 from a paho client whose
network thread takes the acknowledgements, 1,000 in flight. Latency is measured by the
scale bench's offer sink (first arrival of each trigger's offer minus its ``ts``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

PAYLOAD = ('{"device":"fridge-%d","household":"h%d","items":{"milk":{"qty":%.2f,"unit":"l"},'
           '"eggs":{"qty":%d,"unit":"pcs"},"butter":{"qty":%.2f,"unit":"kg"}},'
           '"door_open":false,"temp_c":%.1f,"ts":%.6f,"seq":%d}')


def drive(port: int, *, rate: float, seconds: float, households: int, warmup: float = 1.0,
          trigger_frac: float = 0.1, at: tuple[float, Callable[[], None]] | None = None) -> dict[str, Any]:
    """Publish for ``warmup + seconds`` at ``rate`` msg/s; ``at=(s, fn)`` calls ``fn`` ``s`` seconds
    into the measurement. Returns what loadgen's JSON has: sent, sent_per_s, expected (triggers
    in the window), t_meas_start."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"scale-load-{os.getpid()}")
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    t0 = time.time()
    t_meas, t_end = t0 + warmup, t0 + warmup + seconds
    n = sent = triggers = 0
    acc = 0.0
    pending_call = at
    try:
        while True:
            now = time.time()
            if now >= t_end:
                break
            if pending_call is not None and now >= t_meas + pending_call[0]:
                pending_call[1]()
                pending_call = None
            due = int((now - t0) * rate) - n
            if due <= 0:
                time.sleep(min(t0 + (n + 1) / rate - now, 0.005))  # pacing
                continue
            for _ in range(min(due, 200)):
                h = n % households
                acc += trigger_frac
                hit = acc >= 1.0
                if hit:
                    acc -= 1.0
                milk = 0.05 + (n % 40) * 0.01 if hit else 0.6 + (n % 140) * 0.01
                ts = time.time()
                c.publish(f"home/h{h}/fridge-{h}/telemetry",
                          PAYLOAD % (h, h, milk, n % 12, 0.25, 3.5 + (n % 10) * 0.1, ts, n), qos=1)
                n += 1
                if ts >= t_meas:
                    sent += 1
                    triggers += hit
        deadline = time.monotonic() + 60
        while c.want_write() and time.monotonic() < deadline:
            time.sleep(0.05)  # the network thread is still writing
    finally:
        c.loop_stop()
        c.disconnect()
    return {"sent": sent, "sent_per_s": sent / seconds, "expected": triggers, "t_meas_start": t_meas}

"""InfluxDB line protocol for history samples, readable by InfluxDB 1.x and 2.x alike.

One line per sample: the metric is the measurement; ``household``, ``device`` and (when
present) ``channel`` are tags, in sorted key order as InfluxDB recommends; the value is
one float field ``value`` (booleans already 0/1, so a metric never changes field type);
the timestamp is in nanoseconds, rounded to the microsecond.

Escaping follows the line protocol reference: commas and spaces in measurements, commas,
equals signs and spaces in tag values. A backslash is kept literally, which InfluxDB 1.x
stores as is. Names that cannot be written unambiguously are refused (``encode`` returns
None) rather than mangled: a line break anywhere, a backslash before a character that
needs escaping or at the end of a name, an empty tag value, or a measurement starting
with ``#`` (a comment line).
"""

from __future__ import annotations

from hub.telemetry.series import Sample

_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ "})
_TAG = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_FORBIDDEN = ("\n", "\r", "\\,", "\\=", "\\ ")


def _clean(text: str) -> bool:
    """True when ``text`` can be escaped without ambiguity."""
    return bool(text) and not text.endswith("\\") and not any(f in text for f in _FORBIDDEN)


def encode(sample: Sample) -> str | None:
    """One line of line protocol for a sample, or None when it cannot be represented."""
    household, device, metric, channel, ts, value = sample
    if not (_clean(metric) and _clean(household) and _clean(device)) or metric[0] == "#":
        return None
    if channel and not _clean(channel):
        return None
    tags = (
        f",channel={channel.translate(_TAG)}" if channel else ""
    ) + f",device={device.translate(_TAG)},household={household.translate(_TAG)}"
    nanos = round(ts * 1_000_000) * 1000
    return f"{metric.translate(_MEASUREMENT)}{tags} value={float(value)!r} {nanos}"


def encode_batch(batch: list[Sample]) -> tuple[str, int]:
    """The lines of a batch joined by newlines, and how many samples were refused."""
    lines = []
    refused = 0
    for sample in batch:
        line = encode(sample)
        if line is None:
            refused += 1
        else:
            lines.append(line)
    return "\n".join(lines), refused

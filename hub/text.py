"""The hub's rule for text from outside: no control characters but newline and tab.

A carriage return is allowed only as part of CRLF (browsers send textarea lines so). The
input guard (:mod:`hub.api.guard`) enforces it on every JSON and form body; the OpenAPI
document publishes it as :data:`TEXT_PATTERN`; a field that also must not be blank uses
:data:`NONBLANK_TEXT_PATTERN`.
"""

from __future__ import annotations

import re

#: What a text field may not hold: C0 controls but tab and newline (CR only before LF), DEL, C1.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")
_ALLOWED = r"(?:[^\x00-\x08\x0b-\x1f\x7f-\x9f]|\r\n)"
#: The same rule as a JSON Schema pattern (for request strings of the API description).
TEXT_PATTERN = rf"^{_ALLOWED}*$"
#: The rule plus at least one character that is not white space (for stripped, required text).
NONBLANK_TEXT_PATTERN = rf"^{_ALLOWED}*[^\s\x00-\x1f\x7f-\x9f]{_ALLOWED}*$"


def control_in(value: str) -> str | None:
    """The first forbidden control character of ``value`` as ``U+XXXX``, or None."""
    found = CONTROL.search(value)
    return None if found is None else f"U+{ord(found.group()[0]):04X}"

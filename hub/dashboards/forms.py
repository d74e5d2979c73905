"""Reading the dashboards' HTML forms (``application/x-www-form-urlencoded``), bounded.

The forms are small and never upload files, so the body is read here with a size limit
and parsed with the standard library (no multipart parser needed). Every field is checked
against its own length limit; a refusal says which field and why.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import HTTPException, Request

MAX_BODY = 64 * 1024


class Form:
    """The fields of one posted form."""

    def __init__(self, fields: dict[str, str]) -> None:
        self._fields = fields

    def has(self, name: str) -> bool:
        """Whether the form carries the field (a checkbox left unticked is not sent)."""
        return name in self._fields

    def get(self, name: str, *, max_length: int = 200, required: bool = False, default: str = "") -> str:
        """A field's value (stripped of nothing), checked against ``max_length``.

        Raises:
            HTTPException: 422 when a required field is missing or a value is too long.
        """
        value = self._fields.get(name)
        if value is None or (required and not value.strip()):
            if required:
                raise HTTPException(422, f"{name} is required")
            return default
        if len(value) > max_length:
            raise HTTPException(422, f"{name} is longer than {max_length} characters")
        return value


async def read_form(request: Request) -> Form:
    """The posted form; 413 above :data:`MAX_BODY`, 415 for another content type."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise HTTPException(415, "post the form as application/x-www-form-urlencoded")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(413, f"form above {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPException(413, f"form above {MAX_BODY} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(422, "the form is not UTF-8") from None
    try:
        parsed = parse_qs(text, keep_blank_values=True, max_num_fields=50)
    except ValueError:
        raise HTTPException(422, "too many form fields") from None
    return Form({k: v[0] for k, v in parsed.items()})

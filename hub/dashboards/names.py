"""What people call each other: display names of households, providers and communities.

The store and the domain speak ids (``h-ana``, ``fresh-grocer``); a page shows the name
people chose (``Ana``, ``Fresh Grocer``). Only the admin view shows ids beside names,
because an operator needs them. One :class:`Names` lives for one rendered page and asks
the store once per id.
"""

from __future__ import annotations

from typing import Any

#: Actor prefixes (``household:h-ana``) that name whose the id is.
_PREFIXES = ("household:", "provider:", "admin:")


class Names:
    """Display names for one page: ``names("h-ana") == "Ana"``; unknown ids as they are."""

    def __init__(self, db: Any) -> None:
        self._db = db
        self._known: dict[str, str] = {}

    def __call__(self, ident: Any) -> str:
        if ident is None:
            return ""
        text = str(ident)
        if not text:
            return ""
        found = self._known.get(text)
        if found is None:
            found = self._look_up(text)
            self._known[text] = found
        return found

    def _look_up(self, text: str) -> str:
        bare = text
        for prefix in _PREFIXES:
            if text.startswith(prefix):
                bare = text[len(prefix):]
                break
        if self._db is None or len(bare) > 200:
            return bare
        for table in ("households", "providers", "communities"):
            row = self._db.query_one(f"SELECT name FROM {table} WHERE id = ?", (bare,))
            if row is not None and row["name"]:
                return str(row["name"])
        return bare


def household_ids(db: Any, community: str | None, typed: list[str]) -> list[str]:
    """What a person typed to name households (``Ben, h-chen``) as household ids.

    An id of the community stays; otherwise a name that exactly one household of the
    community has (case aside) becomes its id; anything else stays as typed, so that the
    domain refuses it with its own sentence (no such household).
    """
    out = []
    for text in typed:
        if db is None or not community:
            out.append(text)
            continue
        if db.query_one("SELECT id FROM households WHERE id = ? AND community = ?", (text, community)):
            out.append(text)
            continue
        rows = db.query("SELECT id FROM households WHERE community = ? AND LOWER(name) = LOWER(?)",
                        (community, text))
        out.append(str(rows[0]["id"]) if len(rows) == 1 else text)
    return out

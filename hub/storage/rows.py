"""Child rows of a page of parents, fetched in one query and grouped by their parent.

A page of gatherings shows each one's members, a page of rides each one's riders: asking
once per parent would cost one query a row of the page. :func:`children_of` asks once, with
the page's keys in an ``IN`` list, and hands back each parent's rows in the query's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def children_of(conn: Any, select: str, parent: str, keys: Sequence[str], *, order: str
                ) -> dict[str, list[Any]]:
    """``{key: [row, ...]}`` for the rows of ``select`` whose ``parent`` column is in ``keys``.

    Runs ``{select} WHERE {parent} IN (?, ...) ORDER BY {order}`` once (nothing when
    ``keys`` is empty); ``select`` must return the ``parent`` column. ``select``, ``parent``
    and ``order`` are the caller's own SQL text, never outside input; the keys are bound as
    parameters. A parent with no rows has no entry.
    """
    out: dict[str, list[Any]] = {}
    if not keys:
        return out
    marks = ", ".join("?" for _ in keys)
    for row in conn.execute(f"{select} WHERE {parent} IN ({marks}) ORDER BY {order}", list(keys)):
        out.setdefault(row[parent], []).append(row)
    return out

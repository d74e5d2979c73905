"""Reading a set of pack files for a (re)load: what the engine installs, and what failed.

A pack file that fails validation keeps its previous version (or stays out); two files
may not use the same pack name.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.errors import RuleError
from hub.rules.compiler import CompiledRule, compile_pack
from hub.rules.loader import LoadedPack, PackInvalid, load_pack, pack_files

logger = logging.getLogger(__name__)

PackSet = dict[str, tuple[LoadedPack, list[CompiledRule]]]
"""Compiled packs by file path."""


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """What a reload did.

    Attributes:
        packs: names of the packs now loaded.
        added, changed, removed, unchanged: qualified rule ids (``pack/id``).
        errors: validation errors; a pack with errors kept its previous version.
    """

    packs: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    errors: tuple[RuleError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def marshal(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "packs": list(self.packs),
            "added": list(self.added),
            "changed": list(self.changed),
            "removed": list(self.removed),
            "unchanged": list(self.unchanged),
            "errors": [str(e) for e in self.errors],
        }


def read_packs(paths: Sequence[str], previous: PackSet) -> tuple[PackSet, list[RuleError]]:
    """Load and compile every pack under ``paths``; keep ``previous`` versions of bad ones."""
    errors: list[RuleError] = []
    fresh: PackSet = {}
    names: dict[str, str] = {}
    for root in paths:
        if not Path(root).exists():
            errors.append(RuleError("no such file or folder", file=root))
            continue
        for f in pack_files(root):
            key = str(f)
            try:
                loaded = load_pack(f)
                entry = (loaded, compile_pack(loaded))
            except PackInvalid as exc:
                errors.extend(exc.errors)
                if key in previous:
                    fresh[key] = previous[key]
                    names[previous[key][0].name] = key
                continue
            except Exception as exc:  # a compile failure the model did not catch
                logger.exception("rule pack %s failed to compile", key)
                errors.append(RuleError(f"compile error: {exc}", file=key))
                if key in previous:
                    fresh[key] = previous[key]
                continue
            if loaded.name in names and names[loaded.name] != key:
                errors.append(
                    RuleError(
                        f"pack name {loaded.name!r} already used by {names[loaded.name]}",
                        file=key,
                        line=1,
                    )
                )
                continue
            names[loaded.name] = key
            fresh[key] = entry
    return fresh, errors

"""Write the German and Chinese catalogues from the template (``messages.pot``) and the
translations in ``scripts/i18n_translations.py``; existing translations in a ``.po`` win.

Run by ``make i18n-update``. A message with no translation stays empty, and the catalogue
test (tests/i18n) fails until someone translates it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "hub" / "i18n" / "locales"
sys.path.insert(0, str(ROOT / "scripts"))
from i18n_translations import PLURALS, TEXTS  # noqa: E402

COLUMN = {"de": 0, "zh": 1}


def _translation(message_id: str | tuple[str, str], old: dict[object, object], col: int) -> object:
    kept = old.get(message_id)
    if kept and (all(kept) if isinstance(kept, tuple) else kept):
        return kept
    if isinstance(message_id, tuple):
        return PLURALS.get(message_id[0], ((), ()))[col] or ()
    return TEXTS.get(message_id, ("", ""))[col]


def main() -> None:
    with open(LOCALES / "messages.pot", "rb") as f:
        template = read_po(f)
    for lang, col in COLUMN.items():
        po_path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
        old: dict[object, object] = {}
        if po_path.exists():
            with open(po_path, "rb") as f:
                old = {m.id: m.string for m in read_po(f, locale=lang) if m.id}
        # fuzzy=False: a fuzzy catalogue would not compile.
        catalog = Catalog(locale=lang, project="community hub", version="1", fuzzy=False)
        for message in template:
            if message.id:
                catalog.add(message.id, _translation(message.id, old, col), flags=message.flags)
        po_path.parent.mkdir(parents=True, exist_ok=True)
        with open(po_path, "wb") as f:
            write_po(f, catalog, sort_output=True, width=100)


if __name__ == "__main__":
    main()

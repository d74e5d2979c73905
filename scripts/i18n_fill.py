"""Write the German and Chinese catalogues from the template (``messages.pot``) and the
translations in ``scripts/i18n_translations.py``; existing translations in a ``.po`` win.

Run by ``make i18n-update``. A message with no translation stays empty, and the catalogue
test (tests/i18n) fails until someone translates it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "hub" / "i18n" / "locales"
sys.path.insert(0, str(ROOT / "scripts"))
from i18n_translations import PLURALS, TEXTS  # noqa: E402

COLUMN = {"de": 0, "zh": 1}


def main() -> None:
    for lang, col in COLUMN.items():
        po_path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
        old = {}
        if po_path.exists():
            with open(po_path, "rb") as f:
                old = {m.id: m.string for m in read_po(f, locale=lang) if m.id}
        with open(LOCALES / "messages.pot", "rb") as f:
            catalog = read_po(f, locale=lang)
        catalog.fuzzy = False  # a fuzzy catalogue would not compile
        catalog.project, catalog.version = "community hub", "1"
        for message in catalog:
            if not message.id:
                continue
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            kept = old.get(message.id)
            if kept and (all(kept) if isinstance(kept, tuple) else kept):
                message.string = kept
            elif isinstance(message.id, tuple) and key in PLURALS:
                message.string = PLURALS[key][col]
            elif key in TEXTS:
                message.string = TEXTS[key][col]
        po_path.parent.mkdir(parents=True, exist_ok=True)
        with open(po_path, "wb") as f:
            write_po(f, catalog, omit_header=False, sort_output=True, width=100)


if __name__ == "__main__":
    main()

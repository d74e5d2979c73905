"""The README's settings table, generated from :class:`hub.config.Settings`.

``python -m hub.settings_doc`` prints it; a test checks that the README holds it as printed.
"""

from __future__ import annotations

from pydantic import SecretStr

from hub.config import REPO_ROOT, Settings


def settings_table() -> str:
    """A Markdown table: variable, default, meaning."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, SecretStr):
            shown = "(unset)" if not default.get_secret_value() else "(set)"
        elif default is None or default == []:
            shown = "(unset)"
        else:
            shown = str(default).replace(str(REPO_ROOT) + "/", "")
        rows.append(f"| `HUB_{name.upper()}` | `{shown}` | {field.description or ''} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())

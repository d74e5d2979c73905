"""Accessibility checks for the dashboards' browser tests: axe-core (WCAG 2.2 A and AA).

``axe-playwright-python`` injects its pinned axe-core into the page and runs it with the
WCAG 2.0/2.1/2.2 A and AA rules; any violation fails the test with what and where.
"""

from __future__ import annotations

from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
_AXE = Axe()


async def violations(page: Page) -> list[dict[str, Any]]:
    """The WCAG 2.2 AA violations axe-core finds on the page as it is now."""
    results = await _AXE.run(page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA},
                                            "resultTypes": ["violations"]})
    return list(results.response["violations"])


def describe(found: list[dict[str, Any]]) -> str:
    """One line per violation and node: rule, impact, selector, axe's summary."""
    lines = []
    for v in found:
        for node in v["nodes"]:
            lines.append(f"{v['id']} ({v['impact']}): {' '.join(node['target'])}: "
                         f"{node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)


async def assert_accessible(page: Page, where: str) -> None:
    """Fail with axe-core's findings unless the page has no WCAG 2.2 AA violation."""
    found = await violations(page)
    assert not found, f"axe-core on {where} ({page.url}):\n{describe(found)}"

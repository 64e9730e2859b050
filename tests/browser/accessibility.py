"""axe-core in the browser: inject it into the page Playwright shows and list what it finds."""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from pathlib import Path

from playwright.sync_api import Page

AXE = Path(__file__).parent / "axe" / "axe.min.js"
# The digest sri-history.json in the npm package records for axe.min.js 4.14.1.
AXE_SHA256 = "KTSJmUUM3yhJqOcLeRL8LahahJ2jnA0NU5T1HUqe2Vw="
BLOCKING = ("serious", "critical")
# The WCAG 2.x A and AA rules and axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@cache
def axe_source() -> str:
    data = AXE.read_bytes()
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert digest == AXE_SHA256, f"{AXE} is not axe-core 4.14.1 as published"
    return data.decode()


def axe_violations(page: Page) -> list[dict]:
    """axe's serious and critical violations on the page as it is now. Playwright evaluates the
    script through the DevTools protocol, which the page's Content-Security-Policy does not govern."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS,
    )
    return [v for v in results["violations"] if v["impact"] in BLOCKING]


def axe_report(where: str, violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{where}: {violation['impact']} {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node['failureSummary'].splitlines()[1].strip()}")
    return "\n".join(lines)

"""axe-core in a Playwright page: run it, keep the serious and critical violations, say them.

Imported by the browser tests (``from tests.e2e.axe_check import ...``). axe.min.js comes
from the axe-playwright-python wheel: nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

FAILING_IMPACTS = ("serious", "critical")


@dataclass(frozen=True)
class Violation:
    page: str          # what the test calls the page (its endpoint, or a step of a flow)
    url: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]
    summary: str       # axe's own words on the first element, what to fix

    def describe(self) -> str:
        where = ", ".join(self.targets[:5]) + (" …" if len(self.targets) > 5 else "")
        return (f"{self.page} ({self.url}): [{self.impact}] {self.rule}: {self.help}\n"
                f"    on {where}\n    {self.summary}")


def serious_violations(page: Page, name: str, exclude: tuple[str, ...] = ()) -> list[Violation]:
    """axe-core on what ``page`` shows now: its serious and critical violations.

    ``exclude``: CSS selectors of parts another test answers for (say why where it is used).
    """
    from axe_playwright_python.sync_playwright import Axe

    context = {"exclude": [[selector] for selector in exclude]} if exclude else None
    results: dict[str, Any] = Axe().run(page, context=context).response
    found = []
    for violation in results["violations"]:
        if violation.get("impact") not in FAILING_IMPACTS:
            continue
        nodes = violation.get("nodes", [])
        # A target inside a shadow root is a list: host first, then the element within.
        targets = tuple(" ".join(" >>> ".join(part) if isinstance(part, list) else str(part)
                                 for part in node.get("target", [])) for node in nodes)
        summary = (nodes[0].get("failureSummary") or "").replace("\n", " ") if nodes else ""
        found.append(Violation(name, page.url, violation["id"], violation["impact"],
                               violation["help"], targets, summary))
    return found


def report(violations: list[Violation]) -> str:
    return (f"{len(violations)} serious or critical accessibility violation(s):\n"
            + "\n".join(v.describe() for v in violations))

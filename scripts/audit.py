"""Audit the locked dependencies (constraints.txt) for known vulnerabilities.

Runs pip-audit (pinned in scripts/audit-constraints.txt) over every ``name==version`` pin
without installing anything, against PyPI's vulnerability data. Exit 1 when a pin has a
known vulnerability with a fixed release (bump the pin); a vulnerability without any fix
is printed but does not fail the check (nothing to bump to).

Where pip-audit's per-release look-up is not served (some mirrors serve only the project
pages of PyPI's JSON API), the script falls back to the project page, whose
``vulnerabilities`` list covers the latest release: a pin equal to the latest release is
audited exactly that way; an older pin cannot be audited there and is named as such.

Usage: python scripts/audit.py constraints.txt
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path


def project_page_url() -> str:
    """The JSON API's project page, built from the index that pip-audit itself queries."""
    from pip_audit._dependency_source.interface import PYPI_URL  # ".../simple/"

    return PYPI_URL.rstrip("/").removesuffix("/simple") + "/pypi/{name}/json"


def pins(path: Path) -> dict[str, str]:
    """``{name: version}`` of every exact pin in a constraints file."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            out[name.strip().lower().replace("_", "-")] = version.strip()
    return out


def run_pip_audit(constraints: Path) -> dict[str, dict]:
    """pip-audit's JSON verdict per dependency name."""
    done = subprocess.run(
        [sys.executable, "-m", "pip_audit", "-r", str(constraints), "--no-deps", "--disable-pip",
         "--format", "json", "--progress-spinner", "off"],
        capture_output=True, text=True, check=False,
    )
    if not done.stdout.strip():
        sys.exit(f"audit: pip-audit gave no answer (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    report = json.loads(done.stdout)
    return {d["name"].lower().replace("_", "-"): d for d in report["dependencies"]}


def project_page(name: str) -> dict | None:
    try:
        with urllib.request.urlopen(project_page_url().format(name=name), timeout=60) as answer:
            return json.load(answer)
    except (urllib.error.URLError, TimeoutError, ValueError):
        return None


def main(argv: list[str]) -> int:
    constraints = Path(argv[1] if len(argv) > 1 else "constraints.txt")
    locked = pins(constraints)
    verdicts = run_pip_audit(constraints)
    fixable, unfixed, unaudited, by_page = [], [], [], 0
    for name, version in sorted(locked.items()):
        verdict = verdicts.get(name, {"skip_reason": "not in pip-audit's report"})
        vulns = verdict.get("vulns")
        if vulns is None:  # skipped by pip-audit: try the project page (latest release only)
            page = project_page(name)
            if page is None:
                unaudited.append(f"{name}=={version}: {verdict.get('skip_reason')}; PyPI unreachable")
                continue
            latest = page["info"]["version"]
            if latest != version:
                unaudited.append(f"{name}=={version}: no per-release data here (latest is {latest})")
                continue
            by_page += 1
            listed = page.get("vulnerabilities") or []
            vulns = [{"id": v["id"], "fix_versions": v.get("fixed_in") or []} for v in listed]
        for vuln in vulns:
            line = f"{name}=={version}: {vuln['id']} (fixed in {', '.join(vuln['fix_versions']) or 'no release'})"
            (fixable if vuln["fix_versions"] else unfixed).append(line)
    for line in unfixed:
        print(f"audit: known vulnerability, no fix released yet: {line}")
    for line in unaudited:
        print(f"audit: NOT AUDITED {line}", file=sys.stderr)
    for line in fixable:
        print(f"audit: VULNERABLE, bump the pin: {line}", file=sys.stderr)
    audited = len(locked) - len(unaudited)
    print(f"audit: {audited} of {len(locked)} pins audited ({by_page} through PyPI's project pages), "
          f"{len(fixable)} fixable vulnerabilities, {len(unfixed)} without a fix, {len(unaudited)} not audited")
    return 1 if fixable else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

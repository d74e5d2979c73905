"""scripts/audit.py's verdicts (make audit): which findings fail the check.

The real audit runs pip-audit against PyPI (``make audit``); here its answers are given, so
that each rule is pinned: a vulnerability with a fixed release fails, one without a fix is
reported only, and a pin nobody could audit is named, never passed silently as clean.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit.py"


def load_audit() -> Any:
    spec = importlib.util.spec_from_file_location("audit_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def constraints(tmp_path: Path) -> Path:
    path = tmp_path / "constraints.txt"
    path.write_text("alpha==1.0\nBeta_Pkg==2.0  # a comment\n# gamma==3.0\ndelta==4.0\n")
    return path


def test_a_vulnerability_with_a_fix_fails_and_one_without_does_not(
        constraints: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    audit = load_audit()
    assert audit.pins(constraints) == {"alpha": "1.0", "beta-pkg": "2.0", "delta": "4.0"}
    report = {"alpha": {"vulns": [{"id": "GHSA-fixed", "fix_versions": ["1.1"]}]},
              "beta-pkg": {"vulns": [{"id": "GHSA-open", "fix_versions": []}]},
              "delta": {"vulns": []}}
    monkeypatch.setattr(audit, "run_pip_audit", lambda _c: report)
    assert audit.main(["audit.py", str(constraints)]) == 1
    out = capsys.readouterr()
    assert "VULNERABLE, bump the pin: alpha==1.0: GHSA-fixed (fixed in 1.1)" in out.err
    assert "no fix released yet: beta-pkg==2.0: GHSA-open" in out.out

    report["alpha"] = {"vulns": []}
    assert audit.main(["audit.py", str(constraints)]) == 0


def test_pins_pip_audit_skipped_fall_back_to_the_project_page_or_are_named(
        constraints: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    audit = load_audit()
    skipped = {"skip_reason": "Dependency not found on PyPI and could not be audited"}
    monkeypatch.setattr(audit, "run_pip_audit", lambda _c: {"alpha": skipped, "beta-pkg": skipped, "delta": skipped})
    pages = {"alpha": {"info": {"version": "1.0"},
                       "vulnerabilities": [{"id": "PYSEC-1", "fixed_in": ["1.0.1"]}]},
             "beta-pkg": {"info": {"version": "2.5"}, "vulnerabilities": []},
             "delta": None}
    monkeypatch.setattr(audit, "project_page", lambda name: pages[name])
    assert audit.main(["audit.py", str(constraints)]) == 1  # alpha is the latest release and is vulnerable
    out = capsys.readouterr()
    assert "alpha==1.0: PYSEC-1 (fixed in 1.0.1)" in out.err
    assert "NOT AUDITED beta-pkg==2.0: no per-release data here (latest is 2.5)" in out.err
    assert "NOT AUDITED delta==4.0" in out.err
    assert "1 of 3 pins audited" in out.out

"""The words of each kind of notification, in the reader's language and zone."""

from __future__ import annotations

from hub.i18n.locale import Reader
from hub.notify.compose import message

BASE = "http://hub.test"


def test_loan_timebank_project_and_notice_words() -> None:
    en, de = Reader("en", "Europe/Berlin"), Reader("de", "Europe/Berlin")
    loan = {"type": "loan-overdue", "title": "Drill", "start": "2026-11-28T09:00:00Z", "end": "2026-11-28T17:00:00Z"}
    assert message(en, "loan", loan, base_url=BASE, link=None).title == "Overdue: Drill was due back Sat 18:00"
    assert message(de, "loan", loan, base_url=BASE, link=None).title == (
        "Überfällig: Drill sollte Sa., 18:00 zurück sein")
    hours = {"type": "timebank-transfer-recorded", "hours": 1.5}
    assert message(en, "timebank", hours, base_url=BASE, link=None).title == "1.5 h recorded for you: please confirm"
    project = message(en, "project", {"type": "project-met", "title": "Solar"}, base_url=BASE, link=None)
    assert (project.title, project.url) == ("Project funded: Solar", f"{BASE}/ui/projects")
    notice = message(en, "notice", {"headline": "Gas off", "onset": "2026-11-28T10:00:00Z",
                                    "expires": "2026-11-28T20:00:00Z", "instruction": "Cook early."},
                     base_url=BASE, link=None)
    assert notice.title == "Gas off"
    assert notice.body.splitlines()[1] == "Cook early."

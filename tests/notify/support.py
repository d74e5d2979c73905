"""A notifier on a real store with real peers: the SMTP server and the push endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.clock import FakeClock
from hub.config import Settings
from hub.identity import Identity
from hub.notify import ActionLinks, Notifier
from hub.notify.email import Mailer
from hub.notify.push import Push
from hub.storage.database import Database
from hub.storage.outbox import Outbox
from tests.notify.peers import MailServer, PushEndpoint
from tests.stores import open_db

#: Saturday 28 November 2026, 07:00 UTC (08:00 in Berlin).
SATURDAY = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
BASE = "http://hub.test"


@dataclass
class Rig:
    db: Database
    clock: FakeClock
    outbox: Outbox
    notifier: Notifier
    mail: MailServer
    push: PushEndpoint
    ana: str  # Ana's account id

    def tell(self, topic: str, payload: dict[str, Any]) -> None:
        """A household message committed through the outbox (as every service sends one)."""
        with self.db.transaction() as conn:
            self.outbox.add(conn, topic, payload)

    def suggestion(self, sid: str = "sug-1", **extra: Any) -> None:
        self.tell(f"home/h-ana/hub/suggestions/{sid}", suggestion_payload(sid, **extra))

    def notice(self, nid: str, severity: str) -> None:
        self.tell(f"home/h-ana/hub/notices/{nid}", {
            "id": nid, "status": "Actual", "severity": severity, "headline": f"{severity} notice {nid}",
            "instruction": "Stay safe.", "onset": "2026-11-28T10:00:00+00:00",
            "expires": "2026-11-29T20:00:00+00:00", "language": "en-GB", "event": "Gas", "area": {}})

    def deliveries(self, state: str | None = None) -> list[Any]:
        return self.notifier.queue.of_account(self.ana, state)


def suggestion_payload(sid: str, *, expires: str = "2026-11-28T19:00:00Z", **extra: Any) -> dict[str, Any]:
    return {"type": "suggestion", "id": sid, "kind": "grocery", "state": "proposed",
            "title": "Groceries running low: milk, eggs. Delivery?",
            "message": "milk 0.2 l, eggs 0 pcs. Pick a delivery slot from a grocer you trust.",
            "data": {"kind": "grocery", "items": [{"name": "milk", "qty": 0.2, "unit": "l"},
                                                   {"name": "eggs", "qty": 0, "unit": "pcs"}],
                     "slots": [{"slot": "fresh-grocer@2026-11-28T18:00:00Z", "free": 5}],
                     "temp_c": 23.456},
            "expires_at": expires, **extra}


def build_rig(tmp_path: Path, mail: MailServer, push: PushEndpoint, *, max_attempts: int = 3,
              time_zone: str = "Europe/Berlin") -> Rig:
    db = open_db(tmp_path / "hub.sqlite3")
    clock = FakeClock(SATURDAY)
    identity = Identity(db, None, clock, "s" * 32)
    identity.create_household("h-ana", "riverside", "Ana", "Elm Street 12", password="ana-password-1")
    db.execute("UPDATE communities SET time_zone = ? WHERE id = ?", (time_zone, "riverside"))
    row = db.query_one("SELECT id FROM accounts WHERE household = ? AND role = 'household'", ("h-ana",))
    assert row is not None
    settings = Settings(data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=mail.port,
                        smtp_from="Riverside hub <hub@riverside.example>", smtp_starttls=False)
    outbox = Outbox(db)
    notifier = Notifier(db, clock, links=ActionLinks(db, clock), push=Push(db, clock.timestamp,
                        subject="mailto:hub@riverside.example"), mailer=Mailer(settings, timeout_s=10),
                        base_url=lambda: BASE, max_attempts=max_attempts, first_retry_s=30.0)
    outbox.tap("home/", notifier.tap)
    return Rig(db, clock, outbox, notifier, mail, push, str(row["id"]))


def opt_in(rig: Rig, **prefs: Any) -> None:
    """Ana chooses email and push for everything (plus ``prefs``), and subscribes her phone."""
    from hub.notify.prefs import check

    body = {"email": "ana@example.org", "channels": ["email", "push"],
            "kinds": ["suggestion", "notice", "loan", "timebank", "project"]} | prefs
    rig.notifier.prefs.update(rig.ana, "h-ana", check(body))
    rig.notifier.push.subscribe(rig.ana, rig.push.subscription())

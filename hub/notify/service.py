"""The notifier: from a household's MQTT message to each of its people's email and phone.

1. :meth:`Notifier.tap` sees the outbox's ``home/`` messages in their transaction
   (:mod:`hub.notify.events` picks the events) and queues a delivery per person, channel and
   target (:mod:`hub.notify.queue`), with one one-tap link per person and event, shared by
   the email and the push (the first tap acts, every later one answers 410).
2. :meth:`Notifier.run` (a task of the hub) wakes after each such commit and every few
   seconds, and works off what is due on a worker thread: SMTP and push calls block.
3. :meth:`Notifier.run_digests` sends each digest reader their day in one email.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hub.clock import Clock
from hub.i18n.locale import Reader, zone
from hub.notify import compose
from hub.notify.email import Email, Mailer, SendFailed
from hub.notify.events import Event, classify
from hub.notify.links import ActionLinks
from hub.notify.prefs import Prefs, PrefsStore
from hub.notify.push import Push, SubscriptionGone
from hub.notify.queue import Delivery, DeliveryQueue
from hub.storage.database import Database

logger = logging.getLogger(__name__)

#: How often due deliveries and digests are looked for without a wake-up.
TICK_S = 5.0


class Notifier:
    """Queues and sends the notifications (see the module docstring).

    Args:
        db: the hub's store.
        clock: the hub's clock (quiet hours, backoff, digests run on it).
        links: the one-tap action links.
        push: Web Push keys, subscriptions and sending.
        mailer: the SMTP sender, or None when no ``HUB_SMTP_HOST`` is set.
        base_url: the address people reach the hub at (links in messages).
        max_attempts, first_retry_s: the retry policy (``HUB_NOTIFY_*``).
    """

    def __init__(self, db: Database, clock: Clock, *, links: ActionLinks, push: Push, mailer: Mailer | None,
                 base_url: Callable[[], str], max_attempts: int = 8, first_retry_s: float = 30.0) -> None:
        self._db = db
        self._clock = clock
        self.links = links
        self.push = push
        self.mailer = mailer
        self._base_url = base_url
        self.prefs = PrefsStore(db, clock.timestamp)
        self.queue = DeliveryQueue(db, max_attempts=max_attempts, first_retry_s=first_retry_s)
        self._wake: Callable[[], None] | None = None
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._unsub_key: bytes | None = None

    # -- queueing (inside the event's transaction) ------------------------------------

    def tap(self, conn: Any, topic: str, payload: dict[str, Any] | bytes, _message_id: str) -> None:
        """The outbox tap: queue the notifications a household message means."""
        event = classify(topic, payload)
        if event is None:
            return
        try:
            with_savepoint(conn, lambda: self._enqueue(conn, event))
        except Exception:
            # The household's own change must not fail for a notification: say so loudly.
            logger.exception("notification of %s for %s not queued", event.key, event.household)

    def _enqueue(self, conn: Any, event: Event) -> None:
        now = self._clock.now()
        tz = self._time_zone(conn, event.household)
        written = 0
        for person in self.prefs.of_household(conn, event.household):
            if not person.wants(event.kind, event.severity):
                continue
            link = None
            if event.link is not None:
                ttl = 48 * 3600.0 if event.stale_at is None else event.stale_at - now.timestamp()
                if ttl > 0:
                    link = self.links.issue(event.household, event.link[0], event.link[1], ttl_s=ttl)
            written += self.queue.enqueue(conn, person, event, now=now, time_zone=tz,
                                          subscriptions=self.push.subscription_ids(conn, person.account), link=link)
        if written:
            self._db.after_commit(self.kick)

    @staticmethod
    def _time_zone(conn: Any, household: str) -> str | None:
        row = conn.execute("SELECT c.time_zone FROM households h JOIN communities c ON c.id = h.community"
                           " WHERE h.id = ?", (household,)).fetchone()
        return str(row[0]) if row else None

    # -- sending -------------------------------------------------------------------------

    def kick(self) -> None:
        """Wake the sending task (any thread)."""
        wake = self._wake
        if wake is not None:
            wake()

    async def run(self) -> None:
        """Send what is due, after each wake-up and every :data:`TICK_S`, until cancelled."""
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()

        def wake() -> None:
            loop.call_soon_threadsafe(woken.set)
        self._wake = wake
        try:
            while True:
                try:
                    await asyncio.to_thread(self.work)
                except Exception:
                    logger.exception("notification delivery failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), TICK_S)
                woken.clear()
        finally:
            self._wake = None

    def work(self) -> int:
        """Queue due digests, then send every due delivery; return how many were settled."""
        with self._busy_lock:
            self._busy += 1
        try:
            self.run_digests()
            done = 0
            while True:
                batch = self.queue.claim_due(self._clock.timestamp())
                if not batch:
                    return done
                for delivery in batch:
                    self.deliver(delivery)
                    done += 1
        finally:
            with self._busy_lock:
                self._busy -= 1

    def idle(self) -> bool:
        """Nothing being sent and nothing due (tests wait on this)."""
        return self._busy == 0 and self.queue.idle(self._clock.timestamp())

    def deliver(self, d: Delivery) -> str:
        """Try one delivery; return its new state."""
        now = self._clock.timestamp()
        if d.kind != "digest" and self.queue.stale(d, now):
            self.queue.drop(d, "its event was over before it could be sent")
            return "dropped"
        try:
            if d.channel == "push":
                self._send_push(d)
            else:
                self._send_email(d)
        except SubscriptionGone as exc:
            self.push.remove(d.target)
            self.queue.drop(d, f"subscription removed: {exc}")
            logger.info("push subscription %s of %s removed: %s", d.target, d.account, exc)
            return "dropped"
        except SendFailed as exc:
            state = self.queue.failed(d, exc.reason, now, permanent=exc.permanent)
            log = logger.error if state == "dead" else logger.warning
            log("notification %s (%s) failed, %s: %s", d.id, d.channel,
                "dead letter" if state == "dead" else "will retry", exc.reason)
            return state
        self.queue.sent(d, now)
        return "sent"

    def reader_of(self, account: str, household: str) -> Reader:
        """The person's language (their setting, else their household's) and the community's zone."""
        person = self.prefs.get(account)
        row = self._db.query_one(
            "SELECT h.language, c.time_zone FROM households h LEFT JOIN communities c ON c.id = h.community"
            " WHERE h.id = ?", (household,))
        language = (person.language if person else None) or (row["language"] if row else None) or "en"
        return Reader(language.split("-")[0], (row["time_zone"] if row else None) or "UTC")

    def _message(self, d: Delivery, reader: Reader) -> compose.Message:
        return compose.message(reader, d.kind, d.data, base_url=self._base_url(), link=d.link)

    def _send_push(self, d: Delivery) -> None:
        sub = self.push.get(d.target)
        if sub is None:
            raise SubscriptionGone("the subscription was removed")
        reader = self.reader_of(d.account, d.household)
        m = self._message(d, reader)
        self.push.send(sub, {"title": m.title, "body": m.body, "url": m.url, "lang": reader.html_lang,
                             "tag": d.event, "action": m.action})

    def _send_email(self, d: Delivery) -> None:
        if self.mailer is None:
            raise SendFailed("no mail server is configured (HUB_SMTP_HOST)", permanent=True)
        reader = self.reader_of(d.account, d.household)
        if d.kind == "digest":
            items = [compose.message(reader, i["kind"], i["data"], base_url=self._base_url(), link=i.get("link"))
                     for i in d.data.get("items", [])]
            subject = compose.digest_title(reader, len(items))
        else:
            items = [self._message(d, reader)]
            subject = items[0].title
        base = self._base_url()
        unsubscribe = f"{base}/ui/unsubscribe/{self.unsubscribe_token(d.account)}"
        text, html = compose.email_text(reader, items, unsubscribe_url=unsubscribe,
                                        prefs_url=f"{base}/ui/notifications")
        self.mailer.send(Email(to=d.target, subject=subject, text=text, html=html, language=reader.html_lang,
                               unsubscribe_url=unsubscribe))

    # -- digests -------------------------------------------------------------------------

    def run_digests(self) -> int:
        """Queue one digest email for each reader whose digest time has come today."""
        now = self._clock.now()
        queued = 0
        rows = self._db.query(
            "SELECT p.account, p.household, p.email, p.digest_at, p.last_digest, c.time_zone FROM notify_prefs p"
            " JOIN households h ON h.id = p.household LEFT JOIN communities c ON c.id = h.community"
            " WHERE p.digest = 1 AND EXISTS (SELECT 1 FROM notify_deliveries d WHERE d.account = p.account"
            " AND d.state = 'digest')")
        for r in rows:
            local = now.astimezone(zone(r["time_zone"]))
            if local.strftime("%H:%M") < r["digest_at"] or r["last_digest"] == local.date().isoformat():
                continue
            queued += self._queue_digest(r["account"], r["household"], local)
        return queued

    def _queue_digest(self, account: str, household: str, local: datetime) -> int:
        items = self.queue.digest_items(account)
        person = self.prefs.get(account)
        if not items or person is None:
            return 0
        day = local.date().isoformat()
        with self._db.transaction() as conn:
            conn.execute("UPDATE notify_prefs SET last_digest = ? WHERE account = ?", (day, account))
            conn.executemany("UPDATE notify_deliveries SET state = 'digested' WHERE id = ? AND state = 'digest'",
                             [(i.id,) for i in items])
            if person.email_on():
                event = Event(household, "digest", f"digest:{day}",
                              data={"items": [{"kind": i.kind, "data": i.data, "link": i.link} for i in items]})
                self.queue.enqueue(conn, Prefs(account=account, household=household, email=person.email,
                                               channels=("email",), kinds=()), event,
                                   now=self._clock.now(), time_zone=None, subscriptions=[], link=None)
        return 1

    # -- unsubscribe -----------------------------------------------------------------------

    def _unsubscribe_key(self) -> bytes:
        if self._unsub_key is None:
            self._db.execute(
                "INSERT INTO notify_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                ("unsubscribe", secrets.token_urlsafe(32), self._clock.timestamp()))
            row = self._db.query_one("SELECT value FROM notify_secrets WHERE name = ?", ("unsubscribe",))
            assert row is not None
            self._unsub_key = str(row["value"]).encode()
        return self._unsub_key

    def unsubscribe_token(self, account: str) -> str:
        """The person's unsubscribe token: their account, signed (it never expires)."""
        mac = hmac.new(self._unsubscribe_key(), f"unsubscribe\x1f{account}".encode(), hashlib.sha256).digest()
        ident = base64.urlsafe_b64encode(account.encode()).rstrip(b"=").decode()
        return f"{ident}.{base64.urlsafe_b64encode(mac[:18]).decode()}"

    def account_of(self, token: str) -> str | None:
        """The account an unsubscribe token names, or None for a forged one."""
        ident, _, _mac = (token or "")[:400].partition(".")
        try:
            account = base64.urlsafe_b64decode(ident + "=" * (-len(ident) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return account if account and hmac.compare_digest(self.unsubscribe_token(account), token) else None


def with_savepoint(conn: Any, work: Callable[[], None]) -> None:
    """Run ``work`` in a savepoint of the open transaction: its failure undoes only its rows."""
    conn.execute("SAVEPOINT notify")
    try:
        work()
    except BaseException:
        conn.execute("ROLLBACK TO notify")
        conn.execute("RELEASE notify")
        raise
    conn.execute("RELEASE notify")

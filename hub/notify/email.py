"""Email over SMTP (the standard library's :mod:`smtplib`), with STARTTLS and a login.

Each message has the RFC 8058 one-click unsubscribe headers (``List-Unsubscribe`` with an
HTTPS link, ``List-Unsubscribe-Post``) and the same link in its footer. A refusal of the
recipient (a 5xx answer) is permanent; anything else (a 4xx, a dropped connection) is
tried again later. :meth:`Mailer.probe` checks the settings at start.
"""

from __future__ import annotations

import email.policy
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from hub.config import Settings

#: Long header lines are kept whole (a folded List-Unsubscribe URL would be RFC 2047-encoded).
_POLICY = email.policy.SMTP.clone(max_line_length=998)


class SendFailed(Exception):
    """A try failed; ``permanent`` says not to try again."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Email:
    """One email ready to send."""

    to: str
    subject: str
    text: str
    html: str
    language: str
    unsubscribe_url: str


class Mailer:
    """Sends emails through ``HUB_SMTP_HOST``."""

    def __init__(self, settings: Settings, *, timeout_s: float = 20.0) -> None:
        if not settings.smtp_host or not settings.smtp_from:
            raise ValueError("a mailer needs HUB_SMTP_HOST and HUB_SMTP_FROM")
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.sender = settings.smtp_from
        self._user = settings.smtp_user
        self._password = settings.smtp_password.get_secret_value()
        self._starttls = settings.smtp_starttls
        self._timeout = timeout_s

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self._timeout)
        try:
            smtp.ehlo()
            if self._starttls:
                if not smtp.has_extn("starttls"):
                    raise SendFailed(f"the SMTP server {self.where} offers no STARTTLS "
                                     "(set HUB_SMTP_STARTTLS=false only for a server on loopback)", permanent=True)
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self._user:
                smtp.login(self._user, self._password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def probe(self) -> None:
        """Connect, greet, upgrade and log in as configured; raise :class:`SendFailed` saying why."""
        try:
            smtp = self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            raise SendFailed(f"the SMTP server {self.where} refused the login of HUB_SMTP_USER: "
                             f"{exc.smtp_code} {_text(exc.smtp_error)}", permanent=True) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(f"cannot reach the SMTP server {self.where} (HUB_SMTP_HOST, HUB_SMTP_PORT): "
                             f"{exc}") from exc
        with smtp:
            smtp.noop()

    def build(self, email: Email) -> EmailMessage:
        """The MIME message: text and HTML alternatives, unsubscribe headers."""
        msg = EmailMessage(policy=_POLICY)
        msg["From"] = self.sender
        msg["To"] = email.to
        msg["Subject"] = email.subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=parseaddr(self.sender)[1].rpartition("@")[2] or None)
        msg["Auto-Submitted"] = "auto-generated"
        msg["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(email.text)
        msg.add_alternative(email.html, subtype="html")
        msg["Content-Language"] = email.language  # after the body: set_content drops Content-* headers
        return msg

    def send(self, email: Email) -> None:
        """Send one email; :class:`SendFailed` on failure (``permanent`` for a 5xx refusal)."""
        msg = self.build(email)
        try:
            with self._connect() as smtp:
                smtp.send_message(msg, from_addr=parseaddr(self.sender)[1], to_addrs=[email.to])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise SendFailed(f"{self.where} refused {email.to}: {code} {_text(text)}", permanent=code >= 500) from exc
        except smtplib.SMTPResponseException as exc:
            # A refused login or message may be fixed by the admin: tried again, then dead.
            raise SendFailed(f"{self.where} answered {exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except SendFailed:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(f"cannot reach {self.where}: {exc}") from exc


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

"""Reaching people outside the dashboard: email and Web Push notifications.

One-tap action links (:mod:`hub.notify.links`), preferences (:mod:`hub.notify.prefs`), the
events worth telling (:mod:`hub.notify.events`), the delivery queue (:mod:`hub.notify.queue`),
the words (:mod:`hub.notify.compose`), the channels (:mod:`hub.notify.email`,
:mod:`hub.notify.push`) and the notifier that ties them (:mod:`hub.notify.service`).
"""

from hub.notify.links import ActionLinks, LinkRefused
from hub.notify.service import Notifier

__all__ = ["ActionLinks", "LinkRefused", "Notifier"]

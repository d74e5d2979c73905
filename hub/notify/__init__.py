"""Reaching people outside the dashboard. So far: one-tap action links (:mod:`hub.notify.links`)
that emails and pushes will carry."""

from hub.notify.links import ActionLinks, LinkRefused

__all__ = ["ActionLinks", "LinkRefused"]

"""The web dashboards: household, provider, community and admin views, served by the hub.

Wiring (the lead, in ``hub/wiring.py``)::

    from hub.dashboards import router as dashboards_router
    hub.add_router(dashboards_router)

Templates and assets live in ``dashboards/`` at the repository root; all data goes through
:mod:`hub.dashboards.data`, the one adapter to the rest of the hub.
"""

from fastapi import APIRouter, Depends

from hub.dashboards import (
    actions,
    link_pages,
    links,
    notify_pages,
    pages,
    session,
    sharing,
    static,
    stream,
    webapp,
)

# Every state-changing request of the dashboards must come from the hub's own pages.
router = APIRouter(include_in_schema=False, dependencies=[Depends(session.same_origin)])
router.include_router(pages.router)
router.include_router(actions.router)
router.include_router(link_pages.router)
router.include_router(sharing.router)
router.include_router(stream.router)
router.include_router(static.router)
router.include_router(webapp.router)
router.include_router(links.router)
router.include_router(notify_pages.router)

__all__ = ["router"]

"""Dashboard pages of the time bank, pooled projects and the open ledger.

``/ui/timebank`` (balance, transfers to confirm, statement, skills), ``/ui/projects``
(progress bars to each threshold, pledge and propose forms) and ``/ui/community/ledger``
(the totals and chain head any member can compare). Forms are POST-redirect-GET with the
dashboards' CSRF token, like :mod:`hub.dashboards.actions`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.dashboards import localtime, session
from hub.dashboards.forms import Form, read_form
from hub.dashboards.names import Names
from hub.dashboards.render import page
from hub.errors import HubError
from hub.i18n.words import N_, ngettext, said
from hub.ledger.skills import CATEGORIES
from hub.ledger.verify import alerts, verify_store

router = APIRouter(include_in_schema=False)


def _hub(request: Request) -> Any:
    return request.app.state.hub


def _community(hub: Any, p: Any) -> str:
    if p.community:
        return str(p.community)
    row = hub.db.query_one("SELECT community FROM households WHERE id = ?", (p.household,))
    return str(row[0]) if row else ""


def _actor(p: Any) -> str:
    return f"{p.role}:{p.account_id}"


async def _posted(request: Request, *roles: str) -> tuple[Form, Any] | Response:
    form = await read_form(request)
    refusal = session.csrf_refusal(request, form.get("csrf", max_length=64))
    if refusal is not None:
        return refusal
    p = session.gate(request, *roles)
    if isinstance(p, Response):
        return p
    return form, p


def _run(request: Request, back: str, action: Callable[[], str]) -> Response:
    response = RedirectResponse(back, status_code=303)
    try:
        session.flash(response, request, action(), ok=True)
    except HubError as exc:  # the domain's own sentence: limit, not pending, closed, ...
        session.flash(response, request, said(exc), ok=False)
    return response


# -- time bank ------------------------------------------------------------------------

@router.get("/ui/timebank", response_class=HTMLResponse)
async def timebank_view(request: Request) -> Response:
    """My balance, transfers waiting for me, my statement, the community's skills."""
    p = session.gate(request, "household")
    if isinstance(p, Response):
        return p
    hub = _hub(request)
    tb, skills = hub.components["timebank"], hub.components["timebank_skills"]
    community = _community(hub, p)
    neighbours = [dict(r) for r in hub.db.query(
        "SELECT id, name FROM households WHERE community = ? AND id <> ? ORDER BY name",
        (community, p.household))]
    transfers = tb.transfers(p.household)
    return page(request, "timebank.html", viewer=p, active="timebank",
                balance=tb.balance(p.household), statement=tb.statement(p.household)[::-1],
                to_confirm=[t for t in transfers if t["status"] == "pending"
                            and t["to"] == p.household],
                recorded=[t for t in transfers if t["status"] == "pending"
                          and t["payer"] == p.household],
                neighbours=neighbours, skills=skills.list(community), categories=CATEGORIES)


@router.post("/ui/timebank/transfers")
async def record_transfer(request: Request) -> Response:
    got = await _posted(request, "household")
    if isinstance(got, Response):
        return got
    form, p = got
    tb = _hub(request).components["timebank"]
    to = form.get("to", max_length=160, required=True)
    hours = form.get("hours", max_length=20, required=True)
    note = form.get("note", max_length=500)

    def act() -> str:
        t = tb.record(p.household, to, hours, note, _actor(p))
        name = Names(_hub(request).db)(to)
        return N_("Recorded %(hours)s h to %(who)s: waiting for %(who)s to confirm.", hours=f"{t['hours']:g}", who=name)
    return _run(request, "/ui/timebank", act)


@router.post("/ui/timebank/transfers/{tid}/{verb}")
async def decide_transfer(request: Request, tid: str, verb: str) -> Response:
    got = await _posted(request, "household")
    if isinstance(got, Response):
        return got
    _, p = got
    tb = _hub(request).components["timebank"]
    actions = {"confirm": tb.confirm, "decline": tb.decline}
    if verb not in actions:
        return session.refused(request, N_("No such action."), viewer=p, status_code=404)

    def act() -> str:
        t = actions[verb](p.household, tid[:160], _actor(p))
        args = {"hours": f"{t['hours']:g}", "who": Names(_hub(request).db)(t["payer"])}
        if t["status"] == "confirmed":
            return N_("Transfer of %(hours)s h from %(who)s: confirmed.", **args)
        if t["status"] == "declined":
            return N_("Transfer of %(hours)s h from %(who)s: declined.", **args)
        return N_("Transfer of %(hours)s h from %(who)s: %(status)s.", status=t["status"], **args)
    return _run(request, "/ui/timebank", act)


@router.post("/ui/timebank/skills")
async def add_skill(request: Request) -> Response:
    got = await _posted(request, "household")
    if isinstance(got, Response):
        return got
    form, p = got
    hub = _hub(request)
    skills = hub.components["timebank_skills"]
    fields = {k: form.get(k, max_length=m) for k, m in
              (("side", 10), ("category", 40), ("title", 200), ("description", 2000))}

    def act() -> str:
        s = skills.add(p.household, _community(hub, p), actor=_actor(p), **fields)
        found = len(s["matches"])
        return ngettext("Listed “%(title)s”: %(num)d match found.", "Listed “%(title)s”: %(num)d matches found.",
                        found, title=s["title"])
    return _run(request, "/ui/timebank", act)


@router.post("/ui/timebank/settings")
async def settings(request: Request) -> Response:
    got = await _posted(request, "admin")
    if isinstance(got, Response):
        return got
    form, p = got
    hub = _hub(request)
    limit = form.get("credit_limit", max_length=20, required=True)
    grant = form.get("welcome_grant", max_length=20, default="0")

    def act() -> str:
        s = hub.components["timebank"].set_settings(_community(hub, p), credit_limit=limit,
                                                    welcome_grant=grant or "0")
        return N_("Credit limit %(limit)s h, welcome grant %(grant)s h for new accounts.",
                  limit=f"{s['credit_limit']:g}", grant=f"{s['welcome_grant']:g}")
    return _run(request, "/ui/community/ledger", act)


# -- projects -------------------------------------------------------------------------

@router.get("/ui/projects", response_class=HTMLResponse)
async def projects_view(request: Request) -> Response:
    """The community's pooled projects with their progress to the threshold."""
    p = session.gate(request, "household", "admin", "provider")
    if isinstance(p, Response):
        return p
    hub = _hub(request)
    community = _community(hub, p)
    return page(request, "projects.html", viewer=p, active="projects",
                projects=hub.components["projects"].of_community(community, p.household))


@router.post("/ui/projects")
async def propose(request: Request) -> Response:
    got = await _posted(request, "household", "admin", "provider")
    if isinstance(got, Response):
        return got
    form, p = got
    hub = _hub(request)
    kind, who = (("household", p.household) if p.role == "household" else
                 ("provider", p.provider) if p.role == "provider" else ("community", p.account_id))
    title = form.get("title", max_length=200)
    goal = form.get("goal_pledges", max_length=6)
    deadline = form.get("deadline", max_length=40)
    provider = form.get("provider", max_length=160) or None
    options = [o for o in form.get("options", max_length=1200).split(",") if o.strip()]

    def act() -> str:
        if not goal.isdigit():
            from hub.offers.problems import Unprocessable

            raise Unprocessable(N_("pledges needed must be a whole number"))
        # A datetime-local value is the community's local time, as the page says.
        try:
            when = localtime.read_local(deadline, localtime.community_zone(hub.db, _community(hub, p))).isoformat()
        except ValueError:
            from hub.offers.problems import Unprocessable

            raise Unprocessable(N_("%(field)s: not a date and time (%(value)s)", field="deadline",
                                   value=deadline[:40])) from None
        made = hub.components["projects"].propose(
            _community(hub, p), proposer_kind=kind, proposer=who, title=title,
            goal_pledges=int(goal), deadline=when, description=form.get("description", max_length=4000),
            options=options, provider=provider, actor=_actor(p))
        return ngettext("Proposed “%(title)s”: %(num)d pledge needed.", "Proposed “%(title)s”: %(num)d pledges needed.",
                        int(made["goal_pledges"]), title=made["title"])
    return _run(request, "/ui/projects", act)


@router.post("/ui/projects/{pid}/pledge")
async def pledge(request: Request, pid: str) -> Response:
    got = await _posted(request, "household")
    if isinstance(got, Response):
        return got
    form, p = got
    hub = _hub(request)
    amount = form.get("amount", max_length=20, default="1") or "1"
    option = form.get("option", max_length=120) or None

    def act() -> str:
        done = hub.components["projects"].pledge(p.household, _community(hub, p), pid[:160],
                                                 amount=amount, option=option, actor=_actor(p))
        return N_("Pledged to “%(title)s”: %(pledges)s of %(goal)s.", title=done["title"], pledges=done["pledges"],
                  goal=done["goal_pledges"])
    return _run(request, "/ui/projects", act)


@router.post("/ui/projects/{pid}/bid")
async def bid(request: Request, pid: str) -> Response:
    got = await _posted(request, "provider")
    if isinstance(got, Response):
        return got
    form, p = got
    hub = _hub(request)
    price = form.get("price", max_length=20, required=True)
    note = form.get("note", max_length=1000)

    def act() -> str:
        done = hub.components["projects"].bid(p.provider, _community(hub, p), pid[:160],
                                              price=price, note=note, actor=_actor(p))
        return ngettext("Bid %(price)s on “%(title)s”: %(num)d bid so far.",
                        "Bid %(price)s on “%(title)s”: %(num)d bids so far.",
                        len(done["bids"]), price=price, title=done["title"])
    return _run(request, "/ui/projects", act)


# -- the open ledger ------------------------------------------------------------------

@router.get("/ui/community/ledger", response_class=HTMLResponse)
async def ledger_view(request: Request) -> Response:
    """Totals and chain heads any member can compare with ``hub ledger verify``."""
    p = session.gate(request, "household", "admin")
    if isinstance(p, Response):
        return p
    hub = _hub(request)
    community = _community(hub, p)
    report = verify_store(hub.db)
    return page(request, "ledger.html", viewer=p, active="ledger",
                totals=hub.components["timebank"].totals(community), report=report,
                settings=hub.components["timebank"].settings(community),
                broken=report.first_break(),
                alerts=alerts(hub.db) if p.role == "admin" else [])

"""The sharing pages: the community library, My things, Borrowed and lent, Requests.

Server-rendered like the other views; every write is a form POST (CSRF-checked) that goes
to :class:`hub.sharing.SharingService` and comes back with a one-time message. Photos are
uploaded by a small script (``sharing.js``) as the raw image body, and shown through
:func:`photo`, which checks the session like every page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hub.dashboards import data, localtime, session
from hub.dashboards.forms import Form, read_form
from hub.dashboards.render import page, reader_for
from hub.errors import HubError
from hub.i18n.words import N_, ngettext, said
from hub.sharing.things import CATEGORIES, MODES, NewThing, Terms

router = APIRouter(include_in_schema=False)
#: The dashboard's photo upload route, for the app's body-size limit.
UPLOAD_PATH = r"/ui/sharing/things/[^/]+/photos"


def _sharing(request: Request) -> Any:
    return getattr(request.app.state.hub, "sharing", None)


def _viewer(request: Request) -> data.PrincipalLike | Response:
    p = session.gate(request, data.HOUSEHOLD)
    if isinstance(p, Response):
        return p
    if _sharing(request) is None:
        return session.refused(request, N_("Sharing is not available on this hub."), viewer=p,
                               status_code=503)
    return p


def _actor(p: data.PrincipalLike) -> str:
    return f"household:{p.account_id}"


def _when(text: str, name: str, zone: tzinfo) -> datetime:
    """A ``datetime-local`` field (the community's local time, as the pages say) as an
    aware datetime."""
    try:
        return localtime.read_local(text, zone)
    except ValueError:
        raise HubError(N_("%(field)s: give a date and time", field=name)) from None


def _zone(request: Request, household: str) -> tzinfo:
    """The time zone of the household's community (what its datetime-local fields mean)."""
    db = request.app.state.hub.db
    row = db.query_one("SELECT community FROM households WHERE id = ?", (household,))
    return localtime.community_zone(db, row["community"] if row is not None else None)


def _flash_run(request: Request, back: str, action: Callable[[], str]) -> Response:
    """Do ``action`` and go back with its sentence (a domain error's own, when refused)."""
    response = RedirectResponse(back, status_code=303)
    try:
        session.flash(response, request, action(), ok=True)
    except HubError as exc:  # NotFound, Conflict, Unprocessable: their own sentence
        session.flash(response, request, said(exc), ok=False)
    return response


#: What a form post does: (form, household, sharing service, actor) → the sentence shown.
Action = Callable[[Form, str, Any, str], str]


async def _form_action(request: Request, back: str, act: Action) -> Response:
    """Every form post of these pages: the CSRF token and the household session checked,
    then ``act`` run in the thread pool (it writes: the event loop must not wait for the
    write lock), then back to ``back`` with its sentence, or the error's."""
    form = await read_form(request)
    refusal = session.csrf_refusal(request, form.get("csrf", max_length=64))
    if refusal is not None:
        return refusal
    p = _viewer(request)
    if isinstance(p, Response):
        return p
    h, s, a = p.household, _sharing(request), _actor(p)
    assert h
    return await run_in_threadpool(_flash_run, request, back, lambda: act(form, h, s, a))


# -- pages ------------------------------------------------------------------------------------

@router.get("/ui/library", response_class=HTMLResponse)
async def library(request: Request, q: str = "", category: str = "", mode: str = "") -> Response:
    """The community library: what neighbours lend, give and swap, with photos."""
    p = _viewer(request)
    if isinstance(p, Response):
        return p
    q, category, mode = q[:200], category if category in CATEGORIES else "", \
        mode if mode in MODES else ""
    s = _sharing(request)
    assert p.household
    things = s.things.search(p.household, q=q, category=category or None, mode=mode or None,
                             limit=100).items
    return page(request, "library.html", viewer=p, active="library", things=things, q=q,
                category=category, mode=mode, categories=CATEGORIES, modes=MODES,
                wanted=s.wanted.list_open(p.household))


@router.get("/ui/things", response_class=HTMLResponse)
async def my_things(request: Request) -> Response:
    """My things: what I list, its photos, its state; a form to list another."""
    p = _viewer(request)
    if isinstance(p, Response):
        return p
    assert p.household
    s = _sharing(request)
    things = s.things.search(p.household, mine=True, include_withdrawn=True, limit=100).items
    return page(request, "things.html", viewer=p, active="things", things=things,
                categories=CATEGORIES, modes=MODES, head_script="/ui/static/sharing.js")


@router.get("/ui/loans", response_class=HTMLResponse)
async def loans(request: Request) -> Response:
    """Borrowed and lent: every loan of mine with what I can do next."""
    p = _viewer(request)
    if isinstance(p, Response):
        return p
    assert p.household
    s = _sharing(request)
    borrowed = s.loans.page(p.household, role="borrower", limit=100).items
    lent = s.loans.page(p.household, role="owner", limit=100).items
    return page(request, "loans.html", viewer=p, active="loans",
                borrowed=[x for x in borrowed if x["status"] != "requested"],
                lent=[x for x in lent if x["status"] != "requested"],
                asked=[x for x in borrowed if x["status"] == "requested"])


@router.get("/ui/requests", response_class=HTMLResponse)
async def requests(request: Request) -> Response:
    """Requests to me (loans, swaps, give-away claims) and my wanted posts."""
    p = _viewer(request)
    if isinstance(p, Response):
        return p
    h = p.household
    assert h
    s = _sharing(request)
    incoming = s.loans.page(h, role="owner", status="requested", limit=100).items
    swaps = [x for x in s.swaps.list(h) if x["status"] == "proposed"]
    giveaways = [s.giveaways.claims(h, t["id"]) for t in s.things.search(
        h, mine=True, mode="give", limit=100).items]
    wanted = [w for w in s.wanted.list_open(h) if w["mine"]]
    return page(request, "requests.html", viewer=p, active="requests", incoming=incoming,
                swaps=swaps, giveaways=[g for g in giveaways if g["claims"]], wanted=wanted,
                categories=CATEGORIES)


@router.get("/ui/photos/{tid}/{pid}")
async def photo(request: Request, tid: str, pid: str) -> Response:
    """A photo of a thing of my community (session-checked, never a static file)."""
    p = _viewer(request)
    if isinstance(p, Response):
        return p
    assert p.household
    try:
        body, media_type = _sharing(request).photos.read(p.household, tid[:160], pid[:160])
    except HubError:
        return Response("no such photo", status_code=404, media_type="text/plain")
    return Response(body, media_type=media_type, headers={
        "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})


# -- actions ----------------------------------------------------------------------------------

@router.post("/ui/sharing/things")
async def list_thing(request: Request) -> Response:
    def act(form: Form, h: str, s: Any, a: str) -> str:
        max_days = form.get("max_days", max_length=3)
        new = NewThing(
            title=form.get("title", max_length=120), category=form.get("category", max_length=40,
                                                                       default="other"),
            description=form.get("description", max_length=2000),
            mode=form.get("mode", max_length=10, default="lend"),
            pickup_place=form.get("pickup_place", max_length=200),
            terms=Terms(deposit=form.get("deposit", max_length=500),
                        max_days=int(max_days) if max_days.isdigit() and int(max_days) > 0
                        else None),
            device=form.get("device", max_length=160) or None,
            suggestion=form.get("suggestion", max_length=160) or None)
        if new.category not in CATEGORIES:
            raise HubError(N_("category must be one of %(categories)s", categories=", ".join(CATEGORIES)))
        thing = s.create_thing(h, new, a)
        return N_("Listed %(title)s.", title=thing["title"])

    return await _form_action(request, "/ui/things", act)


@router.post("/ui/sharing/things/{tid}/withdraw")
async def withdraw(request: Request, tid: str) -> Response:
    return await _form_action(request, "/ui/things", lambda _form, h, s, a: (
        N_("%(title)s is off the library.", title=s.things.withdraw(h, tid[:160], a)["title"])))


@router.post("/ui/sharing/things/{tid}/photos")
async def upload_photo(request: Request, tid: str) -> Response:
    """The raw image as the body, the CSRF token in ``X-CSRF-Token`` (sharing.js)."""
    refusal = session.csrf_refusal(request, None)
    if refusal is not None:
        return refusal
    p = _viewer(request)
    if isinstance(p, Response):
        return p
    assert p.household
    body = await request.body()
    try:
        got = await run_in_threadpool(_sharing(request).photos.add, p.household, tid[:160],
                                      body, _actor(p))
    except HubError as exc:
        # sharing.js shows this sentence beside the photo field: in the reader's language.
        return JSONResponse({"detail": reader_for(request, p).say(said(exc))},
                            status_code=getattr(exc, "status", 422))
    return JSONResponse(got, status_code=201)


@router.post("/ui/sharing/things/{tid}/borrow")
async def borrow(request: Request, tid: str) -> Response:
    def act(form: Form, h: str, s: Any, a: str) -> str:
        zone = _zone(request, h)
        start = _when(form.get("start", max_length=30, required=True), "start", zone)
        end = _when(form.get("end", max_length=30, required=True), "end", zone)
        loan = s.loans.request(h, tid[:160], start, end,
                               message=form.get("message", max_length=500), actor=a)
        return N_("Asked %(who)s for %(title)s.", who=loan["owner_name"], title=loan["thing"]["title"])

    return await _form_action(request, "/ui/loans", act)


@router.post("/ui/sharing/things/{tid}/claim")
async def claim(request: Request, tid: str) -> Response:
    def act(_form: Form, h: str, s: Any, a: str) -> str:
        result = s.giveaways.claim(h, tid[:160], a)
        if result["you"] == "won":
            return N_("%(title)s is yours: pick it up in time.", title=result["title"])
        return N_("You are in line for %(title)s.", title=result["title"])

    return await _form_action(request, "/ui/library", act)


_LOAN_VERBS = ("accept", "decline", "cancel", "handover", "return", "rate", "problem")


@router.post("/ui/sharing/loans/{lid}/{verb}")
async def loan_action(request: Request, lid: str, verb: str) -> Response:
    lid = lid[:160]
    back = "/ui/requests" if verb in ("accept", "decline") else "/ui/loans"

    def act(form: Form, h: str, s: Any, a: str) -> str:
        if verb not in _LOAN_VERBS:
            raise HubError(N_("unknown action %(verb)s", verb=verb[:20]))
        if verb == "accept":
            loan = s.loans.accept(h, lid, a)
            return N_("Lending %(title)s to %(who)s.", title=loan["thing"]["title"], who=loan["borrower_name"])
        if verb == "decline":
            declined = s.loans.decline(h, lid, form.get("reason", max_length=500), a)
            return N_("Declined: %(title)s.", title=declined["thing"]["title"])
        if verb == "cancel":
            cancelled = s.loans.cancel(h, lid, form.get("reason", max_length=500), a)
            return N_("Cancelled: %(title)s.", title=cancelled["thing"]["title"])
        if verb == "handover":
            loan = s.loans.handover(h, lid, a)
            return N_("Handover confirmed. It is out.") if loan["status"] == "out" else N_("Handover confirmed.")
        if verb == "return":
            loan = s.loans.return_(h, lid, form.get("condition_note", max_length=500), a)
            return N_("Return confirmed. Done.") if loan["status"] == "returned" else N_("Return confirmed.")
        if verb == "problem":
            text = form.get("text", max_length=500).strip()
            if not text:
                raise HubError(N_("say what the problem is"))
            s.loans.report_problem(h, lid, text, a)
            return N_("Problem reported; the other side is told.")
        stars = form.get("stars", max_length=1)
        if stars not in {"1", "2", "3", "4", "5"}:
            raise HubError(N_("stars: 1 to 5"))
        s.loans.rate(h, lid, int(stars), form.get("comment", max_length=500), a)
        return N_("Thanks for rating.")

    return await _form_action(request, back, act)


@router.post("/ui/sharing/wanted")
async def post_wanted(request: Request) -> Response:
    def act(form: Form, h: str, s: Any, a: str) -> str:
        start_text = form.get("start", max_length=30)
        end_text = form.get("end", max_length=30)
        post = s.wanted.post(
            h, form.get("text", max_length=200), category=None,
            start=_when(start_text, "start", _zone(request, h)) if start_text else None,
            end=_when(end_text, "end", _zone(request, h)) if end_text else None, expires_at=None, actor=a)
        return ngettext("Posted. %(num)d match found; its owner is told.",
                        "Posted. %(num)d matches found; their owners are told.", len(post["matches"] or []))

    return await _form_action(request, "/ui/requests", act)


@router.post("/ui/sharing/swaps/{sid}/{verb}")
async def swap_action(request: Request, sid: str, verb: str) -> Response:
    def act(_form: Form, h: str, s: Any, a: str) -> str:
        if verb == "accept":
            return N_("Swapped %(title)s.", title=s.swaps.accept(h, sid[:160], a)["thing"]["title"])
        if verb == "close":
            status = s.swaps.close(h, sid[:160], a)["status"]
            return N_("Swap declined.") if status == "declined" else N_("Swap withdrawn.")
        raise HubError(N_("unknown action %(verb)s", verb=verb[:20]))

    return await _form_action(request, "/ui/requests", act)


@router.post("/ui/sharing/things/{tid}/given")
async def given(request: Request, tid: str) -> Response:
    return await _form_action(request, "/ui/requests", lambda _form, h, s, a: (
        f"{s.giveaways.handed_over(h, tid[:160], a)['title']} is given."))

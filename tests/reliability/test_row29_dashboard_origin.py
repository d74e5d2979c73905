"""RELIABILITY row 29: cross-site posts to the dashboards start no session and change nothing.

A page of another origin (a second HTTP server on loopback, another port: another origin)
posts the login form to the hub in Chromium: no session cookie. With a logged-in household,
a foreign ``Origin`` (or, without one, ``Referer``) on a state-changing form post is refused
even with the right CSRF token: the consent stays. From the hub's own origin both work. The
session cookie is ``Secure`` when ``HUB_PUBLIC_URL`` is https.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser

from hub.dashboards.session import csrf_for
from tests.conftest import Broker
from tests.reliability.conftest import ANA, ANA_PASSWORD, GROCER, Live, live

FOREIGN = "https://evil.example"


@pytest.fixture
def evil_site(live_hub: Live) -> Iterator[str]:
    """Another origin whose page posts the hub's login form with the owner's password
    (a login CSRF: the attacker logs the victim's browser into the attacker's account)."""
    form = (f'<html><body><form id="f" method="post" action="{live_hub.url}/ui/login">'
            f'<input name="username" value="{ANA}"><input name="password" value="{ANA_PASSWORD}">'
            '</form><script>document.getElementById("f").submit()</script></body></html>').encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(form)))
            self.end_headers()
            self.wfile.write(form)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def test_row29_cross_site_login_in_a_browser_starts_no_session(
        live_hub: Live, evil_site: str, browser: Browser) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    async with page.expect_response(f"{live_hub.url}/ui/login") as answer:
        await page.goto(evil_site)
    response = await answer.value
    assert response.status == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert await context.cookies(live_hub.url) == []
    # The same form on the hub's own page logs in.
    own = await context.new_page()
    await own.goto(f"{live_hub.url}/ui/login")
    await own.get_by_label("Username").fill(ANA)
    await own.get_by_label("Password").fill(ANA_PASSWORD)
    async with own.expect_navigation():
        await own.get_by_role("button", name="Log in").click()
    assert [c["name"] for c in await context.cookies(live_hub.url)] == ["hub_session"]
    await context.close()


async def test_row29_foreign_origin_on_login_and_form_posts(live_hub: Live) -> None:
    hub = live_hub.ui.hub
    grant = hub.identity.consent.grant(ANA, grantee_provider=GROCER, purpose="grocery_delivery",
                                       signals=["pantry_needs"])
    started = changed = 0
    async with httpx.AsyncClient(base_url=live_hub.url) as http:
        login = {"username": ANA, "password": ANA_PASSWORD}
        for headers in ({"Origin": FOREIGN}, {"Referer": f"{FOREIGN}/page"}, {"Origin": "null"}):
            r = await http.post("/ui/login", data=login, headers=headers)
            assert r.status_code == 403, headers
            started += "hub_session" in r.headers.get("set-cookie", "")
        r = await http.post("/ui/login", data=login, headers={"Origin": live_hub.url})
        assert r.status_code == 303
        token = http.cookies["hub_session"]
        revoke = f"/ui/consents/{grant.id}/revoke"
        form = {"csrf": csrf_for(token)}
        for headers in ({"Origin": FOREIGN}, {"Referer": f"{FOREIGN}/x"}):
            r = await http.post(revoke, data=form, headers=headers)
            assert r.status_code == 403
            changed += hub.identity.consent.get(grant.id, ANA).revoked_at is not None
        logout = await http.post("/ui/logout", data=form, headers={"Origin": FOREIGN})
        assert logout.status_code == 403
        assert (await http.get("/ui/household")).status_code == 200  # still logged in
        r = await http.post(revoke, data=form, headers={"Referer": f"{live_hub.url}/ui/household"})
        assert r.status_code == 303
    assert hub.identity.consent.get(grant.id, ANA).revoked_at is not None
    print(f"RELIABILITY row 29: {started} sessions started and {changed} changes by 6 cross-site posts")
    assert started == 0
    assert changed == 0


@pytest.mark.parametrize(("public_url", "secure"), [("https://hub.example", True), (None, False)])
async def test_row29_session_cookie_secure_behind_https(
        broker: Broker, tmp_path: Path, topic_prefix: str, public_url: str | None, secure: bool) -> None:
    async with (live(broker, tmp_path, topic_prefix, public_url=public_url) as hub,
                httpx.AsyncClient(base_url=hub.url) as http):
        r = await http.post("/ui/login", data={"username": ANA, "password": ANA_PASSWORD},
                            headers={"Origin": public_url or hub.url})
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("hub_session=")
    assert ("; secure" in cookie.lower()) is secure

"""RELIABILITY row 28: logins strangers cannot turn against owners.

12 wrong passwords for one account from one address, then the right one from another; the
same for the community admin; on the API login and on the dashboard's login form. The
addresses are told by ``X-Forwarded-For`` through the loopback peer, which the hub trusts as
a proxy by default (``HUB_TRUSTED_PROXIES``); a hub that trusts no proxy ignores the header.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser

from tests.conftest import Broker
from tests.reliability.conftest import (
    ADMIN,
    ADMIN_PASSWORD,
    ANA,
    ANA_PASSWORD,
    BEN,
    BEN_PASSWORD,
    Live,
    live,
)

GUESSER = "203.0.113.66"
OWNER = "198.51.100.7"


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def _guess(http: httpx.AsyncClient, username: str, n: int = 12) -> list[httpx.Response]:
    return [await http.post("/auth/login", json={"username": username, "password": f"wrong-guess-{i}"},
                            headers=_from(GUESSER)) for i in range(n)]


def _assert_throttled(answers: list[httpx.Response]) -> None:
    assert [r.status_code for r in answers] == [401] * 5 + [429] * 7
    for r in answers[5:]:
        assert r.headers["content-type"] == "application/problem+json"
        assert 1 <= int(r.headers["retry-after"]) <= 301
        assert r.json()["status"] == 429


async def test_row28_guesses_from_one_address_never_lock_the_owner_or_admin_out(live_hub: Live) -> None:
    locked_out = 0
    async with httpx.AsyncClient(base_url=live_hub.url) as http:
        for username, password in ((ANA, ANA_PASSWORD), (ADMIN, ADMIN_PASSWORD)):
            guesses = await _guess(http, username)
            _assert_throttled(guesses)
            owner = await http.post("/auth/login", json={"username": username, "password": password},
                                    headers=_from(OWNER))
            locked_out += owner.status_code != 200
            assert owner.status_code == 200, owner.text
            me = await http.get("/me", headers={"Authorization": f"Bearer {owner.json()['access_token']}"})
            assert me.json()["username"] == username
            # The guessing address stays refused, even with the right password.
            again = await http.post("/auth/login", json={"username": username, "password": password},
                                    headers=_from(GUESSER))
            assert again.status_code == 429
            assert int(again.headers["retry-after"]) >= 1
        # A third account is untouched from the guessing address (its pair has no failures).
        other = await http.post("/auth/login", json={"username": BEN, "password": BEN_PASSWORD},
                                headers=_from(GUESSER))
        assert other.status_code == 200
    print(f"RELIABILITY row 28 (API): {locked_out} owners locked out after 12 guesses each against "
          f"{ANA} and {ADMIN}; the guessing address got 429 with Retry-After {guesses[-1].headers['retry-after']} s")


async def test_row28_dashboard_login_form_in_a_browser(live_hub: Live, browser: Browser) -> None:
    """The same through the login form: a stranger's posts, then the owner in Chromium."""
    async with httpx.AsyncClient(base_url=live_hub.url) as http:
        answers = [await http.post("/ui/login", data={"username": ANA, "password": f"wrong-{i}"},
                                   headers=_from(GUESSER)) for i in range(12)]
    assert [r.status_code for r in answers] == [401] * 5 + [429] * 7
    assert all(int(r.headers["retry-after"]) >= 1 for r in answers[5:])
    assert "hub_session" not in str([r.headers.get_list("set-cookie") for r in answers])
    context = await browser.new_context(extra_http_headers=_from(OWNER))
    page = await context.new_page()
    await page.goto(f"{live_hub.url}/ui/login")
    await page.get_by_label("Username").fill(ANA)
    await page.get_by_label("Password").fill(ANA_PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log in").click()
    assert page.url.endswith("/ui/household")
    assert any(c["name"] == "hub_session" for c in await context.cookies())
    await context.close()
    print("RELIABILITY row 28 (dashboard): 12 guesses from one address, then the owner logged in "
          "from another in Chromium")


async def test_row28_forwarded_for_counts_only_from_trusted_proxies(
        broker: Broker, tmp_path: Path, topic_prefix: str) -> None:
    """With no trusted proxy, X-Forwarded-For is the caller's claim and is ignored: the
    guesses all count for the loopback peer, whatever address each one claims."""
    async with (live(broker, tmp_path, topic_prefix, trusted_proxies="192.0.2.1") as hub,
                httpx.AsyncClient(base_url=hub.url) as http):
        statuses = [(await http.post("/auth/login", json={"username": ANA, "password": "nope-nope"},
                                     headers=_from(f"198.51.100.{i}"))).status_code for i in range(7)]
    assert statuses == [401] * 5 + [429] * 2

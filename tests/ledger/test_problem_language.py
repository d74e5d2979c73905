"""A refused request is explained in the reader's language: the real hub over HTTP answers a
domain error's problem ``detail`` in German or Chinese for ``Accept-Language: de`` / ``zh``,
in English without the header; the ``code`` stays the same machine word in every language.

One refusal per family of the domain: the time bank, pooled projects, sharing, offers
(the last one also through an ``Idempotency-Key``, whose stored answer is written in the
asker's language).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from ledger_fixtures import Live


def _ask(client: httpx.Client, method: str, path: str, language: str | None,
         **kwargs: Any) -> httpx.Response:
    headers = dict(kwargs.pop("headers", {}))
    if language is not None:
        headers["Accept-Language"] = language
    return client.request(method, path, headers=headers, **kwargs)


async def _details(client: httpx.Client, method: str, path: str, status: int, code: str,
                   **kwargs: Any) -> dict[str | None, str]:
    """The detail of the same refusal for no header, German (with q-values) and Chinese."""
    out: dict[str | None, str] = {}
    for name, header in ((None, None), ("de", "fr;q=0.9, de;q=0.8"), ("zh", "zh-CN,zh;q=0.9")):
        r = await asyncio.to_thread(_ask, client, method, path, header, **kwargs)
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "https://community-hub.example/problems/" + code
        out[name] = r.json()["detail"]
    return out


async def test_time_bank_refusals_in_the_readers_language(live: Live) -> None:
    ana = await asyncio.to_thread(live.client, "h-ana")
    with ana:
        said = await _details(ana, "POST", "/timebank/transfers", 422, "unprocessable",
                              json={"to": "h-ana", "hours": 1, "note": ""})
        assert said == {None: "a household cannot pay itself",
                        "de": "ein Haushalt kann sich nicht selbst bezahlen",
                        "zh": "住户不能向自己付款"}
        said = await _details(ana, "POST", "/timebank/transfers/tr-nope/confirm", 404, "not-found")
        assert said == {None: "no transfer tr-nope", "de": "keine Überweisung tr-nope",
                        "zh": "没有转账 tr-nope"}


async def test_project_refusal_in_the_readers_language(live: Live) -> None:
    ben = await asyncio.to_thread(live.client, "h-ben")
    with ben:
        said = await _details(ben, "GET", "/projects/p-nope", 404, "not-found")
    assert said == {None: "no project p-nope", "de": "kein Projekt p-nope", "zh": "没有项目 p-nope"}


async def test_sharing_refusal_in_the_readers_language(live: Live) -> None:
    chen = await asyncio.to_thread(live.client, "h-chen")
    with chen:
        said = await _details(chen, "GET", "/things/t-nope", 404, "not-found")
    assert said == {None: "no thing t-nope in your community",
                    "de": "kein Gegenstand t-nope in Ihrer Gemeinschaft",
                    "zh": "您的社区中没有物品 t-nope"}


async def test_offers_refusal_in_the_readers_language(live: Live) -> None:
    dan = await asyncio.to_thread(live.client, "h-dan")
    with dan:
        said = await _details(dan, "GET", "/bookings/bk-nope", 404, "not-found")
        assert said == {None: "no booking bk-nope", "de": "keine Buchung bk-nope",
                        "zh": "没有预订 bk-nope"}
        # Through an idempotency key: the stored answer is the asker's language, and a
        # replay of that key gives the same answer again.
        first = await asyncio.to_thread(_ask, dan, "POST", "/bookings/bk-nope/cancel", "de",
                                        json={}, headers={"Idempotency-Key": "cancel-nope-1"})
        again = await asyncio.to_thread(_ask, dan, "POST", "/bookings/bk-nope/cancel", "de",
                                        json={}, headers={"Idempotency-Key": "cancel-nope-1"})
        plain = await asyncio.to_thread(_ask, dan, "POST", "/bookings/bk-nope/cancel", None,
                                        json={}, headers={"Idempotency-Key": "cancel-nope-2"})
    assert first.status_code == again.status_code == plain.status_code == 404
    assert first.json()["detail"] == again.json()["detail"] == "keine Buchung bk-nope"
    assert plain.json()["detail"] == "no booking bk-nope"

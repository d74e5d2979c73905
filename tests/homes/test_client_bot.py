"""The SDK's example provider bot claims and fulfils a grocery request (real broker + API)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from examples.provider_bot import serve
from hub.client import HubClient, HubError
from hub.offers.slots import add_hourly_slots
from tests.homes.conftest import Embedded


async def test_the_example_bot_claims_and_fulfils_a_grocery_request(embedded: Embedded, household: str) -> None:
    hub = embedded.hub
    provider = "grocer-" + household
    hub.identity.create_household(household, "riverside", "Ana", "1 River Lane", 52.0, 5.0,
                                  password="ana-password")
    grocer = hub.identity.create_provider(provider, "riverside", "Fresh Grocer", ["grocery"], 52.0, 5.0, 10.0,
                                          password="grocer-password")
    hub.identity.consent.grant(household, provider, purpose="grocery_delivery",
                               signals=["pantry_needs", "slot", "street_address"])
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    with hub.db.transaction() as conn:
        add_hourly_slots(conn, provider, "grocery", tomorrow, 9, 12, 3)
        sug, _ = hub.offers.suggestions.create(
            conn, household=household, kind="grocery", key="pantry", title="Milk is low: delivery?",
            message="", data={"items": [{"name": "milk", "qty": 2, "unit": "l"}]})

    async with HubClient(embedded.url, username=provider, password="grocer-password",
                         mqtt_host="127.0.0.1", mqtt_port=embedded.mqtt_port,
                         mqtt_username=grocer.mqtt_username, mqtt_password=grocer.mqtt_password) as bot:
        assert bot.provider == provider
        bot_task = asyncio.create_task(serve(bot, rounds=1))
        # The household answers its suggestion with the same SDK, over the API.
        async with HubClient(embedded.url, username=household, password="ana-password") as home:
            assert [s["id"] for s in await home.suggestions()] == [sug.id]
            free = await home.slots()
            accepted = await home.accept(sug.id, slot=free[0]["id"])
            assert (accepted["suggestion"], accepted["kind"]) == (sug.id, "grocery")
            request_id = accepted["result"]["id"]
            with pytest.raises(HubError) as refused:
                await home.decline(sug.id)
            assert refused.value.status == 409
        fulfilled = await asyncio.wait_for(bot_task, 30)
    assert fulfilled == [request_id]
    row = hub.db.query_one("SELECT state, provider, household FROM offers WHERE id = ?", (fulfilled[0],))
    assert (row["state"], row["provider"], row["household"]) == ("fulfilled", provider, household)


async def test_a_client_without_a_login_is_refused_with_the_reason(embedded: Embedded) -> None:
    with pytest.raises(HubError) as refused:
        async with HubClient(embedded.url, username="nobody", password="wrong-password"):
            pass
    assert refused.value.status == 401
    assert "wrong username or password" in refused.value.detail

"""A provider bot: claims every grocery request on its feed, then marks it delivered.

    python examples/provider_bot.py --api http://127.0.0.1:8080 --mqtt 127.0.0.1:1883 \\
        --username fresh-grocer --password ... --mqtt-username pv-fresh-grocer --mqtt-password ...

(the logins of ``var/demo/credentials.json``'s ``providers`` entry in the demo). A real shop
would fulfil after the delivery; this bot does it at once, to show the whole round.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from hub.client import HubClient

logger = logging.getLogger("provider-bot")


async def serve(client: HubClient, *, kinds: frozenset[str] = frozenset({"grocery"}),
                rounds: int | None = None) -> list[str]:
    """Claim and fulfil requests of ``kinds`` from the feed; stop after ``rounds`` fulfilled.

    Returns the ids of the requests fulfilled.
    """
    done: list[str] = []
    feed = client.feed()
    async for msg in feed:
        if msg.type != "request" or msg.body.get("kind") not in kinds:
            continue
        logger.info("request %s: %s", msg.request, ", ".join(str(i.get("name")) for i in msg.items))
        outcome = await client.claim_and_wait(msg.request, feed)
        if not outcome.won:
            logger.info("request %s went elsewhere (%s)", msg.request, outcome.status)
            continue
        await client.fulfil(msg.request)
        logger.info("request %s fulfilled", msg.request)
        done.append(msg.request)
        if rounds is not None and len(done) >= rounds:
            break
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True)
    parser.add_argument("--mqtt", required=True, help="host:port of the hub's broker")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--mqtt-username", required=True)
    parser.add_argument("--mqtt-password", required=True)
    args = parser.parse_args()
    host, _, port = args.mqtt.rpartition(":")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    async def run() -> None:
        async with HubClient(args.api, username=args.username, password=args.password, mqtt_host=host,
                             mqtt_port=int(port), mqtt_username=args.mqtt_username,
                             mqtt_password=args.mqtt_password) as client:
            await serve(client)

    asyncio.run(run())


if __name__ == "__main__":
    main()

"""Partitioned hub workers: several ``hub run`` processes on one broker and one PostgreSQL.

The households are split into ``HUB_SHARES`` shares (:func:`share_of`, a stable hash of the
household id). A worker holds a share under a lease in the ``worker_leases`` table
(:mod:`hub.cluster.leases`), renewed by heartbeat; while it holds share ``k`` it resumes the
persistent MQTT session ``hub-share-<k>``, subscribed at QoS 1 to the topics of the share's
households, so the broker queues a share's messages while no worker holds it and the next
holder receives them (:mod:`hub.cluster.worker`). Share 0 also carries the work done once for
the whole hub: the outbox relay, the non-household topics and the periodic jobs.
See docs/scaling.md ("Partitioned workers").
"""

from hub.cluster.shares import share_of

__all__ = ["share_of"]

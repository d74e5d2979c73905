"""The time bank: skills offered and requested, and hours moved by double-entry transfers.

:class:`~hub.ledger.timebank.TimeBank` records and confirms transfers; every confirmed
transfer appends one entry to a hash-chained, append-only ledger
(:mod:`hub.ledger.chain`, the ratings' scheme). :func:`~hub.ledger.verify.verify_store`
checks the ledger and the rating chain (``hub ledger verify``).
"""

from hub.ledger.chain import LedgerReport, verify_ledger
from hub.ledger.skills import Skills
from hub.ledger.timebank import TimeBank

__all__ = ["LedgerReport", "Skills", "TimeBank", "verify_ledger"]

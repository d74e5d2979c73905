"""Pooled projects: proposals with a threshold and a deadline, all-or-nothing pledges,
provider bids, and one order on the chosen provider's feed when the threshold is met.

See :class:`~hub.projects.service.Projects`.
"""

from hub.projects.service import PURPOSE, Projects

__all__ = ["PURPOSE", "Projects"]

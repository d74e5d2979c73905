"""Identity, broker ACLs and consent: each household, device and provider sees only what
it may.

The public API the rest of the hub uses; see ``hub/identity/README.md`` for the security
model and how to provision.
"""

from hub.identity.accounts import Credentials, Principal
from hub.identity.acl import split_household, topic_belongs_to
from hub.identity.auth import current_principal, require_role, route_security
from hub.identity.broker_config import dynsec_plugin_path, init_dynsec, render_config
from hub.identity.consent import Consent, Grant
from hub.identity.dynsec import AsyncDynSecAdmin, DynSecAdmin
from hub.identity.limits import BodySizeLimitMiddleware, LoginLimiter
from hub.identity.provisioning import provision
from hub.identity.service import Identity
from hub.identity.sessions import SessionPurger

__all__ = [
    "AsyncDynSecAdmin",
    "BodySizeLimitMiddleware",
    "Consent",
    "Credentials",
    "DynSecAdmin",
    "Grant",
    "Identity",
    "LoginLimiter",
    "Principal",
    "SessionPurger",
    "current_principal",
    "dynsec_plugin_path",
    "init_dynsec",
    "provision",
    "render_config",
    "require_role",
    "route_security",
    "split_household",
    "topic_belongs_to",
]

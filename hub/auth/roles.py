"""Which roles and organisations a token may name: the policy's roles, the hub's own, the directory's codes.

Checked where tokens are minted (`onestory token`) and where they are accepted (hub.api.deps), so a token for a
role or organisation the hub does not know is refused instead of reading as an empty story.
"""

from __future__ import annotations

from consent_engine import Policy

STEWARD_ROLE = "data-steward"
"""The identity data steward, who reviews possible matches (projections.identity.review)."""

# Roles for the hub's own work that the data-sharing policy does not list (the policy decides disclosure only).
HUB_ROLES = frozenset({STEWARD_ROLE})


def known_roles(policy: Policy) -> frozenset[str]:
    """The policy's roles (`system` for connectors among them) and the hub's own."""
    return frozenset(policy.roles) | HUB_ROLES


def known_organisations(policy: Policy) -> frozenset[str]:
    """The organisation directory's codes, as compiled into the policy."""
    return frozenset(policy.organisations)

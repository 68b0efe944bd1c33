"""Connectors: each agency's format mapped (pure) to canonical events, with the consent or basis at source."""

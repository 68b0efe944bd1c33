"""Outbound sharing: per-organisation feeds, FHIR rest-hook subscriptions and CP-IS style alerts (issue 10).

Everything that leaves the hub here is decided by the consent engine for the recipient's viewer class,
shaped by the same function the API uses (`hub.disclosure.decide.disclose`) and audited like a read.
"""

"""Who is asking: bearer tokens (the hub's own or an OIDC issuer's), SMART launch, roles, and My story access codes."""

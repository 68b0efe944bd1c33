"""Disclosure: rows of a child's record and the consent engine's decisions about them, for reads and feeds."""

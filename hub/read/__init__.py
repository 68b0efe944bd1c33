"""Reads: a child's story for one viewer at one moment, decided by the consent engine, for the API to audit and send."""

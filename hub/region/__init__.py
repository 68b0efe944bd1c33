"""A small demo region: a few children whose stories cross five or more agencies, sent through the real interfaces."""

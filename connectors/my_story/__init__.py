"""A young person's (or parent's) own sharing choices from the hub's "My story" page, as consent events."""

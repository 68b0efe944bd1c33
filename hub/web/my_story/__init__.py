"""The "My story" pages for young people and parents (hub.api.routes.my_story serves them)."""

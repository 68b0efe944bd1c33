"""Canonical OneStory events: the Avro envelope, its codec and the Python shape of an event."""

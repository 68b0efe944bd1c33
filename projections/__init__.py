"""Projections: identity (which child), then each child's event store, timeline, team and consent state."""

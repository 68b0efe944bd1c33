"""OneStory hub: everything between connectors and readers, layer by layer (docs/architecture.md#layers)."""

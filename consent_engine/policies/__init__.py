"""The policies shipped with OneStory, as YAML data (read by hub, never by consent_engine itself)."""

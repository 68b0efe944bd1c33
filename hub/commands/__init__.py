"""The `onestory` commands: each builds its settings in its entry point and passes them down."""

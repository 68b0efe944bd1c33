"""The worker: its steps (identity, timeline, outbound), the threads that run them, and the Faust lifecycle."""

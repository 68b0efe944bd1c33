"""The access log: hash-chained records written before data leaves, checkpoints, IG search and alerts."""

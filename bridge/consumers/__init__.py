"""Consumer instances: their configuration, their reads and commits, and their registry."""

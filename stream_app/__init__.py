"""Academy next-best-action stream processor."""

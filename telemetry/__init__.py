"""Metrics and traces: what operators scrape and export. A leaf: it imports nothing of
the project's, so every layer may record into it."""

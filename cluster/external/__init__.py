"""Clients for outside engines: one line-process transport under the GTP and UCI clients."""

"""Typed settings: the run configuration (defaults <- TOML <- flags) and the one per-game preset table."""

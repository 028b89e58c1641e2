"""The search-backed engine, its time management, and the front ends: JSON analysis, GTP, UCI, terminal play."""

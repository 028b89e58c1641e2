"""Players, matches, Elo/SPRT and the Bradley-Terry ladder of checkpoints.

The rating math (:mod:`cluster.arena.elo`) is pure and apart from the orchestration of games.
"""

"""Players, matches, Elo/SPRT and the Bradley-Terry ladder of checkpoints (rating math pure, apart from orchestration)."""

"""The default audit's parameter grid (the default implementations are in :mod:`suite.implementations`)."""

DEFAULT_GRID = ((1.0, 20.0), (0.1, 20.0), (10.0, 20.0), (1.0, 1.0), (1.0, 100.0))
"""(beta, threshold) pairs: torch's defaults, a small and a large beta, a small and a large threshold."""

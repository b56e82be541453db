"""The default audit's parameter grid (the default implementations are in :mod:`suite.implementations`)."""

DEFAULT_GRID = ((1.0, 20.0), (0.1, 20.0), (10.0, 20.0), (1.0, 1.0), (1.0, 100.0))
"""(beta, threshold) pairs: torch's defaults, a small and a large beta, a small and a large threshold."""

RULES_GRID = (
    *DEFAULT_GRID,
    (0.5, 20.0),
    (2.0, 20.0),
    (4.0, 5.0),
    (0.25, 50.0),
    (8.0, 1.0),
    (2.0, 100.0),
    (3.0, 0.2),
    (0.1, 100.0),
    (10.0, 1.0),
    (0.3, 20.0),
    (3.0, 20.0),
    (5.0, 2.0),
    (100.0, 20.0),
    (0.01, 20.0),
    (1.0, 1000.0),
)
"""The (beta, threshold) pairs ``budgets --rules`` measures where the budget file records none: the
rules must hold at parameters nobody measured, so the grid is wider than the audit's. The default
grid, then powers of two from 1/4 to 8 (``b·x`` exact: the kernel's own error) and other betas
from 0.01 to 100 (``b·x`` rounded: an error that grows with ``|b·x|``), PyTorch's OpInfo point
(3, 0.2) among them, at thresholds from 0.2 to 1000 (small ones put the threshold rule's jump near
0, large ones let ``e^(b·x)`` overflow first: 100 in float32 and the half types, 1000 in float64)."""

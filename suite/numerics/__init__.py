"""The exact arithmetic: float formats, quantities and parameters, the correctly rounded reference
(mpmath, and its vectorized fast path with compiled loops), and the ULP measure and its summaries.

Nothing here knows about implementations, audits or reports: it answers "what is the exact value,
what is its correct rounding, how far is this output from it".
"""

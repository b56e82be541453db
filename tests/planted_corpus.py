"""Implementations with and without known upstream softplus problems, for the corpus's checks.

Each has ``torch.nn.functional.softplus``'s signature; ``tests/test_corpus.py`` shows that every
predicate of the corpus says *present* on one and *fixed* on another."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user knows)


def refuses_zero_beta(x, beta=1.0, threshold=20.0):
    """Without torch-beta-zero-accepted: a clear error for beta <= 0."""
    if not beta > 0:
        raise ValueError(f"beta must be > 0, got {beta!r}")
    return F.softplus(x, beta, threshold)


def capped_threshold(x, beta=1.0, threshold=20.0):
    """Without the overflow problems: the threshold never above 20, so exp(b*x) never overflows."""
    return F.softplus(x, beta, min(threshold, 20.0))


def without_threshold(x, beta=1.0, threshold=20.0):
    """Without the jump: no threshold at all (continuous, monotone near t/b)."""
    return F.softplus(x, beta, float("inf"))


def flushes_tiny(x, beta=1.0, threshold=20.0):
    """With a premature zero: results below 1e-30 flushed to 0."""
    y = F.softplus(x, beta, threshold)
    return torch.where(y < 1e-30, torch.zeros_like(y), y)


class _OutputTestedBackward(torch.autograd.Function):
    """softplus whose backward tests the threshold on the output, as TorchScript's formula once did."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        y = F.softplus(x, beta, threshold)
        ctx.save_for_backward(x, y)
        ctx.beta, ctx.threshold = beta, threshold
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        slope = torch.where(y * ctx.beta > ctx.threshold, torch.ones_like(x), torch.sigmoid(ctx.beta * x))
        return grad * slope, None, None


def output_tested_backward(x, beta=1.0, threshold=20.0):
    """With torch-backward-threshold-on-output."""
    return _OutputTestedBackward.apply(x, beta, threshold)


# each stands in for torch's softplus, with or without a problem: torch's upstream problems concern it
for _variant in (refuses_zero_beta, capped_threshold, without_threshold, flushes_tiny, output_tested_backward):
    _variant.family = "torch"

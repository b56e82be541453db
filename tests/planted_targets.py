"""Deliberately defective softplus implementations, each breaking one property.

Every one has ``torch.nn.functional.softplus``'s signature, so the audit can be pointed at it
with ``--target tests.planted_targets:NAME``; ``tests/test_audit_catches.py`` shows that the
property each one breaks catches it, and that real torch does not trip the same check.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user knows)


def lowered_precision(x, beta=1.0, threshold=20.0):
    """Accuracy: computed in bfloat16 whatever the input dtype (about 2**16 ULP of float32 off)."""
    return F.softplus(x.to(torch.bfloat16), beta, threshold).to(x.dtype)


def negative_tail(x, beta=1.0, threshold=20.0):
    """Positivity: returns a negative tiny value far left instead of a positive one."""
    y = F.softplus(x, beta, threshold)
    tiny = torch.finfo(x.dtype).tiny
    return torch.where(beta * x < -30, torch.full_like(y, -tiny), y)


def overshoot(x, beta=1.0, threshold=20.0):
    """Bounds: a bump of ln2/(2b) at 0 pushes softplus above max(0, x) + ln2/b."""
    y = F.softplus(x, beta, threshold)
    return y + 0.5 * 0.6931471805599453 / beta * torch.exp(-((beta * x) ** 2))


def sawtooth(x, beta=1.0, threshold=20.0):
    """Monotonicity: a falling sawtooth of height 1e-3 makes the far-left tail decrease."""
    y = F.softplus(x, beta, threshold)
    return y - 1e-3 * (x - torch.floor(x))


def power_of_two_dip(x, beta=1.0, threshold=20.0):
    """Monotonicity: at every positive power of two the output is 2**-20 of itself low, below its
    lower neighbour's. A wrong-way step across each positive binade's edge and nowhere else: a
    sweep that measures binades (or chunks of a sample) apart must compare their edges to see it."""
    y = F.softplus(x, beta, threshold)
    mantissa, _ = torch.frexp(x)
    return torch.where((x > 0) & (mantissa == 0.5), y * (1 - 2.0**-20), y)


def linear_offset(x, beta=1.0, threshold=20.0):
    """Asymptotes: in the linear region below the threshold, one ULP above x instead of x."""
    y = F.softplus(x, beta, threshold)
    up = torch.nextafter(x, torch.full_like(x, float("inf")))
    return torch.where((beta * x > 17) & (beta * x <= threshold), up, y)


def threshold_off_by_one_ulp(x, beta=1.0, threshold=20.0):
    """Threshold rule: above the threshold returns the float after x instead of x."""
    y = F.softplus(x, beta, threshold)
    up = torch.nextafter(x, torch.full_like(x, float("inf")))
    return torch.where(beta * x > threshold, up, y)


class _DeadGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        ctx.beta = beta
        return F.softplus(x, beta, threshold)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        g = torch.sigmoid(ctx.beta * x)
        return grad * torch.where(ctx.beta * x < -20, torch.zeros_like(g), g), None, None


def dead_gradient(x, beta=1.0, threshold=20.0):
    """Derivative: the gradient is exactly 0 below b*x = -20, where sigmoid is still > 0."""
    return _DeadGradient.apply(x, beta, threshold)


def nan_to_zero(x, beta=1.0, threshold=20.0):
    """Special values: NaN in, 0 out."""
    return torch.nan_to_num(F.softplus(x, beta, threshold), nan=0.0)


def beta_ignored(x, beta=1.0, threshold=20.0):
    """Parameters: ignores beta (so beta = 0 gives finite numbers instead of +inf)."""
    return F.softplus(x, 1.0, threshold)


def narrow_band(x, beta=1.0, threshold=20.0):
    """A defect in 64 consecutive float32 inputs just above 3.1: 16 ULPs off there, exact elsewhere.

    Sampling misses it; an exhaustive sweep cannot."""
    y = F.softplus(x, beta, threshold)
    start = torch.tensor(3.1, dtype=torch.float32).view(torch.int32).item()
    bits = x.to(torch.float32).view(torch.int32)
    inside = (bits >= start) & (bits < start + 64) & (x.dtype == torch.float32)
    wrong = (y.to(torch.float32).view(torch.int32) + 16).view(torch.float32).to(y.dtype)
    return torch.where(inside, wrong, y)


def overflow_two_ulps(x, beta=1.0, threshold=20.0):
    """A known deviation grown: where exp(b*x) overflows below the threshold (88.7 < b*x <= t), two
    ULPs above x instead of torch's +inf; the known deviation there allows half an ULP (float16)."""
    y = F.softplus(x, beta, threshold)
    inf = torch.full_like(x, float("inf"))
    two_up = torch.nextafter(torch.nextafter(x, inf), inf)
    return torch.where((beta * x > 88.7) & (beta * x <= threshold), two_up, y)


class _RoundedOnce(torch.autograd.Function):
    """softplus and sigmoid in float64, each rounded once into the tensor's dtype by NumPy (torch's
    own float64 -> float16 cast goes through float32: two roundings, wrong at a knife edge)."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        return _once(F.softplus(x.to(torch.float64), beta, threshold), x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        wide = x.to(torch.float64)
        slope = torch.where(ctx.beta * wide > ctx.threshold, torch.ones_like(wide), torch.sigmoid(ctx.beta * wide))
        return _once(grad.to(torch.float64) * slope, x.dtype), None, None


def _once(values, dtype):
    import numpy as np

    names = {torch.float16: np.float16, torch.float32: np.float32, torch.float64: np.float64}
    return torch.from_numpy(values.detach().numpy().astype(names[dtype]))


def rounded_once_from_float64(x, beta=1.0, threshold=20.0):
    """Not a defect: softplus and its gradient computed in float64 and rounded once into the tensor's
    dtype, so every knife edge of float16 comes out right (torch's float16 kernels compute in
    float32, whose error exceeds a knife edge's distance from its midpoint). The knife-edge check's
    counterpart to torch (forward and gradient; no second derivative)."""
    return _RoundedOnce.apply(x, beta, threshold)


def smallest_subnormal_floor(x, beta=1.0, threshold=20.0):
    """Not a defect of any property: softplus, but never below the format's smallest subnormal.
    Where softplus lies between 0 and that subnormal, the output is the float just above it, faithful
    though not correctly rounded, down to where the exact value underflows even the reference's
    working type (measure must still call it faithful there)."""
    y = F.softplus(x, beta, threshold)
    tiny = torch.finfo(y.dtype).smallest_normal * torch.finfo(y.dtype).eps
    return torch.clamp(y, min=tiny)


def doubled_deep_tail(x, beta=1.0, threshold=20.0):
    """Accuracy, where torch's own kernel has a known deviation that accepts any error: twice
    softplus for b·x < -87.3, where torch's float32 exp underflows (``exp-underflow-float32``).
    Its family is its own package (``tests``), so torch's deviations excuse none of it."""
    y = F.softplus(x, beta, threshold)
    return torch.where(beta * x < -87.3, 2 * y, y)


def doubled_deep_tail_as_torch(x, beta=1.0, threshold=20.0):
    """:func:`doubled_deep_tail`, naming torch as its family (as a wrapper of torch's kernel may):
    torch's known deviations then concern it, and the one there accepts any error."""
    return doubled_deep_tail(x, beta, threshold)


def overflows_to_inf(x, beta=1.0, threshold=20.0):
    """Accuracy, by outputs of the wrong class: ln(1 + e^(b·x)) in float32 without the threshold
    rule, rounded to the input's format: +inf for b·x > 88.72, where softplus is about x, finite.
    No ULP error measures those outputs, so no largest error shows them."""
    wide = x.float()
    return (torch.log1p(torch.exp(beta * wide)) / beta).to(x.dtype)


def no_answer_for_bad_beta(x, beta=1.0, threshold=20.0):
    """Parameters: for beta <= 0 neither a clear error nor a value, but None."""
    if not beta > 0:
        return None
    return F.softplus(x, beta, threshold)


def doubled_then_nan(x, beta=1.0, threshold=20.0):
    """Accuracy, two ways: twice softplus for 1 < x < 15 (finite errors, first in bit order) and NaN
    for x < -10 (outputs of the wrong class, after them): the wrong class must still lead the report."""
    y = F.softplus(x, beta, threshold)
    y = torch.where((x > 1) & (x < 15), 2 * y, y)
    return torch.where(x < -10, torch.full_like(y, float("nan")), y)


def nan_at_minus_five(x, beta=1.0, threshold=20.0):
    """Accuracy: torch's kernel with one output of the wrong class, NaN at x = -5, outside every
    known deviation (at threshold 100 torch's own +inf lie inside one)."""
    y = F.softplus(x, beta, threshold)
    return torch.where(x == -5, torch.full_like(y, float("nan")), y)


class _NoneForBadBeta:
    """torch's F.softplus through the implementation protocol, answering None where beta <= 0."""

    spec, description, short_name, family = "tests.planted_targets:NONE_FOR_BAD_BETA", "None", "none", "torch"

    def __getattr__(self, name):
        from suite import implementations

        return getattr(implementations.load("torch.nn.functional:softplus"), name)

    def evaluate(self, x, fmt, quantity, beta, threshold, *rest, **options):
        if not beta > 0:
            return None
        return self.__getattr__("evaluate")(x, fmt, quantity, beta, threshold, *rest, **options)


NONE_FOR_BAD_BETA = _NoneForBadBeta()

# Each of the others is torch's kernel with one planted defect: torch's known deviations concern it
# as they concern torch (``family``), and the defect must be caught all the same. The two left their
# own family (``tests``, their package) show what a function built elsewhere is judged by.
for _planted in (
    lowered_precision,
    negative_tail,
    overshoot,
    sawtooth,
    power_of_two_dip,
    linear_offset,
    threshold_off_by_one_ulp,
    dead_gradient,
    nan_to_zero,
    beta_ignored,
    narrow_band,
    overflow_two_ulps,
    rounded_once_from_float64,
    smallest_subnormal_floor,
    doubled_deep_tail_as_torch,
    nan_at_minus_five,
):
    _planted.family = "torch"

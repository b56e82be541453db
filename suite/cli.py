"""Command line: ``softplus-audit``.

Exit codes: 0 success (or everything within budget), 1 a budget or property failed,
2 a usage error (bad arguments, unreadable input). Bad input gets one line on stderr naming
what was wrong and what is accepted, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with what the user asked for (exit 2, one line)."""


def _float(text: str) -> float:
    try:
        return float.fromhex(text) if text.lower().lstrip("+-").startswith("0x") else float(text)
    except ValueError:
        accepted = "a decimal, 'inf', 'nan' or a hex float such as 0x1.8p+1"
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give {accepted}") from None


def _cmd_reference(args: argparse.Namespace) -> int:
    import mpmath

    from suite.formats import format_named
    from suite.params import Oracle, Params, Quantity
    from suite.reference import correctly_rounded, exact_value
    from suite.ulp import ulp_error

    try:
        fmt = format_named(args.dtype)
        quantity = Quantity.named(args.quantity)
        oracle = Oracle.named(args.oracle)
        if args.as_given:
            params = Params(beta=args.beta, threshold=args.threshold)
        else:
            params = Params.as_kernel_sees(args.beta, args.threshold, fmt)
    except ValueError as error:
        raise UsageError(str(error)) from None
    x = float(fmt.round(args.x))
    if x != args.x and not (math.isnan(x) and math.isnan(args.x)):
        raise UsageError(f"x={args.x!r} is not a {fmt.name} value (nearest: {x!r}); give a {fmt.name} input")
    exact = exact_value(quantity, x, params, oracle, digits=args.digits)
    rounded = correctly_rounded(quantity, x, params, fmt, oracle)
    print(f"quantity   {quantity.value} ({oracle.value} oracle)")
    print(f"input      x = {x!r} ({x.hex()}), {fmt.name}")
    print(f"parameters {params.describe()}")
    print(f"exact      {mpmath.nstr(exact, args.digits)}")
    print(f"rounded    {rounded!r} ({rounded.hex()}) = correct rounding into {fmt.name}")
    if args.output is not None:
        y = args.output
        print(f"output     {y!r} ({y.hex()}): {ulp_error(y, exact, fmt):.6g} ULP of {fmt.name}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="softplus-audit",
        description="Exact accuracy audit of softplus implementations, in ULPs against an mpmath reference.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ref = sub.add_parser(
        "reference",
        help="exact and correctly rounded value of softplus or a derivative at one input",
        description="Print the exact value, its correct rounding, and optionally the ULP error of an output.",
    )
    ref.add_argument("quantity", help="forward, grad or grad2")
    ref.add_argument("x", type=_float, help="the input (decimal or hex float)")
    ref.add_argument("--dtype", default="float32", help="float16, bfloat16, float32 or float64 (default float32)")
    ref.add_argument("--beta", type=_float, default=1.0)
    ref.add_argument("--threshold", type=_float, default=20.0)
    ref.add_argument("--oracle", default="math", help="math (exact) or documented (torch's threshold rule)")
    ref.add_argument("--output", type=_float, help="an output to measure in ULPs")
    ref.add_argument("--digits", type=int, default=30, help="digits of the exact value to print")
    ref.add_argument(
        "--as-given",
        action="store_true",
        help="use beta and threshold as given instead of cast to the kernel's compute format",
    )
    ref.set_defaults(run=_cmd_reference)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"softplus-audit: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())

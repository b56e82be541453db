"""What one sweep measures, and how its inputs are cut into shards."""

from __future__ import annotations

from dataclasses import dataclass

from suite.numerics.formats import Format


@dataclass(frozen=True)
class SweepSpec:
    """What one sweep measures."""

    dtype: str
    target: str = "torch.nn.functional:softplus"
    device: str = "cpu"
    path: str = "simd"
    quantity: str = "forward"
    beta: float = 1.0
    threshold: float = 20.0
    compare_paths: bool = True  # on CPU, also run the other kernel path on every input

    @property
    def key(self) -> str:
        target = self.target.replace(":", ".")
        key = f"{target}-{self.device}-{self.dtype}-{self.path}-{self.quantity}-b{self.beta:g}-t{self.threshold:g}"
        return key if self.compare_paths else key + "-one-path"

    def other_path(self, paths: tuple[str, ...]) -> str | None:
        """Of an implementation's kernel ``paths`` on this device, the one whose outputs are
        compared with this one's (None: none, or ``compare_paths`` is off)."""
        if not (self.compare_paths and len(paths) == 2 and self.path in paths):
            return None
        return paths[1 - paths.index(self.path)]


def shard_range(fmt: Format, k: int, n: int) -> tuple[int, int]:
    """Patterns ``[start, stop)`` of shard ``k`` of ``n`` (0-based), contiguous and covering all."""
    if not (n >= 1 and 0 <= k < n):
        raise ValueError(f"shard {k}/{n}: need 0 <= K < N (shards are numbered from 0)")
    return fmt.count * k // n, fmt.count * (k + 1) // n

"""Progress of a long sweep: a bar on a terminal, a heartbeat line in CI logs."""

from __future__ import annotations

import math
import sys
import time


class Heartbeat:
    """tqdm on a terminal; elsewhere (CI logs) one line every ``every`` seconds."""

    def __init__(self, total: int, label: str, every: float = 10.0):
        self.total, self.label, self.every, self.done = total, label, every, 0
        self.so_far = ""  # what the finished shards say, as :meth:`note` last set it
        self.so_far_printed = ""
        self.begun = self.last = time.perf_counter()
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label, unit="in", unit_scale=True, smoothing=0.1)

    def __call__(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.perf_counter()
        if now - self.last >= self.every or self.done >= self.total:
            self.last = now
            rate = self.done / max(now - self.begun, 1e-9)
            eta = (self.total - self.done) / rate if rate else math.inf
            print(
                f"{self.label}: {self.done:,}/{self.total:,} inputs ({100 * self.done / self.total:.1f}%), "
                f"{rate / 1e6:.2f} M/s, ETA {eta:.0f} s" + (f"; {self.so_far}" if self.so_far else ""),
                file=sys.stderr,
                flush=True,
            )
            self.so_far_printed = self.so_far

    def note(self, text: str) -> None:
        """What the work done so far says (shown beside the count: the bar's postfix, or the end of
        the next log line)."""
        self.so_far = text
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)

    def set_total(self, total: int) -> None:
        """The number of inputs, once known (a sample's size is known only when it is drawn)."""
        self.total = total
        if self.bar is not None:
            self.bar.total = total
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.refresh()
            self.bar.close()
        elif self.so_far != self.so_far_printed:  # news after the last line
            print(f"{self.label}: {self.so_far}", file=sys.stderr, flush=True)

"""Per-configuration figures as inline SVG (matplotlib), deterministic byte for byte.

One figure per configuration, two panels, both oracles ("documented" and "math"):

* the histogram of ULP errors over the fixed buckets of :data:`suite.numerics.stats.BUCKET_LABELS`;
* the largest ULP error per binade of the input (:func:`suite.numerics.stats.binade_maxima`), against the
  signed binade of x: the run keeps no per-input errors, so this map of per-binade maxima is the
  finest "error against the input" picture a run's JSON allows. The x axis is log2|x| mirrored
  at 0 (negative inputs on the left, ±0 and subnormals in the middle), the threshold's binade
  (x = t/b) is marked.

ULP errors are ULPs of the output format, relative to the exact value. Output is deterministic:
a fixed ``svg.hashsalt``, no date in the metadata, a fixed font (text kept as text, so the
browser draws it with a local font: nothing is fetched).
"""

from __future__ import annotations

import io
import json
import math
import os
import re

from suite.report.load import as_float, binade_entries

COLOURS = {"documented": "#0072B2", "math": "#D55E00"}  # Okabe-Ito blue and vermillion
STYLES = {"documented": "-", "math": "--"}
FLOOR = 1e-4  # per-binade maxima below this are drawn on the floor
RC = {
    "svg.hashsalt": "softplus-audit",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "path.simplify": True,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8,
    # log-axis labels are 10 with a superscript at 70 %: 9 pt keeps the exponent at 6.3 pt, which
    # the page draws at 9.6 px (figures are drawn 1100 px wide for a 720 pt viewBox)
    "ytick.labelsize": 9,
}
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_label(e: int, negative: bool = False) -> str:
    """``2⁻¹⁴``, ``−2¹⁰``: a binade as text without mathtext."""
    return ("−" if negative else "") + "2" + str(e).translate(_SUPERSCRIPT)


def decade_label(value: float, _position=None) -> str:
    """A log axis's tick at a power of ten as text without mathtext (``10⁻⁴``; mathtext's parser
    took a third of a figure's drawing time): '' between decades, where no label is drawn."""
    if not (value > 0 and math.isfinite(value)):
        return ""
    e = math.log10(value)
    return "10" + str(round(e)).translate(_SUPERSCRIPT) if abs(e - round(e)) < 1e-9 else ""


def _decades(ax) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(decade_label))


def bucket_labels() -> list[str]:
    """Short labels of the histogram buckets (same buckets as suite.numerics.stats.BUCKET_LABELS)."""
    from suite.numerics.stats import BUCKET_EDGES

    labels = ["0"]
    for edge in BUCKET_EDGES:
        labels.append(f"≤{edge:g}" if edge <= 1024 else "≤" + power_label(int(math.log2(edge))))
    labels += [">" + power_label(int(math.log2(BUCKET_EDGES[-1]))), "special"]
    return labels


def _numbered_binades(config: dict) -> list[int]:
    """The binades floor(log2|x|) measured in the configuration (zero and subnormal left out)."""
    return [b["binade"] for s in config["stats"].values() for b in binade_entries(s) if isinstance(b["binade"], int)]


def _emax(config: dict) -> int:
    from suite.numerics.formats import format_named

    try:
        return format_named(config["dtype"]).emax
    except ValueError:
        return max(_numbered_binades(config), default=_emin(config))


def _emin(config: dict) -> int:
    from suite.numerics.formats import format_named

    try:
        return format_named(config["dtype"]).emin
    except ValueError:
        return min(_numbered_binades(config), default=0)


def binade_position(sign: str, binade: int | str, emin: int) -> int:
    """The binade's centre on the mirrored log2|x| axis, in binades: 0 for ±0, ±1 for the
    subnormals, ±(e - emin + 2) for [2^e, 2^(e+1)); binade e spans centre ± 0.5."""
    if binade == "zero":
        return 0
    magnitude = 1 if binade == "subnormal" else int(binade) - emin + 2
    return -magnitude if sign == "-" else magnitude


def edge_position(e: float, emin: int, negative: bool = False) -> float:
    """Where |x| = 2^e sits on the same axis (e ≥ emin; fractional e for the threshold)."""
    p = e - emin + 1.5
    return -p if negative else p


class Compression:
    """The axis drawn: runs of more than ``MIN_RUN`` binades with nothing above the floor are
    drawn ``WIDTH`` binades wide (grey bands), everything else one binade per unit."""

    MIN_RUN, WIDTH = 12, 4.0

    def __init__(self, extent: int, interesting: set[int]) -> None:
        self.bands: list[tuple[float, float]] = []
        run: list[int] = []
        for centre in [*range(-extent, extent + 1), None]:
            if centre is not None and centre not in interesting:
                run.append(centre)
                continue
            if len(run) > self.MIN_RUN:
                self.bands.append((run[0] - 0.5, run[-1] + 0.5))
            run = []
        self.original, self.drawn = [-extent - 0.5], [0.0]
        for lo, hi in self.bands:
            self._to(lo, lo - self.original[-1])
            self._to(hi, self.WIDTH)
        self._to(extent + 0.5, extent + 0.5 - self.original[-1])

    def _to(self, original: float, width: float) -> None:
        if original > self.original[-1]:
            self.original.append(original)
            self.drawn.append(self.drawn[-1] + width)

    def __call__(self, position: float) -> float:
        import numpy as np

        return float(np.interp(position, self.original, self.drawn))


def _ticks(axis: Compression, emin: int, emax: int) -> tuple[list[float], list[str]]:
    """0, the edges of the grey bands, and round powers of two, none closer than 1/14 of the axis."""
    candidates: list[tuple[float, str]] = [(0.0, "0")]

    def label(position: float) -> tuple[float, str] | None:
        e = abs(position) - 1.5 + emin
        if abs(position) < 1.5 or e > emax + 1 or e != int(e):
            return None
        return position, power_label(int(e), negative=position < 0)

    for lo, hi in axis.bands:
        candidates += [c for c in (label(lo), label(hi)) if c]
    width = axis.drawn[-1] - axis.drawn[0]
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500):
        if width / step <= 16:
            break
    for e in range(emin, emax + 2):
        if e % step == 0:
            candidates += [
                (edge_position(e, emin), power_label(e)),
                (edge_position(e, emin, True), power_label(e, True)),
            ]
    gap = (axis.drawn[-1] - axis.drawn[0]) / 14
    kept: list[tuple[float, str]] = []
    for position, text in candidates:
        drawn = axis(position)
        if all(abs(drawn - k) >= gap for k, _ in kept):
            kept.append((drawn, text))
    kept.sort()
    return [k for k, _ in kept], [t for _, t in kept]


def x_position(x: float, emin: int, emax: int) -> float:
    """Where the input x sits on the binade axis (continuous in log2|x|; subnormals at ±1)."""
    if x == 0:
        return 0.0
    if abs(x) < 2.0**emin:
        return math.copysign(1.0, x)
    return edge_position(min(math.log2(abs(x)), emax + 1), emin, negative=x < 0)


def deviation_spans(config: dict, emin: int, emax: int) -> list[tuple[float, float]]:
    """The axis spans of the known accuracy deviations that excuse errors in this configuration:
    from the smallest to the largest input of each region (run files that predate ``x_range``
    give none)."""
    spans = set()
    for lo, hi in excusing_ranges(config):
        spans.add((x_position(lo, emin, emax), x_position(hi, emin, emax)))
    return sorted(spans)


def excusing_ranges(config: dict) -> list[tuple[float, float]]:
    """The input ranges ``(smallest, largest)`` of the accuracy deviations that excuse an error here."""
    return sorted(
        {
            (as_float(check["x_range"][0]), as_float(check["x_range"][1]))
            for check in config.get("known_deviations", [])
            if check.get("x_range") and check["violations_in_region"] and check["property"].startswith("accuracy")
        }
    )


def _threshold_position(config: dict, emin: int) -> float | None:
    beta, threshold = as_float(config["kernel_beta"]), as_float(config["kernel_threshold"])
    if not (beta > 0 and math.isfinite(beta) and math.isfinite(threshold) and threshold > 0):
        return None
    x = threshold / beta
    return edge_position(math.log2(x), emin) if math.isfinite(x) and x > 0 and math.log2(x) >= emin else None


def _histogram_panel(ax, config: dict) -> None:
    labels = bucket_labels()
    width = 0.4
    for k, oracle in enumerate(("documented", "math")):
        counts = config["stats"][oracle]["histogram"]
        bars = [(i + (k - 0.5) * width, n) for i, n in enumerate(counts) if n > 0]  # empty buckets: no bar
        ax.bar(
            [b[0] for b in bars],
            [b[1] for b in bars],
            width=width,
            color=COLOURS[oracle],
            label=f"{oracle} oracle",
            log=True,
        )
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7.5)
    ax.set_ylim(bottom=0.7)
    _decades(ax)
    ax.minorticks_off()
    ax.set_ylabel("inputs (log scale)")
    ax.set_xlabel("ULP error, bucket upper edge")
    ax.set_title("Histogram of ULP errors", pad=16)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, fontsize=7.5, frameon=False, borderaxespad=0.1)


def _binade_panel(ax, config: dict) -> None:
    emin = _emin(config)
    emax = _emax(config)
    extent = emax - emin + 2
    maxima: dict[str, dict[int, float]] = {}
    for oracle in ("documented", "math"):
        points = maxima.setdefault(oracle, {})
        for entry in binade_entries(config["stats"][oracle]):
            binade = min(entry["binade"], emax) if isinstance(entry["binade"], int) else entry["binade"]
            centre = binade_position(entry["sign"], binade, emin)  # floor(log2|x|) can round up at the top
            value = as_float(entry["max_ulp"])
            value = FLOOR if not value > FLOOR else value  # NaN and tiny errors on the floor
            points[centre] = max(points.get(centre, 0.0), value)
    interesting = {c for points in maxima.values() for c, v in points.items() if v > FLOOR}
    worst = _worst_position(config, emin, emax)
    if worst is not None:
        interesting.add(worst[0])
    threshold = _threshold_position(config, emin)
    if threshold is not None:
        interesting.add(round(threshold))
    spans = deviation_spans(config, emin, emax)
    interesting.update(round(edge) for span in spans for edge in span)
    axis = Compression(extent, interesting)
    top = 1.0
    for oracle, points in maxima.items():
        xs: list[float] = []
        ys: list[float] = []
        for centre in sorted(points):
            if xs and xs[-1] != axis(centre - 0.5):  # a binade without data: break the line
                xs.append(math.nan)
                ys.append(math.nan)
            xs += [axis(centre - 0.5), axis(centre + 0.5)]
            ys += [points[centre]] * 2
        top = max(top, *(y for y in ys if math.isfinite(y)), 1.0)
        ax.plot(xs, ys, STYLES[oracle], color=COLOURS[oracle], lw=1.0, label=f"{oracle} oracle")
    for lo, hi in axis.bands:
        ax.axvspan(axis(lo), axis(hi), color="#e4e4e4", lw=0, zorder=0)
    for k, (lo, hi) in enumerate(spans):  # known deviations: errors here are excused up to their own bound
        label = "known deviation" if k == 0 else None
        hatched = {"facecolor": "none", "edgecolor": "#8a6d00", "hatch": "////", "lw": 0, "zorder": 0.5}
        ax.axvspan(axis(lo), axis(hi), label=label, **hatched)
    budget = (config.get("budgets") or {}).get("documented")
    if budget is not None:  # the documented oracle's budget: errors above it are excused or failures
        top = max(top, budget)
        ax.axhline(budget, color="#b3261e", lw=0.7, ls="--")
        label_at = {"transform": ax.get_yaxis_transform(), "va": "bottom", "ha": "left"}
        ax.text(1.0, budget, " budget", fontsize=7.5, color="#b3261e", **label_at)
    if worst is not None:  # the worst input of the configuration (documented oracle)
        centre, value = worst
        ax.plot([axis(centre)], [max(value, FLOOR)], marker="v", ms=5, color="#1b1b1b", ls="none", label="worst x")
    ax.set_yscale("log")
    _decades(ax)
    ax.set_ylim(FLOOR / 1.5, top * 3)
    ax.set_xlim(axis.drawn[0], axis.drawn[-1])
    ax.minorticks_off()
    ax.axhline(0.5, color="#555555", lw=0.6, ls=":")
    ax.text(
        1.0, 0.5, " ½ ULP", transform=ax.get_yaxis_transform(), fontsize=7.5, va="center", ha="left", color="#555555"
    )
    if threshold is not None:
        ax.axvline(axis(threshold), color="#555555", lw=0.8, ls="-.")
        drawn = axis(threshold)
        near_right = (drawn - axis.drawn[0]) > 0.8 * (axis.drawn[-1] - axis.drawn[0])  # keep the label inside
        ax.text(
            drawn,
            0.98,
            "x = t/b " if near_right else " x = t/b",
            transform=ax.get_xaxis_transform(),
            fontsize=7.5,
            va="top",
            ha="right" if near_right else "left",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.85},
        )
    ticks, labels = _ticks(axis, emin, emax)
    ax.set_xticks(ticks, labels, fontsize=7.5)
    ax.set_xlabel(
        "binade of x" + ("  (grey: binades with no error above 0.0001 ULP, drawn narrow)" if axis.bands else "")
    )
    ax.set_ylabel(f"max ULP error (log; ≤{FLOOR:g} on the floor)")
    ax.set_title("Largest ULP error per binade of x", pad=16)
    # above the axes, not over the data: the legend never hides a step or the worst-x marker
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=4, fontsize=7.5, frameon=False, borderaxespad=0.1)


def _worst_position(config: dict, emin: int, emax: int) -> tuple[int, float] | None:
    """The binade centre and the error of the configuration's worst input (documented oracle)."""
    stats = config["stats"]["documented"]
    worst = stats.get("worst")
    if not worst:
        return None
    x = as_float(worst["x"])
    if not math.isfinite(x):
        return None
    if x == 0:
        binade = "zero"
    elif abs(x) < 2.0**emin:
        binade = "subnormal"
    else:
        binade = min(math.frexp(abs(x))[1] - 1, emax)
    sign = "-" if math.copysign(1.0, x) < 0 else "+"
    return binade_position(sign, binade, emin), as_float(stats["max_ulp"])


def figure_svg(config: dict) -> str:
    """The configuration's figure as a standalone SVG document (deterministic)."""
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: the caller's backend and figures are left alone

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(10, 3.3))
        fig.subplots_adjust(left=0.06, right=0.955, bottom=0.27, top=0.84, wspace=0.2)
        left, right = fig.subplots(1, 2, width_ratios=(1, 1.35))
        _histogram_panel(left, config)
        _binade_panel(right, config)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def symbol(svg: str, symbol_id: str) -> tuple[str, str]:
    """An SVG document as a ``<symbol>`` of a sprite, and its viewBox: no XML prologue, ids made
    unique with ``symbol_id`` (only those something refers to: matplotlib names every artist),
    paths to 1/10 pt and positions to 1/100 pt, whitespace between elements dropped."""
    prefix = f"{symbol_id}-"
    svg = re.sub(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*|<!--.*?-->\s*|<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}\1"', svg)
    svg = svg.replace("url(#", f"url(#{prefix}").replace('href="#', f'href="#{prefix}')
    svg = re.sub(r'\bd="[^"]*"', lambda m: re.sub(r"(\d\.\d)\d+", r"\1", m.group(0)), svg)
    # positions of text and markers to 1/100 pt (a figure is drawn at most 1.6 px per pt)
    svg = re.sub(r'\b(?:transform|x|y)="[^"]*"', lambda m: re.sub(r"(\d\.\d\d)\d+", r"\1", m.group(0)), svg)
    svg = re.sub(r">\s+<", "><", re.sub(r"\s*\n\s*", " ", svg)).strip()
    referenced = set(re.findall(r'url\(#([^)"]+)\)', svg)) | set(re.findall(r'href="#([^"]+)"', svg))
    svg = re.sub(r'\sid="([^"]+)"', lambda m: m.group(0) if m.group(1) in referenced else "", svg)
    match = re.match(r"<svg([^>]*)>(.*)</svg>$", svg, flags=re.S)
    view_box = re.search(r'viewBox="([^"]*)"', match.group(1)).group(1)
    return f'<symbol id="{symbol_id}" viewBox="{view_box}">{match.group(2)}</symbol>', view_box


def _drawn_elsewhere(configs: list[dict]) -> list[str] | None:
    """:func:`figure_svg` of each configuration, drawn in a fresh interpreter (``python -m
    suite.report.plots``, the configurations as JSON on its standard input); None where it failed.
    A fresh interpreter, not a fork: the caller may hold threads (torch's, numba's) that a fork
    would copy mid-work; and not multiprocessing's spawn, which imports the caller's main module."""
    import site
    import subprocess
    import sys
    from pathlib import Path

    home = str(Path(__file__).resolve().parents[2])  # the directory that holds the package suite
    installed = {str(Path(p).resolve()) for p in [*site.getsitepackages(), site.getusersitepackages()]}
    # a source tree goes on the path; site-packages is there already (ahead of the stdlib, it could shadow it)
    path = os.pathsep.join(p for p in (None if home in installed else home, os.environ.get("PYTHONPATH")) if p)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "suite.report.plots"],
            input=json.dumps(configs),
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": path},
            timeout=600,
        )
        svgs = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, TypeError, ValueError):
        return None
    return svgs if isinstance(svgs, list) and len(svgs) == len(configs) else None


PARALLEL_FROM = 12
"""Figures to draw from which :meth:`FigureCache.prepare` draws them in other interpreters (each
starts in about a second; a figure takes about a fifth of a second on a 2 GHz core)."""


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class FigureCache:
    """Figures by content: configurations with the same measurements share one rendering, drawn
    once in the page (a sprite of ``<symbol>`` s) and shown where needed with ``<use>``."""

    def __init__(self) -> None:
        self._symbols: dict[str, tuple[str, str, str]] = {}  # key -> (symbol id, symbol, viewBox)
        self._drawn: dict[str, str] = {}  # key -> figure_svg, drawn ahead by prepare

    def prepare(self, configs, workers: int | None = None) -> None:
        """Draw the figures of ``configs`` ahead, each once, in up to ``workers`` fresh interpreters
        (default: every usable CPU), where there are at least :data:`PARALLEL_FROM` of them;
        :meth:`use` then takes them from here. Each figure is drawn from its configuration alone with
        the same settings (:func:`figure_svg` is deterministic), so the page is the same bit for bit
        as one whose figures :meth:`use` draws one after the other. Where an interpreter cannot
        draw, its figures are drawn here, one by one, as they are used."""
        todo: dict[str, dict] = {}
        for config in configs:
            key = self._key(config)
            if key not in self._symbols and key not in self._drawn:
                todo.setdefault(key, config)
        workers = min(workers or usable_cpus(), len(todo))
        if len(todo) < PARALLEL_FROM or workers < 2:
            return
        from concurrent.futures import ThreadPoolExecutor

        keys = list(todo)
        shares = [keys[k::workers] for k in range(workers)]
        with ThreadPoolExecutor(max_workers=workers) as pool:  # each thread waits on its interpreter
            drawn = pool.map(lambda share: _drawn_elsewhere([todo[key] for key in share]), shares)
            for share, svgs in zip(shares, drawn, strict=True):
                if svgs is not None:
                    self._drawn.update(zip(share, svgs, strict=True))

    def use(self, config: dict, label: str) -> str:
        """An ``<svg>`` that shows the configuration's figure by reference (labelled for assistive
        technology; ``label`` is escaped)."""
        from markupsafe import escape

        key = self._key(config)
        if key not in self._symbols:
            symbol_id = f"fig{len(self._symbols)}"
            drawn = self._drawn.pop(key, None)
            self._symbols[key] = (symbol_id, *symbol(drawn if drawn is not None else figure_svg(config), symbol_id))
        symbol_id, _, view_box = self._symbols[key]
        return (
            f'<svg class="plot" role="img" aria-label="{escape(label)}" viewBox="{view_box}">'
            f'<title>{escape(label)}</title><use href="#{symbol_id}"/></svg>'
        )

    def sprite(self) -> str:
        """Every figure used, once: a zero-sized, hidden ``<svg>`` of symbols (not ``display: none``,
        which would switch off their clip paths)."""
        symbols = "".join(s for _, s, _ in self._symbols.values())
        # the same style attributes recur thousands of times: one CSS class each, defined once
        classes: dict[str, str] = {}

        def as_class(match: re.Match) -> str:
            name = classes.setdefault(match.group(1), f"fs{len(classes)}")
            return f' class="{name}"'

        symbols = re.sub(r' style="([^"]*)"', as_class, symbols)
        rules = "".join(f".{name}{{{style}}}" for style, name in classes.items())
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" aria-hidden="true" focusable="false" '
            f'style="position:absolute;width:0;height:0;overflow:hidden"><style>{rules}</style>{symbols}</svg>'
        )

    @staticmethod
    def _key(config: dict) -> str:
        return json.dumps(
            [
                config["dtype"],
                config["kernel_beta"],
                config["kernel_threshold"],
                [config["stats"][o][k] for o in ("documented", "math") for k in ("histogram", "binade_max")],
                (config.get("budgets") or {}).get("documented"),
                (config["stats"]["documented"].get("worst") or {}).get("x_bits"),
                excusing_ranges(config),
            ],
            sort_keys=True,
        )


if __name__ == "__main__":  # FigureCache.prepare's interpreters: configurations in, figures out (JSON)
    import sys

    json.dump([figure_svg(config) for config in json.load(sys.stdin)], sys.stdout)

"""How much sooner an audit's page is ready with its figures drawn in parallel interpreters.

One real audit of float16 (every input; the default grid, both CPU paths, the value and both
derivatives: 30 configurations, each with its figure) is rendered to its HTML page twice per
round: its figures drawn one after the other here (``workers=1``), and drawn ahead in one fresh
interpreter per usable CPU (:meth:`suite.report.plots.FigureCache.prepare`, the default). The pages
are the same bit for bit (asserted: that is the point of drawing them elsewhere); the seconds of
each and their ratio are recorded in ``benchmark.extra_info``, with the number of CPUs. No
wall-clock assertion: timings depend on the machine.

    tox -e bench
"""

from __future__ import annotations

import json
import time

import pytest

from suite.report.plots import usable_cpus
from suite.report.render import render_html
from tests.conftest import audit_from_the_command_line


@pytest.fixture(scope="module")
def float16_run(tmp_path_factory) -> dict:
    result, out = audit_from_the_command_line(
        tmp_path_factory.mktemp("float16-audit"), "--dtype", "float16", "--target", "torch.nn.functional:softplus"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "audit.json").read_text())


def test_page_with_figures_drawn_in_parallel(benchmark, float16_run):
    seconds: dict[str, list[float]] = {"serial": [], "parallel": []}

    def both() -> None:
        pages = {}
        for name, workers in (("serial", 1), ("parallel", None)):
            begun = time.perf_counter()
            pages[name] = render_html(float16_run, workers=workers)
            seconds[name].append(time.perf_counter() - begun)
        assert pages["parallel"] == pages["serial"]

    benchmark.pedantic(both, rounds=3, iterations=1)
    serial, parallel = min(seconds["serial"]), min(seconds["parallel"])  # the least disturbed of each
    benchmark.extra_info.update(
        cpus=usable_cpus(),
        configurations=len(float16_run["configurations"]),
        serial_seconds=serial,
        parallel_seconds=parallel,
        ratio=serial / parallel,
    )

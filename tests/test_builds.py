"""torch's CPU capability builds, each in its own process (``softplus-audit builds``)."""

from __future__ import annotations

import platform

import pytest

from suite.audit import builds
from tests.test_report import cli_here


@pytest.mark.processes
@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="the x86 builds (default, avx2) only")
def test_each_build_runs_in_its_own_process_and_one_the_cpu_lacks_is_reported(tmp_path, monkeypatch):
    """default and avx2 are audited (torch says which build ran); sve256, an ARM build that torch
    cannot select here, is reported as unsupported on this CPU, with what torch ran instead, and
    the other builds go on."""
    monkeypatch.setattr(builds, "capabilities_here", lambda: ("default", "avx2", "sve256"))
    run_args = ["--target", builds.TARGET, "--dtype", "float16", "--quantity", "forward", "--grid", "1,20"]
    done = builds.run_builds(run_args, ["float16"], ["forward"], tmp_path)
    by_name = {b.requested: b for b in done}
    assert by_name["default"].status == "audited"
    assert by_name["default"].ran == "DEFAULT"
    assert (tmp_path / "audit-default.json").exists()
    if by_name["avx2"].status == "audited":
        assert by_name["avx2"].ran == "AVX2"
    else:  # a CPU without AVX2
        assert by_name["avx2"].status == "unsupported on this CPU"
    lacking = by_name["sve256"]
    assert lacking.status == "unsupported on this CPU"
    assert lacking.ran is not None
    assert lacking.ran in lacking.detail
    assert lacking.run_file is None
    record = builds.summary(done)
    assert record["versus"] == "default"
    for per_key in record["disagreement"].values():
        assert per_key["float16.forward"]["inputs"] == 65536
    assert "unsupported on this CPU" in builds.markdown(record)


def test_bad_input_to_builds_is_one_line_and_starts_nothing(tmp_path):
    code, err = cli_here("builds", "--dtype", "float8", "--out", str(tmp_path / "b"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").iterdir())
    code, err = cli_here("builds", "--grid", "0,20", "--out", str(tmp_path / "c"))
    assert code == 2
    assert "beta" in err

"""Knife edges: inputs whose exact result lies within 2**-20 ULP of a rounding midpoint, found
exactly, and the audit's count of those an implementation rounds correctly (which can fail)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from suite.audit import knife_edges as audit_knife_edges
from suite.audit.engine import Auditor, AuditSettings
from suite.numerics.fastref import fast_reference
from suite.numerics.formats import BFLOAT16, FLOAT16, FLOAT32, FLOAT64
from suite.numerics.midpoints import KNIFE_EDGE_ULP, _distance_from_mpmath, knife_edges, midpoint_distance
from suite.numerics.params import Oracle, Params, Quantity
from suite.sweep.knife_edges import search_knife_edges
from tests.test_cli import ROOT
from tests.test_cli import run as cli_process
from tests.test_reproducers import check_reproduced

PUBLISHED = ROOT / "reports" / "published" / "knife-edges"


@pytest.mark.parametrize("quantity", list(Quantity))
def test_the_distance_to_a_midpoint_is_mpmaths_within_its_stated_uncertainty(quantity):
    """Every 4099th float32 input near 0.7, -3 and -90: the fast distance and its side agree with
    40 digits of the exact value."""
    params = Params.as_kernel_sees(1.0, np.inf, FLOAT32)
    checked = 0
    for start in (0.7, -3.0, -90.0):
        lo = int(np.array([start], dtype=np.float32).view(np.uint32)[0])
        x = FLOAT32.decode(FLOAT32.bit_range(lo, lo + 100_000))[::4099]
        ref = fast_reference(quantity, x, params, FLOAT32, Oracle.MATH)
        distance, uncertainty, above = midpoint_distance(ref, FLOAT32)
        for i in np.flatnonzero(np.isfinite(distance)):
            rounded = float(ref.rounded[i])
            exact, exact_above = _distance_from_mpmath(quantity, float(x[i]), params, FLOAT32, Oracle.MATH, rounded)
            assert abs(exact - distance[i]) <= uncertainty[i], (x[i], exact, distance[i])
            assert exact_above == above[i]
            checked += 1
    assert checked >= 60


@pytest.mark.parametrize("quantity", list(Quantity))
def test_the_compiled_loop_picks_the_candidates_the_numpy_path_picks(quantity, monkeypatch):
    """Every float16 input, and float32 around the first knife edge of the published list (so the
    loop has some to find) and near 0.7: the same candidates either way."""
    from suite.numerics import midpoints

    listed = (audit_knife_edges.DATA / f"{audit_knife_edges.list_name(FLOAT32, quantity, 1.0)}.txt").read_text()
    first = int(listed.splitlines()[1], 16)
    cases = [(FLOAT16, FLOAT16.decode(FLOAT16.all_bits()))]
    for start in (first - (1 << 17), 0x3F333333):
        cases.append((FLOAT32, FLOAT32.decode(FLOAT32.bit_range(start, start + (1 << 18)))))
    picked = 0
    for fmt, x in cases:
        ref = fast_reference(quantity, x, Params.as_kernel_sees(1.0, np.inf, fmt), fmt, Oracle.MATH)
        compiled = midpoints._candidates(ref, fmt)
        with monkeypatch.context() as patch:
            patch.setattr(midpoints, "compiled_kernels", lambda: None)
            numpy_path = midpoints._candidates(ref, fmt)
        assert np.array_equal(compiled, numpy_path)
        picked += len(compiled)
    assert picked > 0


def test_the_float16_gradient_has_three_knife_edges_each_confirmed_by_mpmath():
    """sigmoid(x) = 1/2 + x/4 - x^3/48 + ...: at x = 2**-10, 1/2 + 2**-12 is a float16 midpoint, and the
    exact value lies 2**-30/48 below it. Found among every input; each confirmed at 40 digits, and no
    input next to one is a knife edge."""
    params = Params.as_kernel_sees(1.0, np.inf, FLOAT16)
    x = FLOAT16.decode(FLOAT16.all_bits())
    edges = knife_edges(Quantity.GRAD, x, params, FLOAT16)
    assert [FLOAT16.hex_of(v) for v in x[edges.index]] == ["0x1400", "0x9000", "0x9600"]
    for i, distance, rounded in zip(edges.index, edges.distance, edges.rounded, strict=True):
        exact, _ = _distance_from_mpmath(Quantity.GRAD, float(x[i]), params, FLOAT16, Oracle.MATH, rounded)
        assert exact <= KNIFE_EDGE_ULP
        assert exact == pytest.approx(distance, rel=1e-6)
    neighbours = np.concatenate([edges.index - 1, edges.index + 1])
    assert not knife_edges(Quantity.GRAD, x[neighbours], params, FLOAT16).index.size


def _knife(target: str, fmt, quantity) -> dict:
    settings = AuditSettings(targets=(target,), formats=(fmt,), grid=((1.0, 20.0),), quantities=(quantity,))
    auditor = Auditor(settings)
    return auditor.result(auditor.configurations()[0]).knife_edges


def test_the_audit_counts_the_knife_edges_an_implementation_rounds_correctly():
    """torch's float16 gradient is sigmoid computed in float32, then rounded to float16: at x = 0x9600
    the exact value lies 2.7e-7 ULP above the midpoint between 0x37fe and 0x37ff, closer than float32's
    own error there (about 2**-13 of a float16 ULP), and torch gives 0x37fe. Computed in float64 and
    rounded once, every knife edge comes out right: the count can fail, and does where it should."""
    torch_result = _knife("torch.nn.functional:softplus", FLOAT16, Quantity.GRAD)
    assert (torch_result["correctly_rounded"], torch_result["inputs"]) == (2, 3)
    (wrong,) = torch_result["wrong"]
    assert wrong["x_bits"] == "0x9600"
    assert (wrong["output"]["repr"], wrong["correctly_rounded"]["repr"]) == ("0.49951171875", "0.499755859375")
    assert "assert bits == 0x37fe" in wrong["reproducer"]  # on the path it names, the output recorded
    check_reproduced([("float16 gradient knife edge", wrong, 0.49951171875, "float16")])  # and it prints them
    once = _knife("tests.planted_targets:rounded_once_from_float64", FLOAT16, Quantity.GRAD)
    assert (once["correctly_rounded"], once["inputs"], once["wrong"]) == (3, 3, [])
    assert _knife("torch.nn.functional:softplus", BFLOAT16, Quantity.FORWARD)["inputs"] == 0


def test_the_packaged_lists_are_the_published_ones_and_hold_only_knife_edges():
    """Each packaged list (float32: every input examined; float64: the search) is the published one
    byte for byte, and loading it checks again that every input in it is a knife edge."""
    packaged = sorted(audit_knife_edges.DATA.glob("*.txt"))
    assert {p.name.split("-")[2] for p in packaged} == {"float32", "float64"}
    for path in packaged:
        published = PUBLISHED / path.name
        assert path.read_bytes() == published.read_bytes(), f"{path.name} differs from the published list"
        _, _, dtype, quantity, beta = path.stem.split("-")
        fmt = FLOAT32 if dtype == "float32" else FLOAT64
        lines = path.read_text().splitlines()[1:]
        edges = audit_knife_edges.knife_edge_set(fmt, Quantity.named(quantity), float(beta[1:]))  # raises if not
        assert [fmt.hex_of(v) for v in edges.x] == lines
        if published.with_suffix(".json").exists():
            assert json.loads(published.with_suffix(".json").read_text())["count"] == len(lines)


def test_the_float64_search_finds_knife_edges_that_mpmath_confirms():
    """The search inverts the function around anchors: near 0, ln2 + x/2 passes the midpoints next to
    ln2 so slowly that runs of neighbouring inputs lie within a hair of one. A sample of what it
    finds, confirmed one by one at 40 digits."""
    record = search_knife_edges(FLOAT64, Quantity.GRAD2)
    assert not record["exhaustive"]
    assert record["count"] > 100
    params = Params.as_kernel_sees(1.0, np.inf, FLOAT64)
    for edge in record["edges"][:: max(1, record["count"] // 25)]:
        rounded = float(edge["correctly_rounded"])
        exact, above = _distance_from_mpmath(Quantity.GRAD2, edge["x"], params, FLOAT64, Oracle.MATH, rounded)
        assert exact <= KNIFE_EDGE_ULP
        assert above == edge["exact_above_midpoint"]
        assert exact == pytest.approx(edge["distance_ulp"], rel=1e-3, abs=1e-12)


def test_a_damaged_list_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(audit_knife_edges, "DATA", tmp_path)
    name = audit_knife_edges.list_name(FLOAT32, Quantity.GRAD2, 3.0)
    (tmp_path / f"{name}.txt").write_text("# a header\n0x3f800000\n")  # x = 1: no knife edge
    with pytest.raises(audit_knife_edges.KnifeEdgeFileError, match="1 of its inputs are not knife edges"):
        audit_knife_edges.knife_edge_set(FLOAT32, Quantity.GRAD2, 3.0)
    audit_knife_edges.knife_edge_set.cache_clear()


def test_the_knife_edges_command_writes_the_list_three_ways(tmp_path):
    result = cli_process("knife-edges", "--dtype", "float16", "--quantity", "grad", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads((tmp_path / "knife-edges-float16-grad-b1.json").read_text())
    assert data["count"] == 3
    assert data["exhaustive"]
    assert [e["x_bits"] for e in data["edges"]] == ["0x1400", "0x9000", "0x9600"]
    text = (tmp_path / "knife-edges-float16-grad-b1.txt").read_text().splitlines()
    assert text[1:] == ["0x1400", "0x9000", "0x9600"]
    assert "**3 of 65,536 inputs**" in (tmp_path / "knife-edges-float16-grad-b1.md").read_text()
    # a beta with a fraction names its files whole (no ".1" taken for a suffix)
    tenth = cli_process("knife-edges", "--dtype", "float16", "--beta", "0.1", "--out", str(tmp_path))
    assert tenth.returncode == 0, tenth.stderr[-2000:]
    names = sorted(p.name for p in tmp_path.glob("knife-edges-float16-forward-*"))
    assert names == [f"knife-edges-float16-forward-b0.1.{s}" for s in ("json", "md", "txt")]
    assert json.loads((tmp_path / names[0]).read_text())["edges"][0]["x_bits"] == "0x0d89"
    bad = cli_process("knife-edges", "--dtype", "float8", "--out", str(tmp_path / "no"))
    assert bad.returncode == 2
    assert "unknown dtype 'float8'" in bad.stderr
    assert not (tmp_path / "no").exists()

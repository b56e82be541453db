"""Knife edges: inputs whose exact result lies within 2**-20 ULP of a rounding midpoint, found
exactly, and the audit's count of those an implementation rounds correctly (which can fail)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from suite.audit import knife_edges as audit_knife_edges
from suite.audit.engine import Auditor, AuditSettings
from suite.numerics.fastref import fast_reference
from suite.numerics.formats import BFLOAT16, FLOAT16, FLOAT32
from suite.numerics.midpoints import KNIFE_EDGE_ULP, _distance_from_mpmath, knife_edges, midpoint_distance
from suite.numerics.params import Oracle, Params, Quantity
from tests.test_cli import ROOT
from tests.test_cli import run as cli_process

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
    once = _knife("tests.planted_targets:rounded_once_from_float64", FLOAT16, Quantity.GRAD)
    assert (once["correctly_rounded"], once["inputs"], once["wrong"]) == (3, 3, [])
    assert _knife("torch.nn.functional:softplus", BFLOAT16, Quantity.FORWARD)["inputs"] == 0


def test_the_packaged_float32_lists_are_the_published_ones_and_hold_only_knife_edges():
    for packaged in sorted(audit_knife_edges.DATA.glob("*.txt")):
        published = PUBLISHED / packaged.name
        assert packaged.read_bytes() == published.read_bytes(), f"{packaged.name} differs from the published list"
        record = json.loads(published.with_suffix(".json").read_text())
        quantity = Quantity.named(record["quantity"])
        edges = audit_knife_edges.knife_edge_set(FLOAT32, quantity, record["beta"])  # raises if one is not
        assert len(edges.x) == record["count"] > 0
        assert [FLOAT32.hex_of(v) for v in edges.x[:5]] == [e["x_bits"] for e in record["edges"][:5]]
    assert sorted(p.name for p in audit_knife_edges.DATA.glob("*.txt"))


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
    bad = cli_process("knife-edges", "--dtype", "float64", "--out", str(tmp_path / "no"))
    assert bad.returncode == 2
    assert "too many inputs to examine every one" in bad.stderr

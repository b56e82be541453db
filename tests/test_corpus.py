"""The corpus of known upstream problems: data a user extends, checks that can fail."""

from __future__ import annotations

import pytest

from suite import implementations
from suite.audit import corpus
from tests.test_report import cli_here

EXTENDED = """
[[problem]]
id = "zero-beta"
description = "beta = 0 accepted"
reference = "pytorch/pytorch#83169"
families = ["torch"]
dtype = "float32"
quantity = "forward"
beta = 0.0
x = [1.0]
present_when = "returns_inf"

[[problem]]
id = "huge-beta"
description = "inf for a finite value"
reference = "pytorch/pytorch#171249"
families = ["torch"]
dtype = "float32"
quantity = "forward"
beta = 1e30
threshold = 1e30
x = [0.5]
present_when = "inf_where_finite"

[[problem]]
id = "jump"
description = "steps down at t/b"
reference = "pytorch/pytorch#31110"
families = ["torch"]
dtype = "float32"
quantity = "forward"
threshold = 1.0
x = [1.0, 1.0000001192092896]
present_when = "steps_down"

[[problem]]
id = "nan-grad"
description = "NaN gradient below a large threshold"
reference = "-"
families = ["torch"]
dtype = "float32"
quantity = "grad"
threshold = 100.0
x = [90.0]
present_when = "nan_where_number"

[[problem]]
id = "flush"
description = "a premature zero"
reference = "-"
families = ["*"]
dtype = "float32"
quantity = "forward"
x = [-80.0]
present_when = "zero_where_positive"

[[problem]]
id = "output-tested-backward"
description = "gradient 1 below t/b"
reference = "pytorch/pytorch#55587"
families = ["torch"]
dtype = "float32"
quantity = "grad"
threshold = 1.0
x = [0.9]
present_when = "ulp_error_above"
max_ulp = 4
"""

# problem id -> (an implementation with the problem, one without)
PLANTED = {
    "zero-beta": ("torch.nn.functional:softplus", "tests.planted_corpus:refuses_zero_beta"),
    "huge-beta": ("torch.nn.functional:softplus", "tests.planted_corpus:capped_threshold"),
    "jump": ("torch.nn.functional:softplus", "tests.planted_corpus:without_threshold"),
    "nan-grad": ("torch.nn.functional:softplus", "tests.planted_corpus:capped_threshold"),
    "flush": ("tests.planted_corpus:flushes_tiny", "torch.nn.functional:softplus"),
    "output-tested-backward": ("tests.planted_corpus:output_tested_backward", "torch.nn.functional:softplus"),
}


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "mine.toml"
    path.write_text(EXTENDED)
    return path


def test_the_packaged_corpus_is_valid_and_every_predicate_is_used_by_a_check():
    problems = corpus.load()
    assert len({p.id for p in problems}) == len(problems)
    assert all(p.reference for p in problems)
    assert {p.present_when for p in problems} | {"zero_where_positive"} <= set(corpus.PREDICATES)


@pytest.mark.parametrize("problem_id", list(PLANTED))
def test_each_check_says_present_with_the_problem_and_fixed_without(extended, problem_id):
    (problem,) = [p for p in corpus.load(extended) if p.id == problem_id]
    with_problem, without = PLANTED[problem_id]
    found = corpus.check(problem, with_problem, implementations.load(with_problem))
    assert found.status == "present", found
    clean = corpus.check(problem, without, implementations.load(without))
    assert clean.status == "fixed", clean


def test_a_problem_of_another_family_is_not_applicable():
    (problem,) = [p for p in corpus.load() if p.id == "ort-log-exp-cancellation"]
    outcome = corpus.check(problem, "numpy:logaddexp", implementations.load("numpy:logaddexp"))
    assert outcome.status == "not applicable"


def test_the_command_reports_each_problem_and_refuses_a_broken_corpus(extended, tmp_path):
    code, err = cli_here("corpus", "--corpus", str(extended), "--target", "torch.nn.functional:softplus",
                         "--out", str(tmp_path / "c"))  # fmt: skip
    assert code == 0, err
    md = (tmp_path / "c" / "corpus.md").read_text()
    assert md.count("**present**") == 4, md  # zero-beta, huge-beta, jump, nan-grad; not flush, backward
    broken = tmp_path / "broken.toml"
    broken.write_text(EXTENDED.replace('present_when = "steps_down"', 'present_when = "looks_wrong"'))
    code, err = cli_here("corpus", "--corpus", str(broken), "--out", str(tmp_path / "d"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "accepted: returns_inf" in err


def test_a_table_of_several_releases_labels_each_corpus_column_by_the_torch_it_checked(tmp_path):
    """Corpus files of several torch releases in one folder (``--name``, as ``tox -e releases``
    writes them): each column says which torch it checked, from the file alone; two files of one
    release are told apart by their file. The second release's file is the first one with another
    recorded version, since one environment has one torch."""
    import json

    from suite.report.table import corpus_matrix, load_corpus, report_files

    target = "torch.nn.functional:softplus"
    code, err = cli_here("corpus", "--target", target, "--out", str(tmp_path), "--name", "corpus-here")
    assert code == 0, err
    assert not (tmp_path / "corpus.json").exists()
    here = json.loads((tmp_path / "corpus-here.json").read_text())
    import torch

    assert here["environment"]["torch"] == torch.__version__
    assert here["environment"][f"target {target}"] == "torch.nn.functional.softplus"
    other = {**here, "environment": {**here["environment"], "torch": "2.99.0"}}
    (tmp_path / "corpus-other.json").write_text(json.dumps(other))
    labels, _ = corpus_matrix(load_corpus(report_files([str(tmp_path)])))
    assert labels == [f"{target} (torch {torch.__version__})", f"{target} (torch 2.99.0)"]  # files in name order
    (tmp_path / "corpus-same.json").write_text(json.dumps(here))
    labels, rows = corpus_matrix(load_corpus(report_files([str(tmp_path)])))
    assert labels == [
        f"{target} (torch {torch.__version__}, {tmp_path.name}/corpus-here.json)",
        f"{target} (torch 2.99.0)",
        f"{target} (torch {torch.__version__}, {tmp_path.name}/corpus-same.json)",
    ]
    assert all(len(outcomes) == 3 and None not in outcomes for _, outcomes in rows)

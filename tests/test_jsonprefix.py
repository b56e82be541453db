r"""suite.report.jsonprefix: truncated JSON (a proper prefix of a document) told exactly from not-JSON.

The oracle is the standard library, made strict (``NaN``/``Infinity`` rejected):

* every prefix of a document is a prefix, so it is a *proper* prefix exactly when ``json.loads``
  rejects it (a bare top-level number such as ``12`` cut from ``123`` is complete, not proper);
* a text is complete exactly when ``json.loads`` accepts it;
* the scanner's completion is a witness: ``json.loads(text + completion)`` must succeed;
* the scanner without its regex shortcuts (``_scan(text, fast=False)``, the character-level
  machines alone) must give the same verdict as with them.

The claim that the character after the longest valid prefix cannot continue any document has no
such oracle: it is checked on hand-made cases with the offending index written out.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suite.report.jsonprefix import (
    PrefixScan,
    _scan,
    completion,
    is_proper_prefix,
    line_column,
    longest_valid_prefix,
    scan,
)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not strict JSON")


def loads_error(text: str) -> ValueError | None:
    """What strict ``json.loads`` raises on ``text`` (None when it parses)."""
    try:
        json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:  # json.JSONDecodeError is one
        return error
    return None


def loads_ok(text: str) -> bool:
    return loads_error(text) is None


def check_verdict(text: str) -> PrefixScan:
    """Everything that can be checked about the verdict on any text (not too deeply nested for
    ``json.loads``)."""
    verdict = scan(text)
    assert verdict == _scan(text, fast=False), text
    assert verdict.complete == loads_ok(text), text
    k = verdict.valid_length
    assert 0 <= k <= len(text)
    witness = completion(text[:k])
    assert witness is not None, text
    assert loads_ok(text[:k] + witness), (text, k, witness)
    if k < len(text):
        assert verdict.completion is None, text
        assert not verdict.complete
        assert not is_proper_prefix(text)
        # prefixes of prefixes are prefixes: the verdict on a longer cut stops at the same place
        assert longest_valid_prefix(text[: k + 1]) == k, text
    else:
        assert verdict.completion is not None
        assert loads_ok(text + verdict.completion), (text, verdict.completion)
        assert is_proper_prefix(text) == (not verdict.complete)
        assert (verdict.completion == "") == verdict.complete
    error = loads_error(text)
    if isinstance(error, json.JSONDecodeError):  # same line and column convention as json's
        assert line_column(text, error.pos) == (error.lineno, error.colno)
    return verdict


def check_every_cut(doc: str) -> None:
    """Every cut of a document is a prefix; a proper one exactly when json.loads rejects it."""
    assert loads_ok(doc)
    assert scan(doc) == PrefixScan(len(doc), True, "")
    assert not is_proper_prefix(doc)
    for k in range(len(doc)):
        cut = doc[:k]
        verdict = scan(cut)
        assert verdict.valid_length == k, (k, cut)
        assert verdict.proper_prefix == (not loads_ok(cut)), (k, cut)
        assert is_proper_prefix(cut) == verdict.proper_prefix
        assert loads_ok(cut + verdict.completion), (k, cut, verdict.completion)
        assert verdict == _scan(cut, fast=False), (k, cut)


# Nested objects and arrays, every escape, \u sequences (a surrogate pair among them), non-ASCII
# characters and the number shapes of the grammar; the top level is an object, so every cut is
# a proper prefix.
VARIED = (
    r'{"numbers": [-0, 0, 0.5, 1e-7, -12.5E+30, 6.02e23, 10, -3, 1E5, 2e+0, 0.000, 123456789012345678901],'
    r' "escapes": "tab\t quote\" back\\ slash\/ \b\f\n\r \u00e9\uD83D\uDE00\u0000 é 漢字 😀",'
    '\n "literals": [true, false, null], "empty": {}, "none": [], "": "",'
    r' "nested": {"x": [[], [{}], [1, [2, [3, {"deep": [null]}]]]], "y": {"z": {"w": "\u004A\u004a"}}},'
    ' "mixed" :\t[ true ,false,null , "" , {"a":{"b":{}}} , [ ] ]\r\n}'
)

REPORT = {
    "format": 1,
    "suite": {"version": "0.3.0", "reference": "mpmath", "precision_bits": 200},
    "configurations": [
        {
            "target": "torch.nn.functional.softplus",
            "dtype": "float16",
            "beta": 1.0,
            "threshold": 20.0,
            "max_ulp": 1.4999977500,
            "mean_ulp": 0.2500000001,
            "worst_input": "0x1.8p+1",
            "worst_output": "-0x1.fffffep-126",
            "binade_max": [
                {"exponent": -14, "max_ulp": 0.5, "count": 1024, "input": "0x1.0p-14"},
                {"exponent": 0, "max_ulp": 1.4999977500, "count": 1024, "input": "0x1.8p+1"},
            ],
            "ulps": [1.4999977500, 0.0, -0.0, 1e-300, 5e-324, 1.7976931348623157e308, 2.5e-08, -7],
            "passed": True,
            "note": None,
        },
        {"target": "numpy.logaddexp", "dtype": "float64", "binade_max": [], "ulps": [], "passed": False},
    ],
    "notes": ["ULPs of the output format, relative to the exact value", 'é — ± ≈ "quoted" \\ \t'],
}

json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.integers() | st.text(max_size=6),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=10,
)
dump_options = st.fixed_dictionaries(
    {
        "indent": st.sampled_from([None, 0, 1, "\t"]),
        "ensure_ascii": st.booleans(),
        "separators": st.sampled_from([None, (",", ":"), (" , ", " :\r\n ")]),
    }
)


def test_varied_document_every_cut_is_a_proper_prefix():
    assert json.loads(VARIED)["escapes"].endswith("😀")
    for k in range(len(VARIED)):
        assert is_proper_prefix(VARIED[:k]), (k, VARIED[:k])
    assert not is_proper_prefix(VARIED)
    check_every_cut(VARIED)


@pytest.mark.parametrize(
    "options",
    [{"indent": 1}, {"indent": 1, "ensure_ascii": False}, {"separators": (",", ":")}],
    ids=["indent1", "indent1-unicode", "compact"],
)
def test_report_shaped_document_every_cut_is_a_proper_prefix(options):
    doc = json.dumps(REPORT, **options)
    assert json.loads(doc) == REPORT
    for k in range(len(doc)):
        assert is_proper_prefix(doc[:k]), (k, doc[:k])
    assert not is_proper_prefix(doc)
    assert not is_proper_prefix(doc + "\n")
    check_every_cut(doc)


@settings(derandomize=True, database=None, deadline=None, max_examples=150)
@given(value=json_values, options=dump_options)
def test_every_prefix_of_a_drawn_document(value, options):
    check_every_cut(json.dumps(value, **options))


@settings(derandomize=True, database=None, deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.recursive(json_values, lambda children: st.lists(children, max_size=8), max_leaves=60),
    options=dump_options,
    data=st.data(),
)
def test_drawn_cuts_of_a_larger_drawn_document(value, options, data):
    doc = json.dumps(value, **options)
    cuts = data.draw(st.lists(st.integers(0, len(doc)), max_size=20))
    for k in cuts:
        cut = doc[:k]
        verdict = scan(cut)
        assert verdict.valid_length == k
        assert verdict.proper_prefix == (not loads_ok(cut))
        assert loads_ok(cut + verdict.completion)


# (text, index of the first character no document can have there)
NOT_PREFIXES = [
    ('{"a" 1}', 5),
    ("[1,]", 3),
    ("[01]", 2),
    ('{"a":1}}', 7),
    ("tru e", 3),
    ("-a", 1),
    (r'"\x"', 2),
    ('"a\nb"', 2),
    ("NaN", 0),
    ("[1 2]", 3),
    ("{,}", 1),
    ("1.e5", 2),
    (".5", 0),
    ('{"a":1}x', 7),
    ("Infinity", 0),
    ("-Infinity", 1),
    ("[NaN]", 1),
    ("01", 1),
    ("-01", 2),
    ("1e+-5", 3),
    ("1.5.3", 3),
    ("1 2", 2),
    ("+1", 0),
    ('"a\x00"', 2),
    ('"a\x1f"', 2),
    ('"\t"', 1),
    (r'"\u12g4"', 5),
    (r'"\U0041"', 2),
    ('{"a":1,}', 7),
    ("[,1]", 1),
    ("{1:2}", 1),
    ('{"a"::1}', 5),
    ("[true false]", 6),
    ("nulll", 4),
    ("True", 0),
    ("\ufeff{}", 0),
    ("[1]]", 3),
    ("]", 0),
    ("{'a': 1}", 1),
    ("[1,,2]", 3),
    ('{"a":1 "b":2}', 7),
    ("[1}", 2),
    ("{]", 1),
    ("[\u00a01]", 1),  # a no-break space is not JSON whitespace
    ("\f[]", 0),
    ("[1]\v", 3),
    ("[1.0e]", 5),
    ("[-]", 2),
    ('["a"\n, "b"\n, ]', 13),
    # the same faults where the scanner takes runs of items and small containers in bulk
    ('["a\x1f", 1]', 3),
    ('[1, "a\x00b", 2]', 6),
    ('[0, "\\n\x1f", 2]', 7),
    ('{"k\x1f": 1, "b": 2}', 3),
    ('[{"a": "\x1f"}, 1]', 8),
    ('[{"a": 01}, 1]', 8),
    ('[{"a": 1,}, 1]', 9),
    ('{"a": [1, 2,], "b": 1}', 12),
    ('{"a": [1, 2], "b": 1, }', 22),
    ("[[1, 2], [3 4], 5]", 12),
    ('["\\u12G4", 1]', 6),
]


@pytest.mark.parametrize(("text", "index"), NOT_PREFIXES, ids=[repr(text) for text, _ in NOT_PREFIXES])
def test_not_a_prefix_and_where_it_stops(text, index):
    assert not is_proper_prefix(text)
    assert longest_valid_prefix(text) == index
    assert completion(text) is None
    assert not loads_ok(text)  # the standard library agrees it is not JSON
    # the text up to the offending character is a prefix, and the character is what spoils it
    assert completion(text[:index]) is not None
    assert longest_valid_prefix(text[: index + 1]) == index
    check_verdict(text)


# Cuts inside every kind of token and between every kind of structure.
PROPER_PREFIXES = [
    "",
    " \n\t\r",
    "-",
    "1.",
    "-0.",
    "1.5e",
    "1.5E-",
    "1e+",
    "t",
    "tru",
    "fals",
    "nul",
    '"',
    '"abc',
    '"\\',
    '"\\u',
    '"\\u12',
    '"\\u12a',
    "[",
    "[ ",
    "[1",
    "[1,",
    "[1, ",
    "[-",
    "[12",
    "[0",
    "[0.5e7",
    "{",
    '{"a"',
    '{"a" ',
    '{"a":',
    '{"a": ',
    '{"a":1',
    '{"a":1,',
    '{"a":1, "b',
    '{"a": [1, {"b": "\\uD83D',
    '[[[{"x": [tru',
    "\n[\n 1.4999977500,\n 0",
]


@pytest.mark.parametrize("text", PROPER_PREFIXES, ids=repr)
def test_proper_prefixes_cut_inside_tokens_and_structure(text):
    assert is_proper_prefix(text)
    assert longest_valid_prefix(text) == len(text)
    assert not loads_ok(text)
    assert loads_ok(text + completion(text))
    check_verdict(text)


def test_a_number_followed_by_a_letter_is_not_a_prefix():
    text = "\n[\n 1.4999977500,\n 0x1.8p+1"
    assert longest_valid_prefix(text) == text.index("x")
    assert line_column(text, text.index("x")) == (4, 3)


@pytest.mark.parametrize("text", ["12", "12 ", "-0", "0", "1.5e3", " 6.02e23\n", "-12.5E+30"])
def test_a_complete_top_level_number_is_not_a_proper_prefix(text):
    # "123" continues "12", but "12" is a document already: complete, so not truncated
    assert scan(text) == PrefixScan(len(text), True, "")
    assert not is_proper_prefix(text)
    assert longest_valid_prefix(text) == len(text)
    assert loads_ok(text)


def test_a_complete_top_level_number_can_still_go_on():
    # the one case where complete and continuable meet: the verdict is "complete"
    assert scan("12") == PrefixScan(2, True, "")
    assert scan("123").complete
    assert scan("12.").proper_prefix
    assert scan("[12").proper_prefix


@pytest.mark.parametrize("text", ['"ab"', "true", "null ", "{}", "[]", ' {"a": [1]} \r\n\t', "false"])
def test_complete_documents_with_trailing_whitespace_are_not_proper_prefixes(text):
    assert scan(text) == PrefixScan(len(text), True, "")
    assert not is_proper_prefix(text)
    assert not is_proper_prefix(text + " \n")
    assert longest_valid_prefix(text + " x") == len(text) + 1


@settings(derandomize=True, database=None, deadline=None, max_examples=300)
@given(
    value=json_values,
    edits=st.lists(
        st.tuples(
            st.sampled_from(["insert", "replace", "delete"]),
            st.integers(0, 10_000),
            st.sampled_from(list('{}[],:"\\/0123456789-+.eEutrfalsnbx \t\n\r\x00\x1f\x7fé\u2028')),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_documents(value, edits):
    text = json.dumps(value)
    for operation, at, char in edits:
        at %= len(text) + 1
        if operation == "insert":
            text = text[:at] + char + text[at:]
        elif operation == "replace":
            text = text[:at] + char + text[at + 1 :]
        else:
            text = text[:at] + text[at + 1 :]
    verdict = check_verdict(text)
    for k in range(verdict.valid_length + 1):  # every cut up to where it stops is a prefix
        assert longest_valid_prefix(text[:k]) == k


TOKENS = [
    "{", "}", "[", "]", ",", ":", '"a"', '"\\u00e9"', '"\\"', "1", "0", "-0.5e+3", "12", "true", "null",
    " ", "\n", '"', "\\", "e", ".", "-", "tru", "u", "00", '"\x1f"', '"\x00',
]  # fmt: skip


@settings(derandomize=True, database=None, deadline=None, max_examples=400)
@given(tokens=st.lists(st.sampled_from(TOKENS), max_size=14))
def test_texts_made_of_json_tokens(tokens):
    check_verdict("".join(tokens))


def test_deep_nesting_needs_no_recursion():
    depth = 100_000
    assert is_proper_prefix("[" * depth)
    assert completion("[" * depth) == "]" * depth
    assert scan("[" * depth + "]" * depth) == PrefixScan(2 * depth, True, "")
    assert longest_valid_prefix("[" * depth + "]" * (depth + 1)) == 2 * depth
    mixed = '[{"a":' * depth + "1" + "}]" * depth
    assert scan(mixed).complete
    assert _scan(mixed, fast=False).complete
    assert completion('[{"a":' * depth) == "0" + "}]" * depth
    wrong = '[{"a":' * depth + "1" + "}]" * (depth - 1) + "]}"
    assert longest_valid_prefix(wrong) == len(wrong) - 2
    assert _scan(wrong, fast=False) == scan(wrong)


@pytest.mark.parametrize(
    "doc",
    [
        json.dumps(list(range(4500))),  # array runs are taken 4096 items at a time
        json.dumps([{"e": i, "m": 0.5} for i in range(4200)], indent=1),
        json.dumps({str(i): [i, -i] for i in range(4200)}),  # and object runs too
        json.dumps([[1] * n for n in range(14, 21)]),  # flat containers up to 17 items
        json.dumps([{str(i): i for i in range(n)} for n in range(14, 21)]),
        json.dumps(["\n" * n for n in (60, 63, 64, 65, 66, 200, 1023, 1024, 1025, 3000)]),  # escapes in bulk
        json.dumps({"é" * 3 + "\t" * n: "\u2028" * n for n in (63, 64, 65, 1024, 1025)}),
        "[" * 5000 + "1" + "]" * 5000,  # bracket runs are taken 4097 at a time
        " [ " * 5000 + "{}" + " ] " * 5000,
    ],
    ids=["ints", "flat-objects", "pairs", "flat-arrays", "flat-dicts", "escapes", "escaped-keys", "brackets", "spaced"],
)
def test_long_runs_across_the_regex_chunk_bounds(doc):
    assert scan(doc) == _scan(doc, fast=False) == PrefixScan(len(doc), True, "")
    shallow = doc.count("[") < 500
    if shallow:
        assert loads_ok(doc)
    for k in [*range(0, len(doc), max(1, len(doc) // 60)), len(doc) - 1]:
        verdict = scan(doc[:k])
        assert verdict == _scan(doc[:k], fast=False), k
        assert verdict.valid_length == k
        if shallow:
            assert verdict.proper_prefix == (not loads_ok(doc[:k]))
            assert loads_ok(doc[:k] + verdict.completion)


def test_an_error_deep_inside_a_long_run_is_found():
    doc = json.dumps(list(range(9000)))
    where = doc.index(", 7777,") + 2
    broken = doc[:where] + "07" + doc[where + 4 :]
    assert longest_valid_prefix(broken) == where + 1
    assert _scan(broken, fast=False) == scan(broken)
    closers = "[" * 5000 + "]" * 3000 + "}" + "]" * 1999
    assert longest_valid_prefix(closers) == 8000
    assert _scan(closers, fast=False) == scan(closers)


def test_line_column():
    assert line_column("", 0) == (1, 1)
    assert line_column("ab\ncd", 0) == (1, 1)
    assert line_column("ab\ncd", 2) == (1, 3)
    assert line_column("ab\ncd", 3) == (2, 1)
    assert line_column("ab\ncd", 5) == (2, 3)
    text = '{\n "a": 1,\n "b": [1 2]\n}'
    index = longest_valid_prefix(text)
    assert text[index] == "2"
    assert line_column(text, index) == (3, 10)
    with pytest.raises(json.JSONDecodeError) as error:
        json.loads(text)
    assert (error.value.pos, error.value.lineno, error.value.colno) == (index, 3, 10)
    for bad in (-1, len(text) + 1):
        with pytest.raises(IndexError):
            line_column(text, bad)

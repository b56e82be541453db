r"""Exactly whether a text is a truncated JSON document (a proper prefix of one), and where it stops being one.

A loader that gets a text :func:`json.loads` rejects wants to say either "truncated" (the text is
the start of some JSON document, cut anywhere: inside ``1.5e``, ``tru``, ``"\u12``, after a comma,
between a key and its colon, ...) or "not JSON at line L column C". :func:`json.loads`'s error
positions cannot tell these apart in general; this module decides it exactly.

The grammar is RFC 8259's, strictly (no ``NaN``/``Infinity``, no comments, no trailing commas, no
byte-order mark)::

    document = ws value ws
    value    = object / array / string / number / "true" / "false" / "null"
    object   = "{" ws [ member *( ws "," ws member ) ws ] "}"
    member   = string ws ":" ws value
    array    = "[" ws [ value *( ws "," ws value ) ws ] "]"
    number   = [ "-" ] int [ frac ] [ exp ]
    int      = "0" / %x31-39 *DIGIT                 ; no leading zeros: "01" is not a number
    frac     = "." 1*DIGIT                          ; "1." and ".5" are not numbers
    exp      = ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT
    string   = %x22 *char %x22
    char     = %x20-21 / %x23-5B / %x5D-10FFFF      ; any code point but '"', '\' and U+0000..U+001F
             / "\" ( %x22 / "\" / "/" / "b" / "f" / "n" / "r" / "t" / "u" 4HEXDIG )
    ws       = *( %x20 / %x09 / %x0A / %x0D )       ; space, tab, line feed, carriage return only
    DIGIT    = %x30-39 ; HEXDIG = DIGIT / "A"-"F" / "a"-"f" (either case)

Code points are those of the Python ``str``; lone surrogates are plain string characters, as in
:func:`json.loads`.

What is decided, for a text ``t``:

* ``t`` is a *prefix* when some continuation ``c`` (possibly empty) makes ``t + c`` a document.
  The empty and whitespace-only texts are prefixes (a document can follow).
* ``t`` is *complete* when ``t`` itself is a document (trailing whitespace allowed).
* :func:`is_proper_prefix` is "a prefix and not complete", i.e. truncated. A complete document
  with trailing whitespace is complete, not truncated.
* A bare top-level number is the one case where a complete document can go on with more than
  whitespace: ``12`` is complete, and yet ``123`` continues it. :func:`is_proper_prefix` answers
  False for it (the text is a document; a loader parses it and gets ``12``). ``[12``, ``1.``,
  ``1e``, ``-`` are proper prefixes; ``12`` and ``12 `` are not.
* :func:`longest_valid_prefix` is the length of the longest prefix of ``t`` that is a prefix of some
  document. Prefixes of prefixes are prefixes, so it is the index of the first character that no
  document can have there (or ``len(t)``), the place an error message points at;
  :func:`line_column` turns it into a line and column.
* :func:`completion` gives a witness: a continuation that makes ``t`` a document. :func:`scan`
  returns all of the verdict (:class:`PrefixScan`) from one pass.

Implementation: one left-to-right pass with an explicit stack of the open objects and arrays (a
``bytearray``, no recursion, so nesting depth is limited only by memory) and small state machines
for strings, numbers and ``true``/``false``/``null``. Runs of whitespace, digits and plain string
characters are skipped with :mod:`re`; so are, where what follows delimits them, whole tokens,
small containers of scalars, runs of ``item ,`` in arrays and ``"key": item ,`` in objects (most
of a report's characters), and runs of brackets. Every character is looked at a bounded number
of times: time is linear in ``len(t)`` (a 50 MB report-shaped text takes about as long as
:func:`json.loads` does).
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["PrefixScan", "completion", "is_proper_prefix", "line_column", "longest_valid_prefix", "scan"]

_WS_CHARS = " \t\n\r"
_WS = re.compile(r"[ \t\n\r]*")
_DIGITS = re.compile(r"[0-9]*")
_PLAIN = re.compile(r'[^"\\\x00-\x1f]*')  # string characters that need no further look
_HEX = "0123456789abcdefABCDEF"
_ESCAPES = '"\\/bfnrt'
_LITERALS = {"t": "true", "f": "false", "n": "null"}

# Complete tokens and runs of them, tried only where what follows shows they cannot go on (see
# _scan). [0-9], not \d, which would take other scripts' digits. Repeats of groups are bounded:
# the regex engine's time per iteration of an unbounded group repeat grows with the match, so
# long runs are taken a bounded chunk at a time, and longer strings or containers go to the
# character-level machines.
_WS_RE = r"[ \t\n\r]*"
_NUMBER_RE = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_STRING_RE = r'"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*){0,64}"'
_SCALAR_RE = rf"(?:{_STRING_RE}|{_NUMBER_RE}|true|false|null)"
# small containers of scalars only (up to 17 items), which make up much of a report (binade entries)
_FLAT_ARRAY_RE = rf"\[{_WS_RE}(?:{_SCALAR_RE}(?:{_WS_RE},{_WS_RE}{_SCALAR_RE}){{0,16}}{_WS_RE})?\]"
_MEMBER_RE = rf"{_STRING_RE}{_WS_RE}:{_WS_RE}{_SCALAR_RE}"
_FLAT_OBJECT_RE = rf"\{{{_WS_RE}(?:{_MEMBER_RE}(?:{_WS_RE},{_WS_RE}{_MEMBER_RE}){{0,16}}{_WS_RE})?\}}"
_ITEM_RE = rf"(?:{_SCALAR_RE}|{_FLAT_ARRAY_RE}|{_FLAT_OBJECT_RE})"
_NUMBER = re.compile(_NUMBER_RE)
_FLAT_ARRAY = re.compile(_FLAT_ARRAY_RE)
_FLAT_OBJECT = re.compile(_FLAT_OBJECT_RE)
# A number is delimited by the first character that is none of these; the fast path may only take a
# number whose next character is not one of them (or the end of the text).
_NUMBER_GOES_ON = "0123456789.eE"
# Runs of array items and object members that end in a comma: the comma delimits each item, so a
# match is exactly what the character-level machine would accept, and it ends where the next key
# (objects) or value (arrays) starts.
_ARRAY_RUN = re.compile(rf"(?:{_ITEM_RE}{_WS_RE},{_WS_RE}){{1,4096}}")
_OBJECT_RUN = re.compile(rf"(?:{_STRING_RE}{_WS_RE}:{_WS_RE}{_ITEM_RE}{_WS_RE},{_WS_RE}){{1,4096}}")
# Runs of brackets, whitespace aside: opening arrays, and closing whatever is open.
_OPENERS = re.compile(r"\[(?:[ \t\n\r]*\[){0,4096}")
_CLOSERS = re.compile(r"[\]}](?:[ \t\n\r]*[\]}]){0,4096}")
_NO_WS = str.maketrans("", "", _WS_CHARS)
# Valid string characters and escapes, a bounded number of escapes at a time.
_STRING_BODY = re.compile(r'[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*){0,1024}')

# Structural states: what may come next, whitespace aside.
_VALUE = 0  # a value (start of the document, after ':', after ',' in an array)
_VALUE_OR_CLOSE = 1  # a value or ']' (just after '[')
_KEY_OR_CLOSE = 2  # a key or '}' (just after '{')
_KEY = 3  # a key (after ',' in an object)
_COLON = 4  # ':' (after a key)
_AFTER = 5  # ',' or the closing bracket; at the top level, nothing but whitespace
# What each state still needs before the open brackets can be closed (used to build a completion).
_STATE_NEEDS = {_VALUE: "0", _VALUE_OR_CLOSE: "", _KEY_OR_CLOSE: "", _KEY: '"":0', _COLON: ":0", _AFTER: ""}

# Stack entries, one per open bracket.
_ARRAY = 0
_OBJECT = 1
_KIND = bytes.maketrans(b"]}", bytes([_ARRAY, _OBJECT]))  # closing bracket -> the entry it closes


class PrefixScan(NamedTuple):
    """The verdict on a text (see the module docstring for the terms)."""

    valid_length: int
    """Length of the longest prefix of the text that is a prefix of some JSON document."""
    complete: bool
    """The whole text is a JSON document (trailing whitespace allowed)."""
    completion: str | None
    """A continuation that makes the text a document ("" when complete); None when there is none,
    that is when ``valid_length < len(text)``. Not the only one, nor always the shortest."""

    @property
    def proper_prefix(self) -> bool:
        """The text is truncated: a prefix of some document, not itself one."""
        return self.completion is not None and not self.complete


def scan(text: str) -> PrefixScan:
    """Scan ``text`` once and return the verdict (:class:`PrefixScan`)."""
    return _scan(text, fast=True)


def is_proper_prefix(text: str) -> bool:
    """True iff ``text`` is not itself a complete JSON document but some continuation makes it one.

    The empty and whitespace-only texts are proper prefixes (a document can follow). A complete
    document is never one, even with trailing whitespace, and even a bare top-level number such as
    ``12`` that ``123`` would continue: it is a document already.
    """
    return _scan(text, fast=True).proper_prefix


def longest_valid_prefix(text: str) -> int:
    """Length of the longest prefix of ``text`` that is a prefix of some JSON document.

    Equal to ``len(text)`` when ``text`` is a proper prefix or a complete document; otherwise the
    index of the first offending character (see :func:`line_column`).
    """
    return _scan(text, fast=True).valid_length


def completion(text: str) -> str | None:
    """A continuation ``c`` such that ``text + c`` is a JSON document ("" if ``text`` is one), or
    None if no continuation makes it one. A witness for :func:`is_proper_prefix`: not unique."""
    return _scan(text, fast=True).completion


def line_column(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of ``text[index]``, counted as :class:`json.JSONDecodeError` counts them:
    lines end at "\\n", columns count characters. ``index`` may be ``len(text)`` (the end)."""
    if not 0 <= index <= len(text):
        raise IndexError(f"index {index} is outside a text of length {len(text)}")
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


def _closing(state: int, stack: bytearray, token_rest: str = "") -> str:
    """A completion for a scan that ran out of text in ``state`` (after finishing a token with
    ``token_rest``) with ``stack`` open."""
    closers = "".join("}" if kind == _OBJECT else "]" for kind in reversed(stack))
    return token_rest + _STATE_NEEDS[state] + closers


# Token machines. Each starts at the token's first character and returns (end, rest):
#   rest is None  -> the token is complete and ends at `end` (`end` may be len(text));
#   rest is a str -> the text ends inside the token (end == len(text)); `rest` completes it;
#   rest is False -> no token can go on like this; `end` is the offending character.


def _string_token(text: str, pos: int, body: re.Pattern) -> tuple[int, str | bool | None]:
    # `body` skips characters that are valid (_PLAIN, or _STRING_BODY with whole escapes too): the
    # machine then looks at the one character where it stopped.
    n = len(text)
    p = pos + 1  # past the opening quote
    while True:
        p = body.match(text, p).end()
        if p == n:
            return n, '"'
        c = text[p]
        if c == '"':
            return p + 1, None
        if c != "\\":
            return p, False  # a raw control character U+0000..U+001F
        p += 1
        if p == n:
            return n, 'n"'
        c = text[p]
        if c == "u":
            for k in range(1, 5):
                if p + k == n:
                    return n, "0" * (5 - k) + '"'
                if text[p + k] not in _HEX:
                    return p + k, False
            p += 5
        elif c in _ESCAPES:
            p += 1
        else:
            return p, False


def _number_token(text: str, pos: int) -> tuple[int, str | bool | None]:
    # The states are the places in this code: after "-", after the integer part (accepting),
    # after ".", in the fraction (accepting), after "e", after its sign, in the exponent (accepting).
    n = len(text)
    p = pos
    if text[p] == "-":
        p += 1
        if p == n:
            return n, "0"
    c = text[p]
    if c == "0":
        p += 1  # no digit may follow a leading zero: whatever does is judged by the caller
    elif c in "123456789":
        p = _DIGITS.match(text, p + 1).end()
    else:
        return p, False
    if p < n and text[p] == ".":
        p += 1
        if p == n:
            return n, "0"
        if text[p] not in "0123456789":
            return p, False
        p = _DIGITS.match(text, p).end()
    if p < n and text[p] in "eE":
        p += 1
        if p == n:
            return n, "0"
        if text[p] in "+-":
            p += 1
            if p == n:
                return n, "0"
        if text[p] not in "0123456789":
            return p, False
        p = _DIGITS.match(text, p).end()
    return p, None


def _literal_token(text: str, pos: int, word: str) -> tuple[int, str | bool | None]:
    n = len(text)
    for k, expected in enumerate(word):
        if pos + k == n:
            return n, word[k:]
        if text[pos + k] != expected:
            return pos + k, False
    return pos + len(word), None


def _scan(text: str, fast: bool) -> PrefixScan:
    """The scanner. ``fast=False`` leaves out every regex shortcut but those over runs of
    whitespace, digits and plain string characters (no whole tokens, escapes in bulk, containers,
    runs of items or brackets): the character-level machines alone. The verdict is the same, which
    the tests check."""
    n = len(text)
    stack = bytearray()  # _OBJECT / _ARRAY per open bracket, innermost last
    state = _VALUE
    pos = 0
    # After a run of items the next key or value cannot start another run (the run would have
    # taken it): do not try, so that no item is matched twice.
    try_run = fast
    body = _STRING_BODY if fast else _PLAIN
    # runs of closing brackets before this index are taken one at a time (a run that does not
    # match the stack was looked at once already)
    checked_closers = 0 if fast else n + 1
    while True:
        if pos < n and text[pos] in _WS_CHARS:
            pos = _WS.match(text, pos).end()
        if pos == n:
            complete = state == _AFTER and not stack
            return PrefixScan(n, complete, "" if complete else _closing(state, stack))
        c = text[pos]

        if state == _AFTER:
            if stack:
                if pos >= checked_closers and c in "]}":
                    # a run of closing brackets, whitespace aside, that closes what is open
                    match = _CLOSERS.match(text, pos)
                    closers = match.group().translate(_NO_WS)
                    k = len(closers)
                    if 1 < k <= len(stack) and stack[len(stack) - k :] == closers[::-1].encode().translate(_KIND):
                        del stack[len(stack) - k :]
                        pos = match.end()
                        continue
                    checked_closers = match.end()  # one by one (below), without trying this run again
                if stack[-1] == _OBJECT:
                    if c == ",":
                        state = _KEY
                        pos += 1
                        continue
                    if c == "}":
                        stack.pop()
                        pos += 1
                        continue
                else:
                    if c == ",":
                        state = _VALUE
                        pos += 1
                        continue
                    if c == "]":
                        stack.pop()
                        pos += 1
                        continue
            return PrefixScan(pos, False, None)

        if state == _COLON:
            if c == ":":
                state = _VALUE
                pos += 1
                continue
            return PrefixScan(pos, False, None)

        if state in (_KEY, _KEY_OR_CLOSE):
            if c == '"':
                if try_run:
                    match = _OBJECT_RUN.match(text, pos)
                    if match:
                        pos = match.end()
                        state = _KEY
                        try_run = False
                        continue
                try_run = fast
                end, rest = _string_token(text, pos, body)
                if rest is False:
                    return PrefixScan(end, False, None)
                if rest is not None:
                    return PrefixScan(n, False, _closing(_COLON, stack, rest))
                pos = end
                state = _COLON
                continue
            if c == "}" and state == _KEY_OR_CLOSE:
                stack.pop()
                state = _AFTER
                pos += 1
                continue
            return PrefixScan(pos, False, None)

        # state is _VALUE or _VALUE_OR_CLOSE
        if c == "]" and state == _VALUE_OR_CLOSE:
            stack.pop()
            state = _AFTER
            pos += 1
            continue
        if try_run and stack and stack[-1] == _ARRAY:
            match = _ARRAY_RUN.match(text, pos)
            if match:
                pos = match.end()
                state = _VALUE
                try_run = False
                continue
        try_run = fast
        if c == "{":
            match = _FLAT_OBJECT.match(text, pos) if fast else None
            if match:
                pos = match.end()
                state = _AFTER
                continue
            stack.append(_OBJECT)
            state = _KEY_OR_CLOSE
            pos += 1
            continue
        if c == "[":
            match = _FLAT_ARRAY.match(text, pos) if fast else None
            if match:
                pos = match.end()
                state = _AFTER
                continue
            if fast:  # a run of '[' (only '[' may directly follow '[')
                end = _OPENERS.match(text, pos).end()
                stack.extend(bytes(text.count("[", pos, end)))  # bytes(k): k zeros, that is _ARRAY
            else:
                stack.append(_ARRAY)
                end = pos + 1
            state = _VALUE_OR_CLOSE
            pos = end
            continue
        if c == '"':
            end, rest = _string_token(text, pos, body)
        elif c == "-" or "0" <= c <= "9":
            match = _NUMBER.match(text, pos) if fast else None
            if match:
                end = match.end()
                # a complete number not followed by what could go on with it is what the machine
                # would take too; "1." or "01" or "1e" go to the machine for the exact verdict
                if end == n or text[end] not in _NUMBER_GOES_ON:
                    pos = end
                    state = _AFTER
                    continue
            end, rest = _number_token(text, pos)
        elif c in _LITERALS:
            word = _LITERALS[c]
            if text.startswith(word, pos):
                end, rest = pos + len(word), None
            else:
                end, rest = _literal_token(text, pos, word)
        else:
            return PrefixScan(pos, False, None)
        if rest is False:
            return PrefixScan(end, False, None)
        if rest is not None:
            return PrefixScan(n, False, _closing(_AFTER, stack, rest))
        pos = end
        state = _AFTER

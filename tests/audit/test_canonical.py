"""Canonical JSON (RFC 8785 subset): encoding, ordering, and strict parsing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault import canonical
from vault.canonical import MAX_SAFE_INTEGER, canonical_json, parse_canonical
from vault.errors import IntegrityError


def test_rfc8785_property_sorting_example() -> None:
    """RFC 8785 §3.2.3: members sort by UTF-16 code units, so the emoji
    (surrogates D83D DE00) comes before U+FB33 although its code point is larger."""
    obj = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    out = canonical_json(obj).decode("utf-8")
    values = [v for _, v in json.loads(out, object_pairs_hook=lambda pairs: pairs)]
    assert values == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]
    assert parse_canonical(out.encode("utf-8")) == obj


def test_rfc8785_string_escaping_example() -> None:
    # RFC 8785 §3.2.2.2: "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/"
    value = json.loads(r'"\u20ac$\u000F\u000aA\u0027\u0042\u0022\u005c\\\"\/"')
    assert canonical_json(value) == '"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"'.encode()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-7, "-7"),
        (MAX_SAFE_INTEGER, "9007199254740991"),
        (-MAX_SAFE_INTEGER, "-9007199254740991"),
        ("", '""'),
        ("é", '"é"'),
        ("\x7f\u2028", '"\x7f\u2028"'),
        ("\b\f\n\r\t\x00\x1f", '"\\b\\f\\n\\r\\t\\u0000\\u001f"'),
        ([], "[]"),
        ({}, "{}"),
        ([1, [2, {}]], "[1,[2,{}]]"),
        ({"b": 1, "a": {"d": None, "c": [True]}}, '{"a":{"c":[true],"d":null},"b":1}'),
        ((1, 2), "[1,2]"),
    ],
)
def test_encoding(value: object, text: str) -> None:
    assert canonical_json(value) == text.encode("utf-8")


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        float("nan"),
        float("inf"),
        b"bytes",
        {1: "int key"},
        {None: 1},
        object(),
        {1.5},
        MAX_SAFE_INTEGER + 1,
        -MAX_SAFE_INTEGER - 1,
        10**30,
        "\ud800",
        {"\udfff": 1},
    ],
)
def test_values_outside_the_subset_are_refused(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        canonical_json(value)


def test_bool_is_not_an_int() -> None:
    assert canonical_json([True, 1, False, 0]) == b"[true,1,false,0]"
    assert parse_canonical(b"[true,1]") == [True, 1]


@pytest.mark.parametrize(
    "data",
    [
        b' {"a":1}',
        b'{"a":1} ',
        b'{"a": 1}',
        b'{ "a":1}',
        b'{"a":1}\n',
        b'{"b":1,"a":2}',  # order
        b'{"a":1,"a":1}',
        b'{"a":1,"a":2}',  # duplicate members
        b"1.0",
        b"1e3",
        b"1E3",
        b"-0",
        b"01",
        b"+1",
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b"9007199254740992",
        b"-9007199254740992",
        b"1" * 5000,
        b'"\\u00e9"',
        b'"\\/"',
        b'"\\u000A"',
        b'"\\u001F"',
        b'"\\ud83d\\ude00"',
        b'"\\ud800"',  # lone surrogate
        b'"\xed\xa0\x80"',
        b'"\xff"',
        b'"\xc3"',
        b"\xef\xbb\xbf{}",  # bad UTF-8, BOM
        b'"\x01"',
        b'"\t"',  # raw control characters
        b"",
        b"[",
        b"{}{}",
        b"[1,]",
        b"tru",
        b"[1 ,2]",
        b"'a'",
        b"[" * 100_000,
    ],
)
def test_non_canonical_input_is_refused(data: bytes) -> None:
    with pytest.raises(IntegrityError) as err:
        parse_canonical(data)
    assert err.value.message.startswith("canonical JSON:")


def test_parse_refuses_non_bytes() -> None:
    with pytest.raises(IntegrityError):
        parse_canonical('{"a":1}')  # type: ignore[arg-type]


def test_utf16_order_is_used_on_the_exact_path_too() -> None:
    # Same two keys; only the UTF-16 order is canonical.
    good = '{"\U0001f600":1,"\ufb33":2}'.encode()
    bad = '{"\ufb33":2,"\U0001f600":1}'.encode()
    assert parse_canonical(good) == {"\U0001f600": 1, "\ufb33": 2}
    with pytest.raises(IntegrityError):
        parse_canonical(bad)


def test_fast_encoder_agrees_with_the_stdlib_encoder() -> None:
    doc = {"z": [1, None, True, False, 'é\n"\\'], "a": {"b": -5, "c": ""}}
    assert canonical._fast_encode(doc) == canonical._ENCODER.encode(doc)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(exclude_categories=["Cs"]), max_size=6), children, max_size=4
        )
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_round_trip(value: object) -> None:
    data = canonical_json(value)
    assert parse_canonical(data) == value
    assert canonical_json(json.loads(data)) == data
    # RFC 8785 ordering: members sort by UTF-16 code units.
    if isinstance(value, dict):
        keys = list(json.loads(data, object_pairs_hook=lambda pairs: [k for k, _ in pairs]))
        assert keys == sorted(keys, key=lambda k: k.encode("utf-16-be"))


@settings(max_examples=200, deadline=None)
@given(json_values, st.data())
def test_any_other_spelling_is_refused(value: object, data: st.DataObject) -> None:
    canon = canonical_json(value)
    other = json.dumps(
        value,
        ensure_ascii=data.draw(st.booleans()),
        indent=data.draw(st.sampled_from([None, 0, 1])),
        sort_keys=data.draw(st.booleans()),
    ).encode("utf-8")
    if other != canon:
        with pytest.raises(IntegrityError):
            parse_canonical(other)


def test_noncharacters_are_kept_as_given() -> None:
    """Not full I-JSON, on purpose (see the module docstring): hostile text
    with noncharacters is recorded as it was given, as its UTF-8 bytes."""
    for char in ("\ufffe", "\uffff", "\ufdd0", "\U0010ffff"):
        data = canonical_json({"reason": f"a{char}b"})
        assert data == b'{"reason":"a' + char.encode("utf-8") + b'b"}'
        assert parse_canonical(data) == {"reason": f"a{char}b"}

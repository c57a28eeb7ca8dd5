"""The optional orjson codec stores the same text, reads back the same values and refuses the
same documents as the standard library's json, and the encoder's no-copy fast path gives what
the full normalising path gives (skipped when orjson is not installed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.mutable import MutableDict, MutableList

from tidb_compat import PortableArray, PortableJSON, PortableValueError
from tidb_compat.types import json as portable_json
from tidb_compat.types.json import MAX_JSON_BYTES, decode_json, encode_json, set_json_codec

from .helpers import INT64, assert_same

pytest.importorskip("orjson")

CODECS = ("stdlib", "orjson")

# Floats of every magnitude (the codecs spell |x| < 1e-4 and |x| >= 1e16 differently, so those
# must take the standard library's path), strings with control characters and non-BMP text.
any_floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [1e-4, 9.999999999999999e-05, 1e-5, 5e-324, -2.2250738585072014e-308, 1e15, 9999999999999998.0, 1e16, -0.0]
)
wide_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
) | st.sampled_from(["\x01\x1f\x7f\u2028\u2029", '"\\/\b\f\n\r\t', "😀\U0010ffff", "\u00e9" * 3])
scalars = st.none() | st.booleans() | st.integers(*INT64) | any_floats | wide_text
documents = st.recursive(
    scalars, lambda children: st.lists(children, max_size=4) | st.dictionaries(wide_text, children, max_size=4),
    max_leaves=16,
).filter(lambda v: v is not None)
# Anything at all, refusals included: lone surrogates, NaN, out-of-range integers.
risky_scalars = st.text(max_size=8) | st.floats() | st.integers() | st.none() | st.booleans()
risky = st.recursive(
    risky_scalars, lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children,
                                                                                       max_size=3),
    max_leaves=8,
)


# Containers as applications hand them over: tuples, and sqlalchemy.ext.mutable's subclasses.
shaped = st.recursive(
    scalars | risky_scalars,
    lambda children: st.lists(children, max_size=3)
    | st.lists(children, max_size=3).map(tuple)
    | st.lists(children, max_size=3).map(MutableList)
    | st.dictionaries(wide_text, children, max_size=3)
    | st.dictionaries(wide_text, children, max_size=3).map(MutableDict),
    max_leaves=10,
)


@pytest.fixture
def codec() -> Iterator[None]:
    """Restore the default codec after a test that switches it."""
    previous = set_json_codec(None)
    yield
    set_json_codec(previous)


def _encoded(value: Any, codec: str) -> tuple[str, str]:
    """("ok", text) or ("refused", message) under ``codec``."""
    set_json_codec(codec)
    try:
        return "ok", encode_json(value)
    except portable_json._Refusal as refusal:  # the types wrap it in PortableValueError
        return "refused", str(refusal)


@given(value=documents)
def test_orjson_encodes_the_same_text(codec: None, value: Any) -> None:
    assert _encoded(value, "orjson") == _encoded(value, "stdlib")


@given(value=risky)
def test_orjson_refuses_the_same_documents_with_the_same_message(codec: None, value: Any) -> None:
    assert _encoded(value, "orjson") == _encoded(value, "stdlib")


def _reference(value: Any) -> tuple[str, str]:
    """The encoder without its fast path: normalise (copying) every document, then the
    standard library (the behaviour before the orjson codec)."""
    try:
        big_floats = [False, False]
        normalised = portable_json._normalise(value, 0, big_floats)
        if big_floats[0]:
            text = portable_json._encode_slow(normalised)
        else:
            text = json.dumps(normalised, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise portable_json._Refusal("strings may not contain lone surrogates (not valid UTF-8)") from None
        if size > MAX_JSON_BYTES:
            raise portable_json._Refusal(f"document is {size} bytes encoded; the limit is {MAX_JSON_BYTES}")
        return "ok", text
    except portable_json._Refusal as refusal:
        return "refused", str(refusal)


@given(value=shaped)
def test_the_fast_path_encodes_and_refuses_like_the_full_path(codec: None, value: Any) -> None:
    expected = _reference(value)
    for name in CODECS:
        assert _encoded(value, name) == expected


@given(value=documents)
def test_orjson_decodes_what_it_stores_like_the_stdlib(codec: None, value: Any) -> None:
    set_json_codec("stdlib")
    text = encode_json(value)
    by_stdlib = decode_json(text)
    set_json_codec("orjson")
    by_orjson = decode_json(text)
    assert_same(by_orjson, by_stdlib)
    assert_same(by_orjson, value)  # -0.0 is stored as 0.0, which compares equal


@pytest.mark.parametrize(
    "text",
    ["18446744073709551616", "-9223372036854775809", "9223372036854775808", "[1e400]", '{"a":1,"a":2}',
     '"\\ud800"', "NaN", "-0.0", "1E16", "100000000000000000000000000000.0", '{"k":"12345678901234567890"}',
     "null", '"\\u0000"'],
)
def test_orjson_decodes_foreign_text_like_the_stdlib(codec: None, text: str) -> None:
    set_json_codec("stdlib")
    expected = decode_json(text)
    set_json_codec("orjson")
    assert repr(decode_json(text)) == repr(expected)


def test_lone_surrogates_and_size_are_refused_alike(codec: None) -> None:
    for value in ("lone \ud800 surrogate", {"k\udfff": 1}, ["x" * (MAX_JSON_BYTES + 1)]):
        assert _encoded(value, "orjson")[0] == "refused"
        assert _encoded(value, "orjson") == _encoded(value, "stdlib")


def test_the_environment_variable_forces_the_stdlib() -> None:
    code = "import tidb_compat.types.json as j; print(j.json_codec())"
    env = {**os.environ, "TIDB_COMPAT_JSON": "stdlib"}
    forced = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert forced.stdout.strip() == "stdlib", forced.stderr
    env.pop("TIDB_COMPAT_JSON")
    default = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert default.stdout.strip() == "orjson", default.stderr


def test_unknown_codec_is_refused(codec: None) -> None:
    with pytest.raises(ValueError, match="unknown JSON codec"):
        set_json_codec("simdjson")
    assert portable_json.json_codec() in CODECS


# -- on the session's backend: what each codec writes, each codec reads back -----------------

@pytest.fixture(scope="module")
def table(engine: sa.Engine) -> Iterator[sa.Table]:
    md = sa.MetaData()
    t = sa.Table(
        "tc_json_orjson",
        md,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("doc", PortableJSON()),
        sa.Column("floats", PortableArray(sa.Float)),
    )
    md.drop_all(engine)
    md.create_all(engine)
    yield t
    md.drop_all(engine)


def _stored(engine: sa.Engine, table: sa.Table) -> tuple[str, str]:
    """The stored text as the server gives it back (no decoding)."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(sa.cast(table.c.doc, sa.Text), sa.cast(table.c.floats, sa.Text)).where(table.c.id == 1)
        ).one()
    return str(row[0]), str(row[1])


@given(value=documents, floats=st.lists(any_floats, max_size=6))
def test_round_trips_are_identical_on_the_backend(codec: None, engine: sa.Engine, table: sa.Table, value: Any,
                                                   floats: list[float]) -> None:
    stored: dict[str, tuple[str, str]] = {}
    for writer in CODECS:
        set_json_codec(writer)
        with engine.begin() as connection:
            connection.execute(table.delete())
            connection.execute(table.insert(), [{"id": 1, "doc": value, "floats": floats}])
        stored[writer] = _stored(engine, table)
        for reader in CODECS:
            set_json_codec(reader)
            with engine.connect() as connection:
                row = connection.execute(sa.select(table.c.doc, table.c.floats)).one()
            assert_same(row.doc, value)
            assert_same(row.floats, floats)
    assert stored["orjson"] == stored["stdlib"]


def test_refusals_on_the_backend_are_identical(codec: None, engine: sa.Engine, table: sa.Table) -> None:
    messages = []
    for writer in CODECS:
        set_json_codec(writer)
        with pytest.raises((PortableValueError, sa.exc.StatementError)) as caught, engine.begin() as connection:
            connection.execute(table.insert(), [{"id": 2, "doc": {"bad": "\ud800"}}])
        messages.append(str(caught.value).split("\n")[0])
    assert messages[0] == messages[1]


@pytest.mark.parametrize("depth", [portable_json.MAX_JSON_DEPTH - 1, portable_json.MAX_JSON_DEPTH,
                                   portable_json.MAX_JSON_DEPTH + 1])
@pytest.mark.parametrize("wrap", [lambda v: [v], lambda v: (v,), lambda v: MutableList([v]), lambda v: {"k": v},
                                  lambda v: MutableDict({"k": v})], ids=["list", "tuple", "MutableList", "dict",
                                                                          "MutableDict"])
def test_depth_limit_alike_on_both_paths(codec: None, depth: int, wrap: Any) -> None:
    value: Any = 1.5
    for _ in range(depth):
        value = wrap(value)
    expected = _reference(value)
    assert expected[0] == ("ok" if depth <= portable_json.MAX_JSON_DEPTH else "refused")
    for name in CODECS:
        assert _encoded(value, name) == expected

"""The bridge's codec: every value a student's function can return crosses, or says what it is.

Property tests (hypothesis) over numpy scalars and arrays of every plain dtype,
Python numbers (inf, nan, huge ints, complex), strings and nested containers;
the decoder meets arbitrary JSON and raises only :class:`BridgeDataError`.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradkit.grading.codec import (
    MAX_DEPTH,
    MAX_ITEMS,
    BridgeDataError,
    Decoder,
    Encoder,
    Opaque,
)


def round_trip(value, directory):
    """Encode into ``directory``, through JSON text (as the bridge writes it), and back."""
    text = json.dumps(Encoder(directory, "r")(value), allow_nan=False)
    return Decoder(directory)(json.loads(text))


def same(a, b) -> bool:
    """Equal values of the same type: arrays bit for bit, floats with nan equal to nan."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, np.generic):
        if a.dtype != b.dtype:
            return False
        if a.dtype.kind in "fc":
            x, y = complex(a), complex(b)
            return all(
                (math.isnan(p) and math.isnan(q))
                or (p == q and math.copysign(1, p) == math.copysign(1, q))
                for p, q in ((x.real, y.real), (x.imag, y.imag))
            )
        return a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


# Every dtype that holds no Python objects: numbers of every size and byte order, bytes,
# str, datetimes, timedeltas, and structured records of those.
plain_dtypes = st.one_of(
    hnp.scalar_dtypes(),
    hnp.byte_string_dtypes(),
    hnp.unicode_string_dtypes(),
    hnp.nested_dtypes(max_itemsize=64),
)
arrays = plain_dtypes.flatmap(
    lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
)
numpy_scalars = (
    hnp.scalar_dtypes().flatmap(hnp.from_dtype).filter(lambda v: isinstance(v, np.generic))
)
python_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**300), max_value=10**300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
)
leaves = st.one_of(
    st.none(), st.booleans(), st.text(max_size=20), python_numbers, numpy_scalars, arrays
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=5), inner, max_size=4),
        st.dictionaries(st.integers(-5, 5), inner, max_size=3),
        st.dictionaries(st.tuples(st.integers(0, 3), st.text(max_size=2)), inner, max_size=3),
    ),
    max_leaves=12,
)


@given(values)
def test_every_plain_value_round_trips_exactly(tmp_path_factory, value):
    assert same(round_trip(value, tmp_path_factory.mktemp("msg")), value)


big_arrays = plain_dtypes.flatmap(
    lambda dt: hnp.arrays(
        dt, st.integers(65_536 // max(dt.itemsize, 1) + 1, 65_536 // max(dt.itemsize, 1) + 50)
    )
)


@given(big_arrays)
def test_large_arrays_round_trip_through_files(tmp_path_factory, value):
    directory = tmp_path_factory.mktemp("msg")
    assert same(round_trip(value, directory), value)
    assert len(list(directory.glob("*.npy"))) == 1


@given(numpy_scalars)
def test_numpy_scalars_keep_their_dtype(tmp_path_factory, value):
    back = round_trip(value, tmp_path_factory.mktemp("msg"))
    assert isinstance(back, np.generic) and back.dtype == value.dtype and same(back, value)


@pytest.mark.parametrize(
    "value",
    [
        np.float64(np.inf),
        np.float64(-np.inf),
        np.float64(np.nan),
        np.float32(np.inf),
        np.float16(-0.0),
        np.complex128(complex(np.inf, np.nan)),
        np.longdouble("1e4000"),
        np.array(np.inf),  # a 0-d array stays an array
        np.array([np.nan, np.inf, -np.inf, 1e-320]),
        float("inf"),
        float("nan"),
        1e308 * 10,
        5e-324,
        2**64 + 1,
        -(2**200),
        complex(1, float("inf")),
        np.uint64(2**64 - 1),
        np.int8(-128),
        np.bool_(True),
        np.datetime64("2026-12-04T10:00"),
        np.timedelta64("NaT"),
        np.array(["ada", "brook"]),
        (np.float64(np.inf), np.zeros((2, 2))),  # what an honest softmax with log(0) returns
        {"W1": np.ones(2), "nested": [(1, {"a": None})]},
    ],
    ids=repr,
)
def test_the_values_honest_bugs_return_round_trip(tmp_path, value):
    assert same(round_trip(value, tmp_path), value)


class Foo:
    pass


@pytest.mark.parametrize(
    "value, kind",
    [
        (Foo(), "an object of type test_grading_codec.Foo"),
        (lambda x: x, "an object of type function"),
        ({1, 2}, "an object of type set"),
        (np.array([Foo()], dtype=object), "an array of dtype object"),
        (np.array([(1, None)], dtype=[("a", int), ("b", object)]).view(np.ndarray), None),
        ({Foo(): 1}, "a dict with keys of type Foo"),
        ("x" * 20_000, "a str of 20000 characters"),
        (2 ** (10**4), "an int of 10001 bits"),
    ],
)
def test_what_cannot_cross_says_what_it_was(tmp_path, value, kind):
    back = round_trip(value, tmp_path)
    assert isinstance(back, Opaque)
    if kind is not None:
        assert back.kind == kind
    else:
        assert "dtype" in back.kind


def test_self_referencing_and_huge_structures_never_stop_the_encoder(tmp_path):
    loop: list = []
    loop.append(loop)
    assert round_trip(loop, tmp_path) == Opaque(
        f"a structure nested more than {MAX_DEPTH} levels deep"
    )
    many = [0.5] * (MAX_ITEMS + 1)
    assert round_trip(many, tmp_path) == Opaque(f"a structure of more than {MAX_ITEMS} items")
    # an opaque part does not spoil the rest of a tuple
    back = round_trip((1.0, Foo(), np.ones(2)), tmp_path)
    assert back[0] == 1.0 and isinstance(back[1], Opaque) and back[2].tolist() == [1.0, 1.0]


json_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "__array__",
                    "__scalar__",
                    "__np__",
                    "v",
                    "__float__",
                    "__int__",
                    "__complex__",
                    "__tuple__",
                    "__items__",
                    "__dict__",
                    "__fn__",
                    "params",
                    "__rng__",
                    "__kept__",
                    "__inputs__",
                    "__opaque__",
                    "x",
                ]
            ),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=10,
)


@given(json_values)
def test_the_decoder_raises_only_bridge_data_errors(tmp_path_factory, obj):
    directory = tmp_path_factory.mktemp("msg")
    np.save(directory / "r1.npy", np.arange(3.0))
    try:
        Decoder(directory)(obj)
    except BridgeDataError:
        pass


def test_each_array_file_is_read_once_and_counted_once(tmp_path):
    np.save(tmp_path / "r1.npy", np.zeros(1000))
    decoder = Decoder(tmp_path, budget=9000)
    many = decoder([{"__array__": "r1.npy"}] * 400)
    assert decoder.used < 9000 and all(a is many[0] for a in many)
    assert not many[0].flags.writeable  # shared: nothing may write into it
    np.save(tmp_path / "r2.npy", np.zeros(1000))
    with pytest.raises(BridgeDataError, match="over the limit"):
        decoder({"__array__": "r2.npy"})

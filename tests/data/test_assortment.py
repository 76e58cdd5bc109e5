from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys.data import Assortment, IdMap
from recsys.exceptions import InvalidInputError, SchemaError, UnknownIdError


def test_items_sorted_and_match_frame(stores: pd.DataFrame) -> None:
    store_map = IdMap(["s1", "s2", "s3", "s4"], kind="store")
    items = IdMap(["a", "b", "c", "d"])
    a = Assortment.from_frame(stores, store_map, items)
    assert [a.items_of(s).tolist() for s in range(4)] == [[1], [0, 3], [0], []]
    assert a.items_of(1).dtype == np.int64
    assert a.mask_of(1).tolist() == [True, False, False, True]
    assert a.sizes.tolist() == [1, 2, 1, 0]
    assert a.matrix.shape == (4, 4) and a.matrix.dtype == bool
    with pytest.raises(ValueError):
        a.items_of(1)[0] = 5  # precomputed arrays are read-only


@given(
    st.integers(1, 5),
    st.integers(1, 40),
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 39)), max_size=80),
)
def test_arrays_and_bitmaps_match_pairs(n_stores: int, n_items: int, pairs: list) -> None:
    pairs = [(s, i) for s, i in pairs if s < n_stores and i < n_items]
    a = Assortment.from_indices([p[0] for p in pairs], [p[1] for p in pairs], n_stores, n_items)
    for s in range(n_stores):
        expected = sorted({i for t, i in pairs if t == s})
        got = a.items_of(s)
        assert got.tolist() == expected
        bits = np.unpackbits(a.bitmap_of(s), bitorder="little")[:n_items]
        assert np.flatnonzero(bits).tolist() == expected
        assert np.flatnonzero(a.mask_of(s)).tolist() == expected


def test_invalid() -> None:
    store_map, items = IdMap(["s1"], kind="store"), IdMap(["a"])
    with pytest.raises(SchemaError, match="store_id"):
        Assortment.from_frame(pd.DataFrame({"item_id": ["a"]}), store_map, items)
    with pytest.raises(SchemaError, match="missing"):
        Assortment.from_frame(
            pd.DataFrame({"store_id": ["s1", None], "item_id": ["a", "a"]}), store_map, items
        )
    with pytest.raises(UnknownIdError, match="'zz'"):
        Assortment.from_frame(
            pd.DataFrame({"store_id": ["s1"], "item_id": ["zz"]}), store_map, items
        )
    a = Assortment.from_indices([0], [0], 1, 1)
    with pytest.raises(InvalidInputError):
        a.items_of(1)

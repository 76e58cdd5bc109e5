from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys.data import IdMap
from recsys.exceptions import InvalidInputError, UnknownIdError

id_lists = st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=60)


@given(id_lists)
def test_round_trip_and_first_seen_order(values: list[str]) -> None:
    m = IdMap.from_values(values, kind="item")
    expected = list(dict.fromkeys(values))
    assert m.ids.tolist() == expected
    assert m.to_ids(m.to_index(values)).tolist() == values
    assert m.to_index(values).dtype == np.int64
    for v in expected:
        assert m.index_of(v) == expected.index(v)
        assert v in m


@given(id_lists, st.text(min_size=1, max_size=8))
def test_strict_raises_on_unknown_and_names_it(values: list[str], extra: str) -> None:
    m = IdMap.from_values(values, kind="item")
    if extra in m:
        return
    with pytest.raises(UnknownIdError) as err:
        m.to_index([*values, extra])
    assert err.value.ids == [extra]
    assert repr(extra) in str(err.value) and "item" in str(err.value)
    members = IdMap.from_values(values, kind="member")  # personal data: counted, not named
    with pytest.raises(UnknownIdError) as err:
        members.to_index([*values, extra])
    assert err.value.ids == [extra] and "unknown member: 1 id not found" in str(err.value)
    assert repr(members) == f"IdMap(kind='member', n={len(members)})"
    assert m.to_index([extra], strict=False).tolist() == [-1]
    with pytest.raises(UnknownIdError):
        m.index_of(extra)


def test_large_batch_uses_vectorized_path() -> None:
    ids = [f"sku{i}" for i in range(1000)]
    m = IdMap.from_values(ids)
    query = np.array([*ids[::-1], "nope"], dtype=object)
    out = m.to_index(query, strict=False)
    assert out[:-1].tolist() == list(range(999, -1, -1)) and out[-1] == -1
    with pytest.raises(UnknownIdError, match="'nope'"):
        m.to_index(query)


def test_ints_are_converted_to_str_at_the_boundary() -> None:
    m = IdMap.from_values([10, 20, 10.0])
    assert m.ids.tolist() == ["10", "20"]
    assert m.index_of(20) == 1 and m.index_of("20") == 1
    assert m.to_index(np.array([20, 10])).tolist() == [1, 0]
    assert 10 in m and "30" not in m


def test_immutable_and_add_returns_new_map() -> None:
    m = IdMap(["a", "b"], kind="store")
    with pytest.raises(AttributeError):
        m.kind = "x"  # type: ignore[misc]
    with pytest.raises(ValueError):
        m.ids[0] = "z"
    m2 = m.add(["c", "a", "d", "c"])
    assert m.ids.tolist() == ["a", "b"]
    assert m2.ids.tolist() == ["a", "b", "c", "d"] and m2.kind == "store"
    assert m.add(["a"]) is m


def test_duplicates_and_bad_internal_ids_are_rejected() -> None:
    with pytest.raises(InvalidInputError, match="duplicate"):
        IdMap(["a", "a"])
    m = IdMap(["a", "b"])
    with pytest.raises(InvalidInputError, match="out of range"):
        m.to_ids([-1])
    with pytest.raises(InvalidInputError):
        m.to_ids([2])


def test_equality_repr_len() -> None:
    assert IdMap(["a", "b"]) == IdMap.from_values(["a", "b", "a"])
    assert IdMap(["a"], kind="item") != IdMap(["a"], kind="store")
    assert len(IdMap([])) == 0
    assert "n=2" in repr(IdMap(["a", "b"]))

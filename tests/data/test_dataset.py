from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from recsys.columns import Columns
from recsys.data import EventWeights, RetailDataset
from recsys.exceptions import InvalidInputError, SchemaError, UnknownIdError


def test_tiny_example_by_hand(interactions, catalog, stores, profiles) -> None:
    ds = RetailDataset.build(interactions, catalog, stores, profiles)
    assert ds.users.ids.tolist() == ["u1", "u2", "u3", "u4"]  # u4: profile only
    assert ds.items.ids.tolist() == ["a", "b", "c", "d"]  # catalog order
    assert ds.stores.ids.tolist() == ["s2", "s1", "s3"]  # stores frame first
    m = ds.matrices
    w = EventWeights()
    view60 = w.view * (1 - np.exp(-1))
    expected = np.zeros((4, 4))
    expected[0, 0] = 1 + view60  # purchase + 60 s view
    expected[0, 1] = w.cart  # value NaN -> 1.0, ignored for carts
    expected[1, 1] = 1 + np.log(2)  # purchase of 2
    expected[2, 0] = w.coupon  # u2's 0-second view of c weighs nothing
    np.testing.assert_allclose(m.confidence.toarray(), expected, rtol=1e-6)
    assert m.confidence.dtype == np.float32
    assert m.purchased.toarray().tolist() == [[1, 0, 0, 0], [0, 1, 0, 0], [0] * 4, [0] * 4]
    assert ds.history_counts.tolist() == [2, 2, 1, 0]  # the 0-weight view still counts
    # per-store popularity and regulars; the coupon has no store
    assert m.store_items.shape == (3, 4)
    np.testing.assert_allclose(m.store_items.toarray()[1], expected[0], rtol=1e-6)
    assert m.user_stores.toarray().tolist() == [[0, 3, 0], [2, 0, 0], [0, 0, 0], [0, 0, 0]]
    assert [ds.assortment.items_of(s).tolist() for s in range(3)] == [[0, 3], [1], [0]]
    assert m.user_features.shape == (4, 4) and m.item_features.shape == (4, 18)
    assert ds.profile_rows(np.array([3, 1, -1])).toarray().tolist() == [
        [0, 1, 0, 1],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
    ]
    assert ds.cutoff == pd.Timestamp("2024-01-08")
    assert ds.report == {"unknown_items": 0, "unknown_assortment_items": 0}
    assert repr(ds) == (
        "RetailDataset(members=4, items=4, stores=3, events=6, profile_features=4, "
        "item_features=18)"
    )


def test_clean_interactions_frame(interactions) -> None:
    ds = RetailDataset.build(interactions.drop(columns=["value"]))
    df = ds.interactions
    assert tuple(df.columns) == Columns.INTERACTIONS
    assert df[Columns.VALUE].tolist() == [1.0] * 6
    assert df[Columns.TIMESTAMP].dtype.kind == "M"
    assert df[Columns.STORE].isna().tolist() == [False] * 5 + [True]
    assert ds.items.ids.tolist() == ["a", "b", "c"]  # no catalog: SKUs of the events
    bare = RetailDataset.build(interactions[["user_id", "item_id", "kind"]])
    assert bare.cutoff is None and bare.n_stores == 0
    assert bare.interactions[Columns.TIMESTAMP].isna().all()
    assert bare.matrices.store_items.shape == (0, 3)


def test_assortment_derived_from_events_without_stores_frame(interactions) -> None:
    ds = RetailDataset.build(interactions)
    assert ds.stores.ids.tolist() == ["s1", "s2"]
    assert [ds.assortment.items_of(s).tolist() for s in range(2)] == [[0, 1], [1, 2]]


def test_int_ids_kinds_and_decay(interactions) -> None:
    df = interactions.assign(
        user_id=[1, 1, 1, 2, 2, 3], kind=["Purchase", "VIEW", "cart", "purchase", "view", "coupon"]
    )
    ds = RetailDataset.build(df, weights=EventWeights(half_life_days=7))
    assert ds.users.ids.tolist() == ["1", "2", "3"]
    assert ds.users.index_of(2) == 1
    assert ds.interactions[Columns.KIND].tolist()[:2] == ["purchase", "view"]
    # u3's coupon is the latest event (no decay); u1's purchase is 7 days older
    conf = ds.matrices.confidence.toarray()
    assert conf[2, 0] == pytest.approx(0.3)
    later = RetailDataset.build(df, weights=EventWeights(half_life_days=7), now="2024-01-15")
    assert later.matrices.confidence.toarray()[2, 0] == pytest.approx(0.15)


@pytest.mark.parametrize(
    ("mutate", "error", "pattern"),
    [
        (lambda d: d.drop(columns=["kind"]), SchemaError, r"\['kind'\]"),
        (
            lambda d: d.assign(user_id=["u1", None, "u1", "u2", "u2", "u3"]),
            SchemaError,
            "'user_id'.*1 missing",
        ),
        (
            lambda d: d.assign(item_id=["a", "a", np.nan, "b", "c", "a"]),
            SchemaError,
            "'item_id'.*rows \\[2\\]",
        ),
        (lambda d: d.assign(value=[1.0, -5.0, 1, 1, 1, 1]), SchemaError, "'value'.*negative.*view"),
        (lambda d: d.assign(value=[1, "long", 1, 1, 1, 1]), SchemaError, "non-numeric"),
        (
            lambda d: d.assign(kind=["purchase", "like", "cart", "x", "view", "coupon"]),
            SchemaError,
            "'like'",
        ),
        (lambda d: d.assign(timestamp=["yesterday"] * 6), SchemaError, "'timestamp'"),
        (lambda d: d.iloc[:0], SchemaError, "empty"),
    ],
)
def test_invalid_interactions_raise_named_errors(interactions, mutate, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        RetailDataset.build(mutate(interactions))


def test_invalid_companion_frames(interactions, catalog, stores, profiles) -> None:
    with pytest.raises(SchemaError, match=r"duplicate SKUs.*'a'"):
        RetailDataset.build(interactions, pd.concat([catalog, catalog.iloc[[0]]]))
    with pytest.raises(SchemaError, match=r"catalog.*'item_id'"):
        RetailDataset.build(interactions, catalog.drop(columns="item_id"))
    with pytest.raises(SchemaError, match=r"profiles.*repeated.*'u1'"):
        RetailDataset.build(interactions, profiles=pd.concat([profiles, profiles.iloc[[0]]]))
    with pytest.raises(SchemaError, match=r"stores.*'store_id'"):
        RetailDataset.build(interactions, stores=stores.drop(columns="store_id"))
    with pytest.raises(InvalidInputError, match="unknown_items"):
        RetailDataset.build(interactions, unknown_items="ignore")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="DataFrame"):
        RetailDataset.build([{"user_id": "u1"}])  # type: ignore[arg-type]


def test_unknown_skus_raise_or_drop_with_counts(interactions, catalog, stores) -> None:
    small = catalog[catalog.item_id != "a"]  # 3 events on "a"
    with pytest.raises(UnknownIdError, match=r"'a'.*3 interactions rows.*unknown_items='drop'"):
        RetailDataset.build(interactions, small)
    ds = RetailDataset.build(interactions, small, stores, unknown_items="drop")
    assert ds.report == {"unknown_items": 3, "unknown_assortment_items": 2}
    assert len(ds.interactions) == 3 and "a" not in set(ds.interactions[Columns.ITEM])
    assert ds.users.ids.tolist() == ["u1", "u2", "u3"]  # u3 stays a member, empty history
    assert ds.history_counts.tolist() == [1, 2, 0]
    with pytest.raises(UnknownIdError, match="stores rows"):
        RetailDataset.build(interactions.iloc[3:5], small, stores)


def test_immutable(interactions) -> None:
    ds = RetailDataset.build(interactions)
    with pytest.raises(AttributeError):
        ds.users = ds.items  # type: ignore[misc]
    with pytest.raises(ValueError):
        ds.history_counts[0] = 9


def test_build_is_vectorized_on_a_million_rows() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    users = np.char.add("u", rng.integers(0, 3000, n).astype(str))
    items = np.char.add("sku", rng.integers(0, 50_000, n).astype(str))
    df = pd.DataFrame(
        {
            "user_id": users,
            "item_id": items,
            "kind": rng.choice(["purchase", "view", "cart"], n),
            "value": rng.exponential(30, n),
            "timestamp": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 86400 * 300, n), "s"),
            "store_id": np.char.add("s", rng.integers(0, 300, n).astype(str)),
        }
    )
    start = time.perf_counter()
    ds = RetailDataset.build(df, weights=EventWeights(half_life_days=30))
    elapsed = time.perf_counter() - start
    assert ds.matrices.confidence.shape == (len(ds.users), len(ds.items))
    assert elapsed < 30  # a Python loop per row would take minutes; typical run is ~2 s

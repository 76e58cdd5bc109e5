"""Splitters: temporal, leave-last-out, cold-user."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys.evaluation.splitters
from recsys.columns import Columns
from recsys.evaluation import cold_user_split, leave_last_out, temporal_split
from recsys.exceptions import InvalidInputError, SchemaError


@pytest.fixture
def interactions() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 600
    return pd.DataFrame(
        {
            Columns.USER: [f"u{i}" for i in rng.integers(0, 40, n)],
            Columns.ITEM: [f"sku{i}" for i in rng.integers(0, 80, n)],
            Columns.KIND: rng.choice(["purchase", "cart", "view", "coupon"], n),
            Columns.VALUE: rng.uniform(0, 60, n),
            Columns.TIMESTAMP: pd.Timestamp("2026-01-01")
            + pd.to_timedelta(rng.integers(0, 90 * 24 * 3600, n), unit="s"),
            Columns.STORE: [f"s{i}" for i in rng.integers(0, 5, n)],
        }
    )


def _rows(df: pd.DataFrame) -> set[tuple]:
    return set(map(tuple, df.astype(str).to_numpy()))


def test_docstring_examples() -> None:
    result = doctest.testmod(recsys.evaluation.splitters)
    assert result.failed == 0 and result.attempted > 0


# ---------------------------------------------------------------------- temporal
@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5, 0.9])
def test_temporal_split_by_fraction(interactions: pd.DataFrame, fraction: float) -> None:
    before = interactions.copy()
    train, test = temporal_split(interactions, test_fraction=fraction)
    pd.testing.assert_frame_equal(interactions, before)  # input untouched
    assert len(train) + len(test) == len(interactions)
    assert train[Columns.TIMESTAMP].max() < test[Columns.TIMESTAMP].min()
    assert len(test) >= round(fraction * len(interactions))
    assert list(train.columns) == list(interactions.columns)
    assert train.index.equals(pd.RangeIndex(len(train)))
    assert _rows(train) | _rows(test) == _rows(interactions)


def test_temporal_split_by_cutoff(interactions: pd.DataFrame) -> None:
    train, test = temporal_split(interactions, cutoff="2026-03-01")
    cutoff = pd.Timestamp("2026-03-01")
    assert (train[Columns.TIMESTAMP] < cutoff).all()
    assert (test[Columns.TIMESTAMP] >= cutoff).all()
    assert len(train) + len(test) == len(interactions)


def test_temporal_split_ties_go_to_test_and_new_members_are_kept() -> None:
    df = pd.DataFrame(
        {
            Columns.USER: ["u1", "u1", "u2", "u2", "new"],
            Columns.ITEM: ["a", "b", "a", "b", "new_sku"],
            Columns.TIMESTAMP: pd.to_datetime(
                ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-03", "2026-01-04"]
            ),
        }
    )
    train, test = temporal_split(df, test_fraction=0.4)  # 2 events -> boundary at 01-03
    assert train[Columns.USER].tolist() == ["u1", "u1"]
    assert test[Columns.USER].tolist() == ["u2", "u2", "new"]  # tie kept together, new kept
    assert test[Columns.ITEM].tolist()[-1] == "new_sku"


def test_temporal_split_does_not_depend_on_row_order(interactions: pd.DataFrame) -> None:
    shuffled = interactions.sample(frac=1.0, random_state=3)
    a = temporal_split(interactions, test_fraction=0.25)
    b = temporal_split(shuffled, test_fraction=0.25)
    assert _rows(a[1]) == _rows(b[1])
    # rows keep their input order
    assert b[1][Columns.TIMESTAMP].tolist() == [
        t for t in shuffled[Columns.TIMESTAMP] if t >= a[1][Columns.TIMESTAMP].min()
    ]


@pytest.mark.parametrize(
    "timestamps",
    [
        ["2026-01-01T00:00:00", "2026-01-02T00:00:00", "2026-01-03T00:00:00"],
        pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"]).tz_localize("Asia/Tokyo"),
        [1_767_225_600.0, 1_767_312_000.0, 1_767_398_400.0],
    ],
)
def test_temporal_split_reads_text_tz_aware_and_epoch(timestamps: object) -> None:
    df = pd.DataFrame({Columns.USER: ["u1", "u2", "u3"], Columns.TIMESTAMP: timestamps})
    train, test = temporal_split(df, test_fraction=1 / 3)
    assert train[Columns.USER].tolist() == ["u1", "u2"]
    assert test[Columns.USER].tolist() == ["u3"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"test_fraction": 0.2, "cutoff": "2026-02-01"},
        {"test_fraction": 0.0},
        {"test_fraction": 1.0},
        {"test_fraction": -0.1},
        {"test_fraction": 1.5},
        {"test_fraction": float("nan")},
        {"test_fraction": True},
        {"test_fraction": "0.2"},
        {"cutoff": "not a date"},
        {"cutoff": "2020-01-01"},  # everything in test
        {"cutoff": "2030-01-01"},  # nothing in test
    ],
)
def test_temporal_split_bad_arguments(interactions: pd.DataFrame, kwargs: dict) -> None:
    with pytest.raises(InvalidInputError):
        temporal_split(interactions, **kwargs)


def test_temporal_split_bad_frames(interactions: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="timestamp"):
        temporal_split(interactions.drop(columns=[Columns.TIMESTAMP]), test_fraction=0.2)
    with pytest.raises(InvalidInputError, match="empty"):
        temporal_split(interactions.iloc[:0], test_fraction=0.2)
    with pytest.raises(InvalidInputError, match="DataFrame"):
        temporal_split(interactions.to_dict(), test_fraction=0.2)  # type: ignore[arg-type]
    broken = interactions.copy()
    broken[Columns.TIMESTAMP] = broken[Columns.TIMESTAMP].astype(object)
    broken.loc[3, Columns.TIMESTAMP] = None
    with pytest.raises(SchemaError, match="missing"):
        temporal_split(broken, test_fraction=0.2)
    same_time = interactions.assign(**{Columns.TIMESTAMP: pd.Timestamp("2026-01-01")})
    with pytest.raises(InvalidInputError, match="every event"):
        temporal_split(same_time, test_fraction=0.2)


# ---------------------------------------------------------------------- leave last out
def test_leave_last_out_takes_each_members_latest(interactions: pd.DataFrame) -> None:
    train, test = leave_last_out(interactions, n=2, min_history=3)
    sizes = interactions.groupby(Columns.USER).size()
    eligible = set(sizes[sizes >= 3].index)
    assert set(test[Columns.USER]) == eligible
    assert (test.groupby(Columns.USER).size() == 2).all()
    for user, held in test.groupby(Columns.USER):
        kept = train[train[Columns.USER] == user]
        assert held[Columns.TIMESTAMP].min() >= kept[Columns.TIMESTAMP].max()
    assert _rows(train) | _rows(test) == _rows(interactions)
    assert len(train) + len(test) == len(interactions)


def test_leave_last_out_small_histories_stay_in_train() -> None:
    df = pd.DataFrame(
        {
            Columns.USER: ["u1", "u1", "u1", "u2", "u3", "u3"],
            Columns.ITEM: ["a", "b", "c", "a", "x", "y"],
            Columns.TIMESTAMP: pd.to_datetime(
                [
                    "2026-01-03",
                    "2026-01-01",
                    "2026-01-02",
                    "2026-01-09",
                    "2026-01-05",
                    "2026-01-05",
                ]
            ),
        }
    )
    train, test = leave_last_out(df)
    # u1's latest is 'a'; u2 has one event (train); u3's tie goes to the later row 'y'
    assert test[Columns.ITEM].tolist() == ["a", "y"]
    assert train[Columns.ITEM].tolist() == ["b", "c", "a", "x"]
    _, test3 = leave_last_out(df, n=1, min_history=3)
    assert test3[Columns.ITEM].tolist() == ["a"]


@given(
    events=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 20)), min_size=1, max_size=60),
    n=st.integers(1, 3),
    extra=st.integers(1, 3),
)
@settings(max_examples=60, deadline=None)
def test_leave_last_out_property(events: list[tuple[int, int]], n: int, extra: int) -> None:
    df = pd.DataFrame(
        {
            Columns.USER: [f"u{u}" for u, _ in events],
            Columns.TIMESTAMP: pd.to_datetime([t for _, t in events], unit="D"),
            "row": range(len(events)),
        }
    )
    min_history = n + extra
    sizes = df.groupby(Columns.USER).size()
    if (sizes < min_history).all():
        with pytest.raises(InvalidInputError):
            leave_last_out(df, n=n, min_history=min_history)
        return
    train, test = leave_last_out(df, n=n, min_history=min_history)
    expected = (
        df.sort_values([Columns.TIMESTAMP, "row"], kind="stable").groupby(Columns.USER).tail(n)
    )
    expected = expected[expected[Columns.USER].map(sizes) >= min_history]
    assert sorted(test["row"]) == sorted(expected["row"])
    assert sorted([*train["row"], *test["row"]]) == list(range(len(df)))
    assert test["row"].is_monotonic_increasing and train["row"].is_monotonic_increasing


@pytest.mark.parametrize(
    "kwargs",
    [{"n": 0}, {"n": 2, "min_history": 2}, {"min_history": 0}, {"n": 1.5}, {"n": True}],
)
def test_leave_last_out_bad_arguments(interactions: pd.DataFrame, kwargs: dict) -> None:
    with pytest.raises(InvalidInputError):
        leave_last_out(interactions, **kwargs)


def test_leave_last_out_bad_frames(interactions: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="timestamp"):
        leave_last_out(interactions.drop(columns=[Columns.TIMESTAMP]))
    with pytest.raises(SchemaError, match="user_id"):
        leave_last_out(interactions.drop(columns=[Columns.USER]))
    with pytest.raises(InvalidInputError, match="empty"):
        leave_last_out(interactions.iloc[:0])
    with pytest.raises(InvalidInputError, match="min_history"):
        leave_last_out(interactions.drop_duplicates(Columns.USER))


# ---------------------------------------------------------------------- cold users
@pytest.fixture
def profiles(interactions: pd.DataFrame) -> pd.DataFrame:
    users = sorted(interactions[Columns.USER].unique())
    return pd.DataFrame(
        {
            Columns.USER: users,
            "age_band": ["25-34" if i % 2 else "35-44" for i in range(len(users))],
        }
    )


def test_cold_user_split_holds_members_out(
    interactions: pd.DataFrame, profiles: pd.DataFrame
) -> None:
    train, test, test_profiles = cold_user_split(interactions, profiles, fraction=0.25, seed=1)
    n_members = interactions[Columns.USER].nunique()
    held = set(test[Columns.USER])
    assert len(held) == round(0.25 * n_members)
    assert not held & set(train[Columns.USER])
    assert test_profiles is not None
    assert set(test_profiles[Columns.USER]) == held
    assert list(test_profiles.columns) == list(profiles.columns)
    assert len(train) + len(test) == len(interactions)
    assert _rows(train) | _rows(test) == _rows(interactions)


def test_cold_user_split_is_deterministic(interactions: pd.DataFrame) -> None:
    a = cold_user_split(interactions, fraction=0.2, seed=5)
    b = cold_user_split(interactions.sample(frac=1.0, random_state=1), fraction=0.2, seed=5)
    c = cold_user_split(interactions, fraction=0.2, seed=6)
    assert a[2] is None
    assert set(a[1][Columns.USER]) == set(b[1][Columns.USER])
    assert set(a[1][Columns.USER]) != set(c[1][Columns.USER])
    pd.testing.assert_frame_equal(a[1], cold_user_split(interactions, fraction=0.2, seed=5)[1])


def test_cold_user_split_keeps_at_least_one_member_each_side() -> None:
    df = pd.DataFrame({Columns.USER: ["u1", "u2", "u2"], Columns.ITEM: ["a", "b", "c"]})
    train, test, _ = cold_user_split(df, fraction=0.99)
    assert train[Columns.USER].nunique() == 1 and test[Columns.USER].nunique() == 1
    train, test, _ = cold_user_split(df, fraction=0.01)
    assert train[Columns.USER].nunique() == 1 and test[Columns.USER].nunique() == 1


@pytest.mark.parametrize("kwargs", [{"fraction": 0.0}, {"fraction": 1.0}, {"seed": "x"}])
def test_cold_user_split_bad_arguments(interactions: pd.DataFrame, kwargs: dict) -> None:
    with pytest.raises(InvalidInputError):
        cold_user_split(interactions, **kwargs)


def test_cold_user_split_bad_frames(interactions: pd.DataFrame) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        cold_user_split(interactions.iloc[:0])
    with pytest.raises(InvalidInputError, match="two members"):
        cold_user_split(interactions.assign(**{Columns.USER: "u1"}))
    with pytest.raises(SchemaError, match="profiles"):
        cold_user_split(interactions, pd.DataFrame({"member": ["u1"]}))
    with pytest.raises(SchemaError, match="user_id"):
        cold_user_split(interactions.drop(columns=[Columns.USER]))

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from recsys.data import IdMap, ProfileEncoder
from recsys.exceptions import InvalidInputError, NotFittedError, RecsysWarning, SchemaError


def test_vocabulary_is_stable_under_row_order(profiles: pd.DataFrame) -> None:
    a = ProfileEncoder().fit(profiles)
    b = ProfileEncoder().fit(profiles.iloc[::-1])
    assert (
        a.feature_names
        == b.feature_names
        == [
            "age_band=25-34",
            "age_band=35-44",
            "family=kids",
            "spend",
        ]
    )
    assert a.tag_columns == ["age_band", "family"] and a.numeric_columns == ["spend"]
    assert (a.transform(profiles) != b.transform(profiles)).nnz == 0


def test_transform_values_and_missing(profiles: pd.DataFrame) -> None:
    enc = ProfileEncoder().fit(profiles)
    x = enc.transform(profiles)
    assert x.dtype == np.float32 and x.shape == (2, 4)
    # spend standardized: mean 200, std 100; missing family gives no feature
    assert x.toarray().tolist() == [[1, 0, 1, -1], [0, 1, 0, 1]]
    y = enc.transform([{"age_band": None, "family": np.nan, "spend": None}])
    assert y.nnz == 0


def test_unseen_tag_warns_and_is_ignored(profiles: pd.DataFrame) -> None:
    enc = ProfileEncoder().fit(profiles)
    with pytest.warns(RecsysWarning, match=r"age_band: 1 value") as seen:
        row = enc.transform_one({"age_band": "65+", "family": "kids"})
    assert row.toarray().tolist() == [[0, 0, 1, 0]]
    assert "65" not in str(seen[0].message)  # a tag misused for an id never reaches a log
    with pytest.warns(RecsysWarning, match="age_band"):
        rows = enc.transform(pd.DataFrame({"age_band": ["65+", "25-34"]}))
    assert rows.toarray().tolist() == [[0, 0, 0, 0], [1, 0, 0, 0]]
    with pytest.warns(RecsysWarning, match="did you mean 'age_band'") as typo:
        enc.transform_one({"agee_band": "25-34"})
    assert "agee_band" not in str(typo[0].message)  # a client's field name is never quoted


def test_transform_one_matches_transform(profiles: pd.DataFrame) -> None:
    enc = ProfileEncoder().fit(profiles)
    batch = enc.transform(profiles)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i, rec in enumerate(profiles.to_dict("records")):
            one = enc.transform_one(rec)
            np.testing.assert_allclose(one.toarray(), batch[i].toarray(), rtol=1e-6)
    with pytest.raises(InvalidInputError, match="spend"):
        enc.transform_one({"spend": "lots"})


def test_numbers_as_tags_are_normalized() -> None:
    df = pd.DataFrame({"user_id": ["u1", "u2"], "size": [2.0, np.nan]})
    enc = ProfileEncoder(tag_columns=["size"]).fit(df)
    assert enc.feature_names == ["size=2"]
    assert enc.transform_one({"size": 2}).indices.tolist() == [0]


def test_rows_aligned_to_members(profiles: pd.DataFrame) -> None:
    enc = ProfileEncoder().fit(profiles)
    users = IdMap(["u9", "u4", "u1"], kind="member")
    x = enc.transform(profiles, users=users).toarray()
    assert x.shape == (3, 4)
    assert x[0].tolist() == [0, 0, 0, 0] and x[1, 1] == 1 and x[2, 0] == 1
    with pytest.raises(SchemaError, match="repeated"):
        enc.transform(pd.concat([profiles, profiles]), users=users)


def test_describe(profiles: pd.DataFrame) -> None:
    enc = ProfileEncoder().fit(profiles)
    assert enc.describe({"age_band": "25-34", "family": "kids", "spend": 5}) == ["25-34", "kids"]
    assert enc.describe({"age_band": "99+"}) == []
    x = enc.transform(profiles)
    assert enc.describe(x[0]) == ["25-34", "kids"]
    assert enc.describe(x[1].toarray()[0]) == ["35-44"]


def test_state_round_trip_and_errors(profiles: pd.DataFrame) -> None:
    enc = ProfileEncoder().fit(profiles)
    again = ProfileEncoder.from_dict(enc.to_dict())
    assert (again.transform(profiles) != enc.transform(profiles)).nnz == 0
    with pytest.raises(NotFittedError):
        ProfileEncoder().transform(profiles)
    with pytest.raises(SchemaError, match="'nope'"):
        ProfileEncoder(tag_columns=["nope"]).fit(profiles)
    with pytest.raises(SchemaError, match="numeric"):
        ProfileEncoder(numeric_columns=["age_band"]).fit(profiles)


def test_constant_numeric_column_does_not_blow_up() -> None:
    enc = ProfileEncoder().fit(pd.DataFrame({"x": [3.0, 3.0]}))
    assert enc.transform(pd.DataFrame({"x": [3.0, 4.0]})).toarray().tolist() == [[0], [1]]

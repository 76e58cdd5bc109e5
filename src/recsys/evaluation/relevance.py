"""What a test period says a member wanted: the relevant SKUs the shelves are scored against.

A member's relevant SKUs are the SKUs of their test events of ``relevant_kinds``. The default,
``"auto"``, means purchases when the test frame has any purchase event (what a shelf is for),
else every event. SKUs the recommender has never heard of are dropped (no model can show
them). With ``exclude_train=True`` (the evaluation default) SKUs the member bought in
``train`` are dropped too, to match shelves that leave out what the member already bought:
the score measures discovery, not repeat purchases. Members left with no relevant SKU are not
evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from recsys.columns import Columns, EventKind
from recsys.exceptions import InvalidInputError

__all__ = ["relevant_items"]


def _kinds(test: pd.DataFrame, relevant_kinds: str | Sequence[str] | None) -> list[str] | None:
    """Event kinds that count as relevant (``None``: every event)."""
    if relevant_kinds is None or Columns.KIND not in test.columns:
        return None
    if isinstance(relevant_kinds, str):
        if relevant_kinds == "auto":
            has_purchase = (test[Columns.KIND] == EventKind.PURCHASE).any()
            return [EventKind.PURCHASE] if has_purchase else None
        return [relevant_kinds]
    return list(relevant_kinds)


def _bought_pairs(train: pd.DataFrame | None) -> pd.DataFrame | None:
    """Distinct (member, SKU) purchases of ``train`` (every event if it has no kinds)."""
    if train is None or not len(train):
        return None
    frame = train
    if Columns.KIND in frame.columns:
        frame = frame[frame[Columns.KIND] == EventKind.PURCHASE]
    return frame[[Columns.USER, Columns.ITEM]].astype(str).drop_duplicates()


def _check_frame(frame: Any, name: str, needed: Sequence[str]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"{name} misses columns {missing} (has {list(frame.columns)})")
    return frame


def relevant_items(
    test: pd.DataFrame,
    train: pd.DataFrame | None = None,
    *,
    relevant_kinds: str | Sequence[str] | None = "auto",
    exclude_train: bool = True,
    known_items: Any = None,
    by_store: bool = False,
) -> dict[Any, set[str]]:
    """Relevant SKUs per member (or per ``(store, member)``) of a test frame.

    Parameters
    ----------
    test : pandas.DataFrame
        Test interactions (``user_id``, ``item_id``, optionally ``kind`` and ``store_id``).
    train : pandas.DataFrame, optional
        Training interactions; with ``exclude_train``, a member's train purchases are dropped.
    relevant_kinds : "auto", str, list of str or None
        Kinds that count; ``"auto"``: purchases if the test has any, else every event.
    exclude_train : bool
        Drop SKUs the member bought in ``train``.
    known_items : container of str, optional
        Keep only these SKUs (those the recommender can show).
    by_store : bool
        Key by ``(store_id, member_id)`` instead of member id.

    Returns
    -------
    dict
        Member (or ``(store, member)``) -> non-empty set of SKU ids, keys sorted.

    Raises
    ------
    InvalidInputError
        ``test`` is not a DataFrame or misses a needed column.

    Examples
    --------
    >>> import pandas as pd
    >>> train = pd.DataFrame({"user_id": ["u1"], "item_id": ["a"], "kind": ["purchase"]})
    >>> test = pd.DataFrame({"user_id": ["u1", "u1", "u2"], "item_id": ["a", "b", "c"],
    ...                      "kind": ["purchase", "purchase", "view"]})
    >>> relevant_items(test, train)
    {'u1': {'b'}}
    >>> sorted(relevant_items(test, train, relevant_kinds=None, exclude_train=False))
    ['u1', 'u2']
    """
    needed = [Columns.USER, Columns.ITEM] + ([Columns.STORE] if by_store else [])
    _check_frame(test, "test", needed)
    kinds = _kinds(test, relevant_kinds)
    frame = test if kinds is None else test[test[Columns.KIND].isin(kinds)]
    frame = frame[needed].dropna().astype(str).drop_duplicates()
    if known_items is not None:
        frame = frame[frame[Columns.ITEM].isin(known_items)]
    bought = _bought_pairs(train) if exclude_train else None
    if bought is not None and len(frame):
        merged = frame.merge(bought, on=[Columns.USER, Columns.ITEM], how="left", indicator=True)
        frame = merged[merged["_merge"] == "left_only"].drop(columns="_merge")
    keys: Any = [Columns.STORE, Columns.USER] if by_store else Columns.USER
    return {key: set(items) for key, items in frame.groupby(keys, sort=True)[Columns.ITEM]}

"""Several models, one split, one table: :func:`compare_models`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from recsys.columns import Columns
from recsys.evaluation.cold import evaluate_cold
from recsys.evaluation.evaluate import METRICS, evaluate
from recsys.exceptions import InvalidInputError, RecsysError
from recsys.recommender import Recommender

__all__ = ["compare_models"]

_KEYS: tuple[str, ...] = (*METRICS, "n_members")


def _models(models: Any, seed: int) -> list[tuple[str, Any]]:
    if isinstance(models, Mapping):
        items = [(str(name), model) for name, model in models.items()]
    elif isinstance(models, str) or not isinstance(models, Sequence):
        raise InvalidInputError("models must be a dict name -> Recommender or a list of names")
    else:
        if not all(isinstance(name, str) for name in models):
            raise InvalidInputError(f"model names must be strings, got {list(models)!r}")
        items = [(name, Recommender(model=name, seed=seed)) for name in models]
    if not items:
        raise InvalidInputError("models is empty: nothing to compare")
    names = [name for name, _ in items]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"model names must be unique, got {names}")
    return items


def _without_cold(
    profiles: pd.DataFrame | None, cold: tuple[pd.DataFrame, pd.DataFrame] | None
) -> pd.DataFrame | None:
    """``profiles`` minus the rows of the ``cold`` members, so that they stay unknown."""
    if cold is not None and profiles is not None:
        held_out = set(cold[1][Columns.USER].astype(str))
        return profiles[~profiles[Columns.USER].astype(str).isin(held_out)]
    return profiles


@dataclass(frozen=True)
class _Bench:
    """What every model of one :func:`compare_models` call is fitted on and scored against."""

    train: pd.DataFrame
    test: pd.DataFrame
    k: int
    frames: Mapping[str, pd.DataFrame | None]  # catalog / stores / profiles of every fit
    cold: tuple[pd.DataFrame, pd.DataFrame] | None
    cold_models: Collection[str] | None
    sample: int | None
    seed: int
    exclude_train: bool
    on_error: str

    def row(self, name: str, model: Any) -> dict[str, Any]:
        """The model's table row; with ``on_error="nan"`` a failure leaves an ``error``."""
        row: dict[str, Any] = {"model": name}
        try:
            self._fit_and_score(row, name, model)
        except RecsysError as exc:
            if self.on_error == "raise":
                raise
            row["error"] = f"{type(exc).__name__}: {exc}"
        return row

    def _fit_and_score(self, row: dict[str, Any], name: str, model: Any) -> None:
        """Fit, time and score ``model`` into ``row`` as it goes (a failure keeps the rest)."""
        start = time.perf_counter()
        model.fit(self.train, **self.frames)
        row["fit_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        row.update(
            evaluate(
                model,
                self.train,
                self.test,
                self.k,
                exclude_train=self.exclude_train,
                sample=self.sample,
                seed=self.seed,
            )
        )
        if self.cold is not None:
            row.update({f"cold_{key}": value for key, value in self._cold(name, model).items()})
        row["eval_seconds"] = time.perf_counter() - start

    def _cold(self, name: str, model: Any) -> dict[str, float]:
        """Cold scores of a model with a cold-start path that is asked for, else NaN."""
        assert self.cold is not None
        scored = (
            name in self.cold_models
            if self.cold_models is not None
            else getattr(getattr(model, "model_", None), "uses_profiles", False)
        )
        if not scored:
            return dict.fromkeys(_KEYS, math.nan)
        cold_test, cold_profiles = self.cold
        return evaluate_cold(
            model,
            cold_test,
            cold_profiles,
            self.k,
            train=self.train,
            sample=self.sample,
            seed=self.seed,
        )


def _table(rows: list[dict[str, Any]], cold: bool) -> pd.DataFrame:
    """The rows indexed by model: the known columns in order, then any others (``error``)."""
    columns = ["model", "fit_seconds", "eval_seconds", *_KEYS]
    if cold:
        columns += [f"cold_{key}" for key in _KEYS]
    table = pd.DataFrame(rows)
    extra = [c for c in table.columns if c not in columns]
    return table.reindex(columns=columns + extra).set_index("model")


def compare_models(
    models: Mapping[str, Any] | Sequence[str],
    train: pd.DataFrame,
    test: pd.DataFrame,
    k: int = 10,
    *,
    catalog: pd.DataFrame | None = None,
    stores: pd.DataFrame | None = None,
    profiles: pd.DataFrame | None = None,
    cold: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    cold_models: Collection[str] | None = None,
    sample: int | None = None,
    seed: int = 0,
    exclude_train: bool = True,
    on_error: str = "raise",
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Fit several models on the same training data and tabulate their scores.

    Parameters
    ----------
    models : dict name -> unfitted Recommender, or list of model names
        Names build ``Recommender(model=name, seed=seed)``. Any object with the facade's
        ``fit`` / ``recommend_batch`` and ``dataset_`` works (e.g.
        :class:`~recsys.evaluation.baselines.ImplicitALSBaseline`).
    train, test, k
        The split and the shelf length: every model is fitted on ``train`` (and timed) and
        scored with :func:`~recsys.evaluation.evaluate`.
    catalog, stores, profiles : pandas.DataFrame, optional
        Passed to ``fit``, without the profile rows of the ``cold`` members (they stay unknown).
    cold : (cold_test, cold_profiles), optional
        Events and profiles of members held out of ``train`` entirely (see
        :func:`~recsys.evaluation.cold_user_split`), scored with
        :func:`~recsys.evaluation.evaluate_cold` into ``cold_*`` columns.
    cold_models : collection of str, optional
        Models scored on ``cold`` (default: all with ``recommend``); the others get NaN.
    sample, seed, exclude_train
        As in :func:`~recsys.evaluation.evaluate` (the same sample for every model).
    on_error : {"raise", "nan"}
        On a :class:`~recsys.exceptions.RecsysError` from a model's fit or evaluation,
        raise, or record NaN scores and the message in an ``error`` column.
    log : callable, optional
        Called with one progress line per model (e.g. ``print``).

    Returns
    -------
    pandas.DataFrame
        One row per model, in the given order (index ``model``): ``fit_seconds``,
        ``eval_seconds``, the keys of :func:`~recsys.evaluation.evaluate`, ``cold_<key>``
        when ``cold`` is given, and an ``error`` column only if a model failed.

    Raises
    ------
    InvalidInputError
        Empty or malformed ``models``, bad ``on_error``; with ``on_error="raise"``, whatever
        a model's fit or evaluation raised.

    Examples
    --------
    >>> from recsys.datasets import synthetic_retail
    >>> from recsys.evaluation import temporal_split
    >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=3, items_per_store=(80, 120))
    >>> train, test = temporal_split(data.interactions, test_fraction=0.2)
    >>> table = compare_models(["popular", "ease"], train, test, k=10, catalog=data.catalog,
    ...                        stores=data.stores, profiles=data.profiles)
    >>> table.index.tolist(), "fit_seconds" in table.columns
    (['popular', 'ease'], True)
    """
    if on_error not in ("raise", "nan"):
        raise InvalidInputError(f"on_error must be 'raise' or 'nan', got {on_error!r}")
    items = _models(models, seed)
    frames = {"catalog": catalog, "stores": stores, "profiles": _without_cold(profiles, cold)}
    bench = _Bench(train, test, k, frames, cold, cold_models, sample, seed, exclude_train, on_error)
    rows = []
    for name, model in items:
        rows.append(bench.row(name, model))
        if log is not None:
            log(_progress(name, rows[-1], k, cold is not None))
    return _table(rows, cold is not None)


def _progress(name: str, row: Mapping[str, Any], k: int, cold: bool) -> str:
    def get(key: str) -> float:
        return float(row.get(key, math.nan))

    line = (
        f"  {name:<22} ndcg@{k}={get('ndcg'):.4f} recall@{k}={get('recall'):.4f} "
        f"fit={get('fit_seconds'):.1f}s"
    )
    if cold:
        line += f" cold ndcg@{k}={get('cold_ndcg'):.4f}"
    if "error" in row:
        line += f" FAILED: {row['error']}"
    return line

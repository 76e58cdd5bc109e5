"""Hyperparameter search on a validation split carved out of the training data.

:func:`tune` never sees a test split: it is given training data only and splits it in time
once more (the latest ``validation_fraction`` of its events become the validation set), fits
one recommender per trial on the earlier part and scores it with
:func:`~recsys.evaluation.evaluate` on the validation part. Trials are the model's defaults
followed by a seeded random sample of a small grid (:data:`SEARCH_SPACES`), so the best trial
is never worse than the defaults on validation. Refit the winner on all of the training data
(``Recommender(model, **result.best_params).fit(train)``) before testing it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recsys.columns import Columns
from recsys.evaluation.evaluate import METRICS, evaluate
from recsys.evaluation.splitters import temporal_split
from recsys.exceptions import InvalidInputError
from recsys.models import make_model
from recsys.recommender import Recommender

__all__ = ["SEARCH_SPACES", "STRATEGIES", "TuningResult", "tune"]

#: Search strategies of :func:`tune`. ``"coordinate"``: from the defaults, every value of each
#: parameter in turn (in the order of the space), the others at the best so far: one pass of
#: ``1 + sum(len(values) - 1)`` trials. ``"random"``: the defaults, then seeded random grid
#: points that try every value early (see ``_candidates``).
STRATEGIES: tuple[str, ...] = ("coordinate", "random")

# most influential first: the coordinate search settles the earlier parameters first
_ALS: dict[str, list[Any]] = {
    "alpha": [1.0, 5.0, 10.0, 40.0],
    "regularization": [0.1, 1.0, 10.0, 50.0],
    "factors": [32, 64, 128],
    "iterations": [15, 30],
}

#: Grid per model name; :func:`tune` searches combinations of these values, in key order.
SEARCH_SPACES: dict[str, dict[str, list[Any]]] = {
    "als": _ALS,
    "hybrid": {**_ALS, "shrink": [1.0, 5.0, 20.0, 50.0]},
    "profile": {**_ALS, "profile_regularization": [0.1, 1.0, 10.0]},
    "bpr": {
        "factors": [32, 64, 128],
        "learning_rate": [0.005, 0.01, 0.05],
        "regularization": [0.001, 0.01, 0.1],
        "iterations": [50, 100, 200],
    },
    "ease": {
        "regularization": [100.0, 500.0, 2000.0, 8000.0, 30000.0, 100000.0],
        "binary": [True, False],
    },
    "itemknn": {"K": [20, 50, 100, 200], "similarity": ["cosine", "bm25"]},
    "popular": {
        "by": ["auto", "global", "store", "segment"],
        "global_weight": [0.0, 0.05, 0.2],
        "count": ["members", "events"],
    },
}


@dataclass(frozen=True)
class TuningResult:
    """Outcome of :func:`tune`.

    Attributes
    ----------
    model : str
        The model that was tuned.
    best_params : dict
        Hyperparameters of the best trial: ``Recommender(model, **best_params)``.
    best_score : float
        Its validation value of ``metric``.
    metric : str
        The metric that was maximized (at ``k``).
    k : int
        Shelf length of the metric.
    trials : pandas.DataFrame
        One row per trial (index ``trial``, 0 = the defaults): the parameters,
        ``fit_seconds`` and every validation metric, best first (ties by trial order).
    cutoff : pandas.Timestamp
        Start of the validation period: trials are fitted on events strictly before it and
        scored on the events from it on, all taken from the data :func:`tune` was given.
    """

    model: str
    best_params: dict[str, Any]
    best_score: float
    metric: str
    k: int
    trials: pd.DataFrame
    cutoff: pd.Timestamp


def _defaults(model: str, space: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """Where the search starts: the default of each parameter (the facade's over the model's,
    as ``Recommender(model)`` would fit) when the grid has it, else the grid's first value."""
    params = {**make_model(model).get_params(), **Recommender(model=model).get_params()}
    out = {}
    for name, values in space.items():
        default = params.get(name, values[0])
        out[name] = default if any(_key(default) == _key(v) for v in values) else values[0]
    return out


def _candidates(
    model: str, space: Mapping[str, Sequence[Any]], n_trials: int, seed: int
) -> list[dict[str, Any]]:
    """The defaults, then distinct grid points in a seeded random order that covers values.

    Each next point is the first one, in a seeded random permutation of the grid, that tries
    the most parameter values not tried yet: every value of every parameter is tried once
    within the first ``max(len(values))`` trials or so, then the order is plain random.
    (The whole grid when it has at most ``n_trials`` points.)
    """
    names = list(space)
    grid = [dict(zip(names, point, strict=True)) for point in itertools.product(*space.values())]
    first = _defaults(model, space)
    order = [grid[j] for j in np.random.default_rng(seed).permutation(len(grid))]
    order = [point for point in order if point != first]
    out = [first]
    seen = {(name, _key(value)) for name, value in first.items()}
    while order and len(out) < n_trials:
        fresh = [sum((n, _key(v)) not in seen for n, v in point.items()) for point in order]
        point = order.pop(int(np.argmax(fresh)))
        seen.update((name, _key(value)) for name, value in point.items())
        out.append(point)
    return out


def _key(value: Any) -> Any:
    """A hashable stand-in for a grid value."""
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _check_space(model: Any, space: Any) -> Mapping[str, Sequence[Any]]:
    if not isinstance(model, str):
        raise InvalidInputError(f"model must be a model name, got {model!r}")
    if space is None:
        if model not in SEARCH_SPACES:
            raise InvalidInputError(
                f"no search space for model {model!r}; pass space= or use one of "
                f"{sorted(SEARCH_SPACES)}"
            )
        return SEARCH_SPACES[model]
    valid = isinstance(space, Mapping) and bool(space)
    valid = valid and all(
        isinstance(v, Sequence) and not isinstance(v, str) and len(v) > 0 for v in space.values()
    )
    if not valid:
        raise InvalidInputError("space must map each parameter name to a non-empty list")
    return space


def _frames(data: Any, catalog: Any, stores: Any, profiles: Any) -> tuple[Any, ...]:
    """(interactions, catalog, stores, profiles) of a RetailData bundle or a DataFrame."""
    if all(hasattr(data, a) for a in ("interactions", "catalog", "stores", "profiles")):
        return (
            data.interactions,
            data.catalog if catalog is None else catalog,
            data.stores if stores is None else stores,
            data.profiles if profiles is None else profiles,
        )
    if not isinstance(data, pd.DataFrame):
        raise InvalidInputError(
            f"data must be a RetailData bundle or an interactions DataFrame, got "
            f"{type(data).__name__}"
        )
    return data, catalog, stores, profiles


def _split(
    data: Any, catalog: Any, stores: Any, profiles: Any, validation_fraction: float
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """(fit part, validation part, the fit's catalog / stores / profiles) of ``data``."""
    interactions, catalog, stores, profiles = _frames(data, catalog, stores, profiles)
    fit_part, valid = temporal_split(interactions, test_fraction=validation_fraction)
    return fit_part, valid, {"catalog": catalog, "stores": stores, "profiles": profiles}


def _coordinate(
    first: dict[str, Any], space: Mapping[str, Sequence[Any]], score: Callable[[dict], float]
) -> None:
    """One pass of coordinate search: each parameter in turn, the others at the best so far."""
    best, best_score = dict(first), score(first)
    for name, values in space.items():
        for value in values:
            point = {**best, name: value}
            if point == best:
                continue
            value_score = score(point)
            if value_score > best_score:
                best, best_score = point, value_score


class _Budget(Exception):
    """Raised by the scorer when the trial budget is spent."""


def _check_search(
    model: Any,
    space: Any,
    strategy: str,
    n_trials: Any,
    metric: str,
    params: Mapping[str, Any] | None,
) -> tuple[Mapping[str, Sequence[Any]], dict[str, Any]]:
    """The grid and the fixed parameters of :func:`tune`, once its arguments are valid."""
    space = _check_space(model, space)
    if strategy not in STRATEGIES:
        raise InvalidInputError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if n_trials is not None and (
        isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1
    ):
        raise InvalidInputError(f"n_trials must be a positive int or None, got {n_trials!r}")
    if metric not in METRICS:
        raise InvalidInputError(f"metric must be one of {METRICS}, got {metric!r}")
    fixed = dict(params or {})
    if set(fixed) & set(space):
        raise InvalidInputError(f"params {sorted(set(fixed) & set(space))} are also in space")
    return space, fixed


@dataclass
class _Trials:
    """The scorer of a search: fits a point on ``fit_part``, scores it on ``valid``.

    A point already scored is not fitted again; a new one past ``budget`` recorded trials
    raises :class:`_Budget`, which ends the search.
    """

    template: Recommender
    fit_part: pd.DataFrame
    frames: Mapping[str, pd.DataFrame | None]  # catalog / stores / profiles of every fit
    valid: pd.DataFrame
    k: int
    metric: str
    sample: int | None
    seed: int
    budget: int | None
    log: Callable[[str], None] | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    done: dict[tuple, float] = field(default_factory=dict)

    def __call__(self, point: dict[str, Any]) -> float:
        key = tuple((name, _key(value)) for name, value in point.items())
        if key in self.done:
            return self.done[key]
        if self.budget is not None and len(self.rows) >= self.budget:
            raise _Budget
        rec = self.template.clone().set_params(**point)
        start = time.perf_counter()
        rec.fit(self.fit_part, **self.frames)
        seconds = time.perf_counter() - start
        scores = evaluate(
            rec, self.fit_part, self.valid, self.k, sample=self.sample, seed=self.seed
        )
        self.rows.append({"trial": len(self.rows), **point, "fit_seconds": seconds, **scores})
        metric, k = self.metric, self.k
        if self.log is not None:
            self.log(
                f"trial {len(self.rows) - 1}: {point} -> {metric}@{k}={scores[metric]:.4f} "
                f"({seconds:.1f}s)"
            )
        self.done[key] = scores[metric]
        return scores[metric]


def _search(
    strategy: str,
    model: str,
    space: Mapping[str, Sequence[Any]],
    budget: int | None,
    seed: int,
    score: Callable[[dict[str, Any]], float],
) -> None:
    """Run the ``strategy``'s trials through ``score`` until done or out of budget."""
    try:
        if strategy == "coordinate":
            _coordinate(_defaults(model, space), space, score)
        else:
            for point in _candidates(model, space, budget or 8, seed):
                score(point)
    except _Budget:
        pass


def _best(
    rows: list[dict[str, Any]],
    fixed: dict[str, Any],
    space: Mapping[str, Sequence[Any]],
    metric: str,
) -> tuple[pd.DataFrame, dict[str, Any], float]:
    """(trial table best first, best params with the fixed ones, best score) of the trials."""
    trials = pd.DataFrame(rows).sort_values([metric, "trial"], ascending=[False, True])
    trials = trials.set_index("trial")
    best = trials.index[0]
    best_params = {**fixed, **{name: _plain(trials.loc[best, name]) for name in space}}
    return trials, best_params, float(trials.loc[best, metric])


def tune(
    data: Any,
    model: str = "als",
    *,
    catalog: pd.DataFrame | None = None,
    stores: pd.DataFrame | None = None,
    profiles: pd.DataFrame | None = None,
    strategy: str = "coordinate",
    n_trials: int | None = None,
    k: int = 10,
    seed: int = 0,
    metric: str = "ndcg",
    validation_fraction: float = 0.2,
    space: Mapping[str, Sequence[Any]] | None = None,
    params: Mapping[str, Any] | None = None,
    sample: int | None = 2000,
    log: Callable[[str], None] | None = None,
) -> TuningResult:
    """Search a model's hyperparameters on a temporal validation split of ``data``.

    Parameters
    ----------
    data : RetailData or pandas.DataFrame
        *Training* data only (a bundle, or its interactions frame): the validation split is
        carved out of it. To tune before a test, pass the train part of the test split.
    model : str
        Registry name (``"als"``, ``"hybrid"``, ``"ease"`` ...; see :data:`SEARCH_SPACES`).
    catalog, stores, profiles : pandas.DataFrame, optional
        Passed to every ``fit`` (default: the bundle's).
    strategy : {"coordinate", "random"}
        One coordinate pass from the defaults, or seeded random grid points (:data:`STRATEGIES`).
    n_trials : int, optional
        At most this many trials, the defaults included (default: one coordinate pass, or 8).
    k, metric : int, str
        Shelf length and validation metric to maximize (one of :data:`METRICS`).
    validation_fraction : float in (0, 1)
        Share of the latest events of ``data`` used as validation.
    space : dict name -> list of values, optional
        Grid instead of ``SEARCH_SPACES[model]``; the search starts at the model's default
        of each parameter when the grid holds it, else at its first value.
    params : dict, optional
        Fixed hyperparameters of every trial (e.g. ``{"factors": 32}``), not in ``space``.
    sample, seed : int or None, int
        Validation members scored per trial (``None``: all), drawn with ``seed``, which also
        seeds the models and the random grid order.
    log : callable, optional
        Called with one line per trial (e.g. ``print``).

    Returns
    -------
    TuningResult
        ``best_params`` (``params`` and the best trial's searched values) for
        ``Recommender(model=..., **best_params)``, and the trial table.

    Raises
    ------
    InvalidInputError
        Unknown model without a ``space``, bad ``space`` / ``strategy`` / ``n_trials`` /
        ``metric`` / ``validation_fraction``, or a validation period without warm members.

    Examples
    --------
    >>> from recsys.datasets import synthetic_retail
    >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=3, items_per_store=(80, 120))
    >>> result = tune(data, "ease", space={"regularization": [100.0, 500.0, 2000.0]})
    >>> len(result.trials), sorted(result.best_params)
    (3, ['regularization'])
    >>> bool(result.best_score == result.trials[result.metric].max())
    True
    """
    space, fixed = _check_search(model, space, strategy, n_trials, metric, params)
    fit_part, valid, frames = _split(data, catalog, stores, profiles, validation_fraction)
    cutoff = pd.Timestamp(pd.to_datetime(valid[Columns.TIMESTAMP]).min())
    budget = n_trials if n_trials is not None else (8 if strategy == "random" else None)
    template = Recommender(model=model, seed=seed, **fixed)
    score = _Trials(template, fit_part, frames, valid, k, metric, sample, seed, budget, log)
    _search(strategy, model, space, budget, seed, score)
    trials, best_params, best_score = _best(score.rows, fixed, space, metric)
    return TuningResult(model, best_params, best_score, metric, k, trials, cutoff)


def _plain(value: Any) -> Any:
    """NumPy scalars from a DataFrame back to Python ints / floats / strs."""
    return value.item() if isinstance(value, np.generic) else value

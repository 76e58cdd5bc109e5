"""Models behind one protocol, typed by what they are (:class:`VectorModel`, :class:`ScoreModel`).

Reachable by name with :func:`make_model`.

=========== ======================= ==========================================
name        class                   kind
=========== ======================= ==========================================
``als``     :class:`ALSModel`       vectors (implicit ALS)
``bpr``     :class:`BPRModel`       vectors (implicit BPR, bias column last)
``itemknn`` :class:`ItemKNNModel`   scores (implicit cosine / BM25 item-kNN)
``ease``    :class:`EASEModel`      scores (closed-form item-item)
``popular`` :class:`PopularityModel` scores (global / store / segment / auto)
``profile`` :class:`ProfileModel`   vectors (tags -> ALS space, cold start)
``hybrid``  :class:`HybridModel`    vectors (ALS and profile blended by history)
``blend``   :class:`BlendModel`     scores (the default: parts weighted on validation)
=========== ======================= ==========================================
"""

from __future__ import annotations

from typing import Any

from recsys.exceptions import InvalidInputError
from recsys.models.base import (
    MODEL_REGISTRY,
    RecModel,
    ScoreModel,
    VectorModel,
    register,
    training_threads,
)
from recsys.models.blend import BlendModel
from recsys.models.ease import EASEModel
from recsys.models.hybrid import HybridModel
from recsys.models.implicit_models import ALSModel, BPRModel, ItemKNNModel
from recsys.models.popularity import PopularityModel
from recsys.models.profile import ProfileModel

#: parameters the facade passes to every model (``Recommender(model, factors=64, seed=0)``);
#: models without them (EASE, popularity, item-kNN) ignore them instead of failing
COMMON_PARAMS = ("factors", "seed")


def make_model(name: str, **params: Any) -> RecModel:
    """A model by registry name with its hyperparameters (validated at ``fit``).

    ``factors`` and ``seed`` (:data:`COMMON_PARAMS`) are dropped for models that have no
    such parameter; any other unknown parameter raises :class:`InvalidInputError`.

    Examples
    --------
    >>> make_model("ease", regularization=100.0, factors=64)
    EASEModel(regularization=100.0, max_items=10000, num_threads=0, binary=True)
    >>> make_model("svd")
    Traceback (most recent call last):
    ...
    recsys.exceptions.InvalidInputError: unknown model 'svd'; valid names: als, blend, bpr, \
ease, hybrid, itemknn, popular, profile
    """
    cls = MODEL_REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        valid = ", ".join(sorted(MODEL_REGISTRY))
        raise InvalidInputError(f"unknown model {name!r}; valid names: {valid}")
    accepted = cls().get_params()
    params = {k: v for k, v in params.items() if k in accepted or k not in COMMON_PARAMS}
    try:
        return cls(**params)
    except TypeError as exc:  # an unexpected keyword: say which ones exist
        raise InvalidInputError(
            f"bad parameters for model {name!r}: {exc}; it accepts {sorted(accepted)}"
        ) from exc


__all__ = [
    "COMMON_PARAMS",
    "MODEL_REGISTRY",
    "ALSModel",
    "BPRModel",
    "BlendModel",
    "EASEModel",
    "HybridModel",
    "ItemKNNModel",
    "PopularityModel",
    "ProfileModel",
    "RecModel",
    "ScoreModel",
    "VectorModel",
    "make_model",
    "register",
    "training_threads",
]

"""Layer 1: ids, event weighting, catalog, assortments, profiles and the model-ready dataset.

Everything below the boundary uses internal ids (contiguous ``int64`` from an :class:`IdMap`).
"""

from __future__ import annotations

from recsys.data.assortment import Assortment
from recsys.data.catalog import Catalog
from recsys.data.dataset import RetailDataset
from recsys.data.idmap import IdMap
from recsys.data.matrices import ModelEvents, TrainingMatrices
from recsys.data.profiles import ProfileEncoder
from recsys.data.weighting import EventWeights, confidence_matrix

__all__ = [
    "Assortment",
    "Catalog",
    "EventWeights",
    "IdMap",
    "ModelEvents",
    "ProfileEncoder",
    "RetailDataset",
    "TrainingMatrices",
    "confidence_matrix",
]

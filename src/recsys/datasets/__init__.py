"""Ready-made retail data sets: a synthetic fashion chain and two public transaction logs.

Every function returns a :class:`RetailData` bundle of DataFrames (``interactions``,
``catalog``, ``stores``, ``profiles``) plus a cleaning ``report``, ready for
:meth:`recsys.data.RetailDataset.build` or :meth:`recsys.Recommender.fit`.
"""

from __future__ import annotations

from recsys.datasets._bundle import RetailData
from recsys.datasets._paths import shared_data_dir
from recsys.datasets.complete_journey import load_complete_journey
from recsys.datasets.online_retail import load_online_retail
from recsys.datasets.synthetic import synthetic_retail

__all__ = [
    "RetailData",
    "load_complete_journey",
    "load_online_retail",
    "shared_data_dir",
    "synthetic_retail",
]

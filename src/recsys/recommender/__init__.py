"""Layer 5, the facade: :class:`Recommender` over model, indexes, catalog and member state.

The string-id methods (``recommend``, ``recommend_batch``, ``similar_items``, ``audience``,
``update``, ``save`` / ``load``) sit on one array core, :meth:`Recommender.recommend_arrays`
(internal ids in, ``(ids, scores)`` out). The other modules of this package are its helpers:
``filters`` (request filters -> allowed SKUs), ``members`` (live member state), ``ranking``
(top-k, store blocks), ``core`` (the array core), ``reasons``, ``updates`` (events),
``audience``, ``state`` (the fitted pieces) and ``persistence`` (the artifact).
"""

from __future__ import annotations

from recsys.recommender.facade import Recommender
from recsys.recommender.results import MemberScore, Recommendation, check_k

__all__ = ["MemberScore", "Recommendation", "Recommender", "check_k"]

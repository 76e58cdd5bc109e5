"""Layer 5, the facade: :class:`Recommender` over model, indexes, catalog and member state.

The string-id methods (``recommend``, ``recommend_batch``, ``similar_items``, ``audience``,
``update``, ``add_items``, ``set_stock``, ``save`` / ``load``) sit on one array core,
:meth:`Recommender.recommend_arrays` (internal ids in, ``(ids, scores)`` out). The other
modules of this package are its helpers: ``requests`` (one request's arguments in internal
ids), ``filters`` (request filters -> allowed SKUs), ``rules`` (merchandising), ``session``
(the current visit), ``members`` (live member state), ``ranking`` (top-k, store blocks),
``core`` (the array core), ``reasons``, ``updates`` (events), ``live_catalog`` (SKUs and
stock after training), ``audience``, ``state`` (the fitted pieces) and ``persistence``
(the artifact).
"""

from __future__ import annotations

from recsys.recommender.facade import Recommender
from recsys.recommender.live_catalog import PendingChange
from recsys.recommender.results import MemberScore, Recommendation, check_k

__all__ = ["MemberScore", "PendingChange", "Recommendation", "Recommender", "check_k"]

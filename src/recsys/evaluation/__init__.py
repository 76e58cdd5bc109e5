"""Offline evaluation: splitters, metrics, scoring fitted models, comparisons and tuning.

The quality report (:func:`recsys.evaluation.report.quality_report`) and the raw-implicit
reference (:class:`recsys.evaluation.baselines.ImplicitALSBaseline`) live in their own modules,
imported on demand.
"""

from __future__ import annotations

from recsys.evaluation.cold import evaluate_cold
from recsys.evaluation.compare import compare_models
from recsys.evaluation.evaluate import BEYOND_ACCURACY, METRICS, evaluate, evaluate_by_store
from recsys.evaluation.metrics import (
    RANKING_METRICS,
    average_precision_at_k,
    catalog_coverage,
    hit_rate_at_k,
    intra_list_diversity,
    map_at_k,
    mean_hit_rate_at_k,
    mean_ndcg_at_k,
    mean_precision_at_k,
    mean_recall_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    personalization,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    reciprocal_rank_at_k,
)
from recsys.evaluation.relevance import relevant_items
from recsys.evaluation.splitters import cold_user_split, leave_last_out, temporal_split
from recsys.evaluation.tuning import SEARCH_SPACES, TuningResult, tune

__all__ = [
    "BEYOND_ACCURACY",
    "METRICS",
    "RANKING_METRICS",
    "SEARCH_SPACES",
    "TuningResult",
    "average_precision_at_k",
    "catalog_coverage",
    "cold_user_split",
    "compare_models",
    "evaluate",
    "evaluate_by_store",
    "evaluate_cold",
    "hit_rate_at_k",
    "intra_list_diversity",
    "leave_last_out",
    "map_at_k",
    "mean_hit_rate_at_k",
    "mean_ndcg_at_k",
    "mean_precision_at_k",
    "mean_recall_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "personalization",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
    "reciprocal_rank_at_k",
    "relevant_items",
    "temporal_split",
    "tune",
]

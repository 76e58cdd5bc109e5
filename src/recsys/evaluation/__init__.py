"""Offline evaluation: train/test splitters, ranking and beyond-accuracy metrics."""

from __future__ import annotations

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
from recsys.evaluation.splitters import cold_user_split, leave_last_out, temporal_split

__all__ = [
    "RANKING_METRICS",
    "average_precision_at_k",
    "catalog_coverage",
    "cold_user_split",
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
    "temporal_split",
]

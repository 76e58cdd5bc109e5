"""Experiments in the service: which variant (model and rules) answers each member.

``RECSYS_EXPERIMENT`` names a JSON file::

    {"name": "spring-shelf",
     "variants": [{"name": "control", "weight": 1},
                  {"name": "new-blend", "model_dir": "models/blend", "weight": 1,
                   "rules": {"max_per_category": 2}}]}

A variant without ``model_dir`` is the served model; ``rules`` are merged under each
request's own rules. Members are split by :class:`recsys.analytics.VariantSplit` (sticky:
a keyed hash of the member id). A shelf asked for by profile only goes to the first
variant. Every variant model replays the same event log, so events, catalog and stock
changes, opt-outs and erasures reach all of them; ``/admin/reload`` swaps the served model.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recsys.analytics import VariantSplit
from recsys.exceptions import InvalidInputError
from recsys.serving.runtime import DEFAULT_VARIANT, RecsysRuntime

__all__ = ["Experiment", "Route", "VariantSpec", "read_experiment"]


@dataclass(frozen=True)
class VariantSpec:
    """One declared variant: its name, model directory (None: the served one), rules, weight."""

    name: str
    model_dir: Path | None = None
    rules: Mapping[str, Any] | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class Route:
    """Where a member's shelf comes from: the variant's name, runtime and rules."""

    variant: str
    runtime: RecsysRuntime
    rules: Mapping[str, Any] | None


def read_experiment(path: Path) -> tuple[str, list[VariantSpec]]:
    """Parse an experiment file; a bad one is an :class:`InvalidInputError` naming the field."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read the experiment file {path}: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("variants"), list):
        raise InvalidInputError(f"{path}: expected {{'name': ..., 'variants': [...]}}")
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"{path}: 'name' must be a non-empty string")
    specs = []
    for i, v in enumerate(doc["variants"]):
        where = f"{path}: variants[{i}]"
        if not isinstance(v, dict) or not isinstance(v.get("name"), str) or not v["name"]:
            raise InvalidInputError(f"{where} needs a 'name'")
        unknown = sorted(set(v) - {"name", "model_dir", "rules", "weight"})
        if unknown:
            raise InvalidInputError(f"{where}: unknown field(s) {unknown}")
        rules = v.get("rules")
        if rules is not None and not isinstance(rules, dict):
            raise InvalidInputError(f"{where}: 'rules' must be an object")
        model_dir = v.get("model_dir")
        if model_dir is not None and not isinstance(model_dir, str):
            raise InvalidInputError(f"{where}: 'model_dir' must be a path")
        base = Path(path).parent
        specs.append(
            VariantSpec(
                v["name"],
                None if model_dir is None else (base / model_dir).resolve(),
                rules,
                v.get("weight", 1.0),
            )
        )
    if len({s.name for s in specs}) != len(specs):
        raise InvalidInputError(f"{path}: variant names must be unique")
    return name, specs


class Experiment:
    """The variants of one service: a split of members and a runtime per model directory.

    Without an experiment file, every member gets the served model as variant ``default``.
    """

    def __init__(self, primary: RecsysRuntime, path: Path | None) -> None:
        self.primary = primary
        self.name: str | None = None
        self.split: VariantSplit | None = None
        self._routes: dict[str, Route] = {DEFAULT_VARIANT: Route(DEFAULT_VARIANT, primary, None)}
        if path is None:
            return
        name, specs = read_experiment(path)
        self.name = name
        self.split = VariantSplit(name, {s.name: s.weight for s in specs})
        runtimes: dict[Path, RecsysRuntime] = {primary.settings.model_dir: primary}
        self._routes = {}
        try:
            for spec in specs:
                where = spec.model_dir or primary.settings.model_dir
                if where not in runtimes:
                    settings = dataclasses.replace(primary.settings, model_dir=where)
                    runtimes[where] = RecsysRuntime(settings, variant=spec.name)
                self._routes[spec.name] = Route(spec.name, runtimes[where], spec.rules)
        except BaseException:
            for rt in runtimes.values():
                if rt is not primary:
                    rt.close()
            raise
        self._runtimes = list(runtimes.values())

    @property
    def variants(self) -> list[str]:
        return list(self._routes)

    def route(self, member_id: str | None) -> Route:
        """The member's variant (the first one for a shelf asked for by profile only)."""
        if self.split is None or member_id is None:
            return next(iter(self._routes.values()))
        return self._routes[self.split.assign(self.primary.member(member_id))]

    def others(self) -> list[RecsysRuntime]:
        """The runtimes of variants with their own model (not the served one)."""
        return [rt for rt in getattr(self, "_runtimes", []) if rt is not self.primary]

    def follow(self) -> None:
        """Let every other variant catch up with the log now (after a write)."""
        for rt in self.others():
            rt.follow()

    def close(self) -> None:
        for rt in self.others():
            rt.close()


def merged_rules(
    variant: Mapping[str, Any] | None, request: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    """A variant's rules under the request's own (the request wins field by field)."""
    if not variant:
        return request
    return {**variant, **(request or {})}

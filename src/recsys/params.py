"""Hyperparameters read off ``__init__``, scikit-learn's convention, for models and the facade.

A class that stores each ``__init__`` argument under its own name (and validates it in
``fit``) gets :meth:`Params.get_params` and :meth:`Params.set_params` for free, so
``sklearn.base.clone`` and search tools treat it like any estimator. Catch-all keyword
arguments (``**model_params`` of the facade) are stored in one dict attribute named like the
argument; their keys are listed beside the named parameters and set the same way.
"""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

from recsys.exceptions import InvalidInputError

__all__ = ["Params"]

_P = TypeVar("_P", bound="Params")


class Params:
    """Mixin: ``get_params`` / ``set_params`` derived from the signature of ``__init__``.

    Examples
    --------
    >>> class Ridge(Params):
    ...     def __init__(self, alpha: float = 1.0, fit_intercept: bool = True) -> None:
    ...         self.alpha = alpha
    ...         self.fit_intercept = fit_intercept
    >>> model = Ridge(alpha=0.5)
    >>> model.get_params()
    {'alpha': 0.5, 'fit_intercept': True}
    >>> model.set_params(alpha=2.0).alpha
    2.0
    >>> model.set_params(alpah=2.0)
    Traceback (most recent call last):
    ...
    recsys.exceptions.InvalidInputError: Ridge has no parameter 'alpah'; it has ['alpha', \
'fit_intercept']
    """

    @classmethod
    def _param_names(cls) -> tuple[list[str], str | None]:
        """Named ``__init__`` parameters, and the name of a ``**kwargs`` catch-all if any."""
        named: list[str] = []
        extra = None
        for p in inspect.signature(cls.__init__).parameters.values():
            if p.name == "self" or p.kind is p.VAR_POSITIONAL:
                continue
            if p.kind is p.VAR_KEYWORD:
                extra = p.name
            else:
                named.append(p.name)
        return named, extra

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__`` (``deep`` is accepted for scikit-learn)."""
        named, extra = self._param_names()
        out = {name: getattr(self, name) for name in named}
        if extra is not None:
            out.update(getattr(self, extra, {}))
        return out

    def set_params(self, **params: Any) -> Any:
        """Change hyperparameters (validated at the next ``fit``); returns ``self``.

        Raises
        ------
        InvalidInputError
            A name that is not a parameter (classes without a ``**kwargs`` catch-all).
        """
        named, extra = self._param_names()
        for name, value in params.items():
            if name in named:
                setattr(self, name, value)
            elif extra is not None:
                getattr(self, extra)[name] = value
            else:
                raise InvalidInputError(
                    f"{type(self).__name__} has no parameter {name!r}; it has {named}"
                )
        return self

    def clone(self: _P) -> _P:
        """A new, unfitted object with the same parameters (``sklearn.base.clone`` without
        scikit-learn)."""
        return type(self)(**self.get_params())

    def params_for(self, cls: type[Params]) -> dict[str, Any]:
        """This object's parameters that ``cls.__init__`` also takes (for a nested model)."""
        named, _ = cls._param_names()
        mine = self.get_params()
        return {name: mine[name] for name in named if name in mine}

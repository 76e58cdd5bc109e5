"""Any Arrow-compatible table in, a pandas DataFrame out: pandas, polars, pyarrow, ..."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from recsys.exceptions import InvalidInputError

__all__ = ["as_pandas"]


def as_pandas(frame: Any, name: str) -> pd.DataFrame | None:
    """``frame`` as a pandas DataFrame (``None`` stays ``None``); ids keep their text.

    Accepts pandas, polars and pyarrow tables, and anything that speaks the Arrow
    PyCapsule stream protocol (``__arrow_c_stream__``) or the dataframe interchange
    protocol.

    Raises
    ------
    InvalidInputError
        Anything else, naming ``name`` and the type given.

    Examples
    --------
    >>> import pyarrow as pa
    >>> as_pandas(pa.table({"user_id": ["01104905"]}), "interactions").user_id.tolist()
    ['01104905']
    >>> as_pandas([1, 2], "catalog")
    Traceback (most recent call last):
    ...
    recsys.exceptions.InvalidInputError: catalog must be a DataFrame (pandas, polars or \
pyarrow), got list
    """
    if frame is None or isinstance(frame, pd.DataFrame):
        return frame
    if isinstance(frame, pa.Table | pa.RecordBatch):
        return frame.to_pandas()
    if hasattr(frame, "__arrow_c_stream__"):
        return pa.table(frame).to_pandas()
    if hasattr(frame, "to_arrow"):
        return as_pandas(frame.to_arrow(), name)
    if hasattr(frame, "__dataframe__"):
        return pd.api.interchange.from_dataframe(frame)
    raise InvalidInputError(
        f"{name} must be a DataFrame (pandas, polars or pyarrow), got {type(frame).__name__}"
    )

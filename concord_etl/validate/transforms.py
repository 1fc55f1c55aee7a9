"""Vectorised cell transforms applied to a column before it is validated.

A mapping column may list ``transform: [strip, lower, ...]`` (names in ``TRANSFORMS``) and
``split: ";"``. Transforms work on whole columns with pandas' ``.str`` methods (RE2 through
pyarrow for ``str`` columns). Readers give CSV columns as ``str`` and Excel columns as
``object`` holding str/int/float/bool/datetime; transforms only touch the text cells of such
columns and leave typed cells as they are.

Two transforms are more than a cell edit:

- ``drop_extension`` removes a trailing phone extension (``x5610``, ``ext. 12``,
  ``extension 12``, ``#12``); without it extensions are kept, as Concord keeps them.
- ``split_name`` turns a full name into a first and a last name (``split_full_name``); the
  validator feeds the two parts to ``first_name`` and ``last_name``.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TextFn = Callable[[pd.Series], pd.Series]

EXTENSION_PATTERN = r"\s*[,;]?\s*(?i:x|ext\.?|extn\.?|extension|#)\s*\d{1,8}\s*$"

_TRANSFORM_FNS: dict[str, TextFn] = {
    "strip": lambda s: s.str.strip(),
    "lower": lambda s: s.str.lower(),
    "upper": lambda s: s.str.upper(),
    "title": lambda s: s.str.title(),
    "collapse_spaces": lambda s: s.str.replace(r"\s+", " ", regex=True),
    "digits": lambda s: s.str.replace(r"\D+", "", regex=True),
    "drop_extension": lambda s: s.str.replace(EXTENSION_PATTERN, "", regex=True),
    "split_name": lambda s: s,   # applied by the validator: it feeds two fields
}

#: Names accepted in a mapping column's ``transform:`` list, in no particular order.
TRANSFORMS: tuple[str, ...] = tuple(_TRANSFORM_FNS)

# -- full names -----------------------------------------------------------------------------

_HONORIFIC = r"(?:(?i:mr|mrs|ms|miss|mx|dr|prof|sir|madam|mme|mlle|herr|frau)\.?\s+)?"
_SUFFIX = r"(?i:jr|sr|ii|iii|iv|v|phd|ph\.d|md|dds|esq|mba|cpa)\.?"
_PARTICLE = r"(?i:van|von|der|den|de|del|della|da|das|di|du|la|le|st\.?|bin|ibn|al|el|ter|ten|zu)"
_COMMA_SUFFIX = rf",\s*({_SUFFIX})$"          # "King, Jr." → "King Jr."
_NAME_FORMS = (
    # "Lovelace, Ada" / "de la Cruz, Maria"
    rf"^{_HONORIFIC}(?P<last>[^,]+?),\s*(?P<first>[^,]+?)$",
    # "Ada Lovelace", "Maria de la Cruz", "Martin Luther King Jr.", "Dr. Ada Lovelace"
    rf"^{_HONORIFIC}(?P<first>.+?)\s+(?P<last>(?:{_PARTICLE}\s+)*\S+(?:,?\s+{_SUFFIX})?)$",
)


def split_full_name(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Full names → (first names, last names); one word stays a first name.

    ``Ada Lovelace`` → Ada / Lovelace; ``Lovelace, Ada`` → Ada / Lovelace; ``Maria de la
    Cruz`` → Maria / de la Cruz; ``Martin Luther King Jr.`` → Martin Luther / King Jr.;
    ``Dr. Ada Lovelace`` → Ada / Lovelace; ``Cher`` → Cher / (empty). Vectorised (RE2).
    """
    text = as_text(series).str.strip().str.replace(r"\s+", " ", regex=True)
    text = text.str.replace(_COMMA_SUFFIX, r" \1", regex=True)
    first = pd.Series(pd.NA, index=text.index, dtype="str")
    last = pd.Series(pd.NA, index=text.index, dtype="str")
    todo = text.notna().to_numpy().copy()
    for pattern in _NAME_FORMS:
        if not todo.any():
            break
        parts = text[todo].str.extract(pattern)
        found = parts["first"].notna().to_numpy()
        where = np.flatnonzero(todo)[found]
        first.iloc[where] = parts["first"].to_numpy(dtype=object)[found]
        last.iloc[where] = parts["last"].to_numpy(dtype=object)[found]
        todo[where] = False
    first = first.mask(pd.Series(todo, index=text.index), text)   # one word: a first name only
    return first.str.strip(), last.str.strip()


def is_text_dtype(series: pd.Series) -> bool:
    """True when every non-NA cell is a ``str`` by dtype (CSV columns, converted columns)."""
    return isinstance(series.dtype, pd.StringDtype)


def text_mask(series: pd.Series) -> pd.Series:
    """Boolean mask of the cells holding a ``str`` (NA and typed Excel cells are False)."""
    if is_text_dtype(series):
        return series.notna()
    return series.map(lambda v: isinstance(v, str)).astype(bool)


def on_text_cells(series: pd.Series, fn: TextFn) -> pd.Series:
    """Apply a ``.str`` function to the text cells only; typed cells keep their value."""
    if is_text_dtype(series):
        return fn(series)
    mask = text_mask(series)
    if not mask.any():
        return series
    if bool(mask[series.notna()].all()):
        return fn(series.astype("str"))
    out = series.copy()
    out[mask] = fn(series[mask].astype("str")).to_numpy(dtype=object)
    return out


def apply_transforms(series: pd.Series, names: Sequence[str]) -> pd.Series:
    """Apply named transforms in order. Unknown names raise ``KeyError`` (the loader checks)."""
    for name in names:
        series = on_text_cells(series, _TRANSFORM_FNS[name])
    return series


def blank_to_na(series: pd.Series) -> pd.Series:
    """Cells that are empty or only whitespace become NA."""
    arrow = arrow_strings(series)
    if arrow is not None:
        blank = pc.or_(pc.equal(pc.binary_length(arrow), 0), pc.utf8_is_space(arrow))
        if not pc.any(blank).as_py():
            return series
        return series.mask(pc.fill_null(blank, False).to_numpy(zero_copy_only=False))
    if is_text_dtype(series):
        blank = series.str.len().eq(0) | series.str.isspace()
        return series.mask(blank.fillna(False)) if blank.any() else series
    blank = series.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
    return series.mask(blank) if blank.any() else series


def arrow_strings(series: pd.Series) -> pa.Array | None:
    """The pyarrow array behind a pandas ``str`` column (zero-copy), or None."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return pa.array(series.array)
    return None


def regex_mask(
    series: pd.Series, pattern: str, *, full: bool = True, anchored: bool = True
) -> np.ndarray:
    """Whether each text cell matches ``pattern`` (whole cell when ``full``, its start when
    ``anchored``, anywhere otherwise); NA → False.

    Runs RE2 through pyarrow on ``str`` columns (7× faster than ``.str.fullmatch`` here), so
    patterns must stay within the syntax RE2 and Python's ``re`` share.
    """
    if full:
        anchored_pattern = f"^(?:{pattern})$"
    elif anchored:
        anchored_pattern = f"^(?:{pattern})"
    else:
        anchored_pattern = pattern
    arrow = arrow_strings(series)
    if arrow is not None:
        found = pc.fill_null(pc.match_substring_regex(arrow, anchored_pattern), False)
        return found.to_numpy(zero_copy_only=False)
    text = series.astype("str")
    return text.str.contains(anchored_pattern, regex=True).fillna(False).to_numpy(dtype=bool)


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small lists/dicts.

    Building a million phone lists otherwise triggers thousands of collections (≈ 3× slower).
    Nothing built inside is cyclic, so nothing is lost by collecting later.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def is_empty(value: object) -> bool:
    """NA, None, NaN, "" and empty lists count as empty cells."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and value.strip() == "":
        return True
    if isinstance(value, (list, tuple)) and len(value) == 0:
        return True
    if isinstance(value, dict):
        return False
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def cell_text(value: object) -> str:
    """One typed cell as the text a user would type for it (Excel numbers, dates, booleans)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.strftime("%Y-%m-%d")
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def as_text(series: pd.Series, text_of: Callable[[object], str] | None = None) -> pd.Series:
    """A column as pandas ``str``: typed Excel cells turned into text by ``text_of`` (default
    ``cell_text``), NA kept."""
    if is_text_dtype(series):
        return series
    if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        return series.astype("str")
    present = series.notna()
    converted = series.where(~present, series[present].map(text_of or cell_text))
    return converted.astype("str")


def object_list(values: object) -> list[object]:
    """Any array-like (numpy, pandas Index/array, arrow-backed) → a Python list, fast."""
    return np.asarray(values, dtype=object).tolist()


def object_array(items: Sequence[object]) -> np.ndarray:
    """A 1-D object array holding ``items`` as they are (lists stay list cells)."""
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (``.item()``); other values as they are.

    Called per item of every row's record: builtin values return at once."""
    if isinstance(value, (str, int, bool, list, dict)) or type(value) is float:
        return value
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def take_objects(items: Sequence[object], codes: np.ndarray) -> np.ndarray:
    """``items[code]`` for each code as an object array; code -1 gives NA."""
    return object_array([*items, pd.NA])[codes]

"""Relation columns (owner, source, stage, companies, ...) resolved from keys to ids, per chunk.

``Relations`` knows, for one validator, which feeds are looked up and how. ``resolve(chunk)``
joins each lookup column against the keys the ``Resolver`` found: every *distinct* cell is
resolved once (a cell of an Association column may name several records) and the ids are
spread back to the rows by the column's codes. Unknown or ambiguous keys become problems
naming the column — every lookup of a row is reported, not only the first. ``when_not_found``
decides what a key that is not found does: ``reject`` (default), ``blank`` (the field stays
empty, with a warning) or ``default`` (the field's default, with a warning).

``create_missing`` creates (or, in a dry run, plans) a related record only for rows that pass
every other check of the chunk, once every lookup of the chunk is known.

Defaults of relation fields (``defaults: {user_id: sam@example.com}``) are resolved like the
column's lookup before any row (``check_defaults``): a default that is not found is a mapping
error, not a failure of every row on the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from concord_etl.crm.fields import ResourceFields
from concord_etl.errors import MappingError
from concord_etl.mapping.model import ColumnSpec, Lookup
from concord_etl.validate.checks import categories
from concord_etl.validate.chunk import ValidatedChunk, problem_frame
from concord_etl.validate.declared_fields import mapping_path
from concord_etl.validate.key_types import split_keys
from concord_etl.validate.lookups import Resolution, Resolver, normalise_key
from concord_etl.validate.schema import Feed, Validator
from concord_etl.validate.transforms import take_objects

SCOPE_SEPARATOR = "\x1f"


def default_lookup(spec: ColumnSpec, fields: ResourceFields) -> Lookup | None:
    """The lookup for a relation column that names none: by name."""
    if spec.lookup is not None:
        return spec.lookup
    field_spec = fields.get(spec.field)
    if field_spec is None or field_spec.type not in ("BelongsTo", "Association"):
        return None
    related = field_spec.related or spec.field
    return Lookup(resource=related, by="name")


@dataclass(frozen=True)
class LookupFeed:
    feed: Feed
    lookup: Lookup
    rank: int

    @property
    def many(self) -> bool:
        return self.feed.kind.many


@dataclass
class _Outcome:
    """What one distinct cell resolved to."""

    value: Any = None                     # id, list of ids, or None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)     # keys create_missing may create


@dataclass
class PendingCreates:
    """Keys of a resolved chunk that ``create_missing`` may create (``create_pending``)."""

    stages: list[tuple[LookupFeed, np.ndarray, list[str], list[_Outcome]]] = field(
        default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.stages)

    def fields_at(self, position: int) -> set[str]:
        """The fields of one row whose value waits for a record to be created."""
        out: set[str] = set()
        for lookup_feed, codes, _cells, outcomes in self.stages:
            code = codes[position]
            if code >= 0 and outcomes[code].pending:
                out.add(lookup_feed.feed.field.attribute)
        return out


class Relations:
    """The lookups of one validator, applied to whole chunks."""

    def __init__(self, validator: Validator, resolver: Resolver) -> None:
        self.validator = validator
        self.resolver = resolver
        lookups: list[LookupFeed] = []
        for rank, feed in enumerate(validator.feeds):
            if feed.part is not None:
                continue
            lookup = default_lookup(feed.spec, validator.fields)
            if lookup is not None and feed.field.type in ("BelongsTo", "Association"):
                lookups.append(LookupFeed(feed, lookup, rank))
        # a stage is looked up within its row's pipeline: pipelines first
        lookups.sort(key=lambda lf: lf.lookup.resource != "pipelines")
        self.lookups = lookups
        self._resolved_defaults: set[str] = set()

    def lookup_of(self, field_name: str) -> Lookup | None:
        for lookup_feed in self.lookups:
            if lookup_feed.feed.field.attribute == field_name:
                return lookup_feed.lookup
        spec = self.validator.fields.get(field_name)
        if spec is not None and spec.type in ("BelongsTo", "Association"):
            return Lookup(resource=spec.related or field_name, by="name")
        return None

    # -- defaults ------------------------------------------------------------------------------
    def check_defaults(self, *, create: bool = True) -> None:
        """Resolve the defaults of relation fields; one not found is a ``MappingError``.

        ``create=False``: a default its lookup may create (``create_missing``) is left for a
        second call with ``create=True`` (an import makes that call once its journal is open).
        """
        mapping = self.validator.mapping
        for name, value in list(self.validator.defaults.items()):
            lookup = self.lookup_of(name)
            if lookup is None or name in self._resolved_defaults:
                continue
            keys = [str(v) for v in (value if isinstance(value, list) else [value])]
            if (not self.validator.feeds_of(name) and lookup.resource == "users"
                    and lookup.by == "name" and all("@" in k for k in keys)):
                lookup = replace(lookup, by="email")    # no column says how: an e-mail is one
            if lookup.by == "id":
                bad = [k for k in keys if not k.isdigit()]
                if bad:
                    raise MappingError(f"{bad[0]!r} is not an id", path=mapping_path(mapping),
                                       key=f"defaults.{name}")
            resolved = self.resolver.resolve(lookup, keys, scope=self._default_scope(lookup),
                                             create=create)
            if not create and any(resolved[normalise_key(k)].missing for k in keys) and (
                    lookup.create_missing):
                continue
            ids: list[Any] = []
            for key in keys:
                outcome = resolved[normalise_key(key)]
                if outcome.error:
                    raise MappingError(outcome.error, path=mapping_path(mapping),
                                       key=f"defaults.{name}")
                ids.append(f"(new) {key}" if outcome.planned else outcome.id)
            many = isinstance(value, list)
            self.validator.defaults[name] = ids if many else ids[0]
            self._resolved_defaults.add(name)

    # -- chunks --------------------------------------------------------------------------------
    def resolve(
        self, chunk: ValidatedChunk, *, create: bool = True, among: np.ndarray | None = None,
    ) -> PendingCreates:
        """Replace the keys of every lookup column by ids; problems go into ``chunk``.

        ``create``: let ``create_missing`` create (or, in a dry run, plan) the records that
        rows passing every other check need; without it such keys reject nothing and stay
        unresolved (the scan before an import) until ``create_pending`` is called.
        ``among``: a mask of the chunk's positions to look up; the other rows are left alone
        (no request, no problem, no value: a record absent from its row, or already written).
        """
        pending = PendingCreates()
        if not self.lookups or not len(chunk):
            return pending
        for lookup_feed in self.lookups:
            codes, cells, outcomes = self._resolve_feed(chunk, lookup_feed, among)
            if any(o.pending for o in outcomes):
                pending.stages.append((lookup_feed, codes, cells, outcomes))
            self._apply(chunk, lookup_feed, codes, cells, outcomes, final=False)
        if create:
            self.create_pending(chunk, pending, among)
        return pending

    def create_pending(
        self, chunk: ValidatedChunk, pending: PendingCreates, among: np.ndarray | None = None,
    ) -> None:
        """``create_missing`` for the rows of ``among`` (default: all) that pass every check
        of ``chunk`` so far; their ids replace the keys. Done once per ``pending``."""
        stages, pending.stages = pending.stages, []
        for lookup_feed, codes, cells, outcomes in stages:
            self._create_missing(chunk, lookup_feed, codes, cells, outcomes, among)

    def _resolve_feed(
        self, chunk: ValidatedChunk, lookup_feed: LookupFeed, among: np.ndarray | None = None,
    ) -> tuple[np.ndarray, list[str], list[_Outcome]]:
        feed, lookup = lookup_feed.feed, lookup_feed.lookup
        text = chunk.values[feed.key]
        scopes = self._scopes(chunk, lookup)
        if scopes is not None:
            text = text.astype("str") + SCOPE_SEPARATOR + scopes.fillna("")
        cells, codes = categories(text)
        if among is not None:
            codes = np.where(among, codes, -1)
        used = np.zeros(len(cells) + 1, dtype=bool)
        used[codes] = True
        by_scope: dict[str, list[int]] = {}
        for i, cell in enumerate(cells):
            if used[i]:
                by_scope.setdefault(cell.partition(SCOPE_SEPARATOR)[2], []).append(i)
        outcomes = [_Outcome() for _ in cells]
        for scope_value, members in by_scope.items():
            scope: dict[str, object] | None = {"pipeline": scope_value} if scope_value else None
            keys = {i: self._keys(cells[i].partition(SCOPE_SEPARATOR)[0], feed, lookup)
                    for i in members}
            wanted = [k for i in members for k in keys[i]]
            resolved = self.resolver.resolve(lookup, wanted, scope=scope, create=False)
            for i in members:
                outcomes[i] = self._outcome(feed, lookup, keys[i], resolved)
        return codes, [c.partition(SCOPE_SEPARATOR)[0] for c in cells], outcomes

    def _scopes(self, chunk: ValidatedChunk, lookup: Lookup) -> pd.Series | None:
        """Each row's pipeline for a stage lookup: the Pipeline column, else its default."""
        if lookup.resource != "pipeline-stages" or lookup.scope.get("pipeline"):
            return None
        pipelines = self.validator.feeds_of("pipeline_id")
        default = self._pipeline_default()
        if not pipelines:
            if default is None:
                return None
            return pd.Series(str(default), index=chunk.values.index, dtype=object)
        values = chunk.values[pipelines[0].key]
        if default is not None:
            values = values.astype(object).where(values.notna(), str(default))
        return values.astype("str")

    def _pipeline_default(self) -> object | None:
        value = self.validator.defaults.get("pipeline_id")
        return None if value in (None, "") or isinstance(value, list) else value

    def _default_scope(self, lookup: Lookup) -> dict[str, object] | None:
        """A stage default is looked up within the pipeline default, when there is one."""
        default = self._pipeline_default()
        if lookup.resource != "pipeline-stages" or lookup.scope.get("pipeline") or default is None:
            return None
        return {"pipeline": default}

    @staticmethod
    def _keys(cell: str, feed: Feed, lookup: Lookup) -> list[str]:
        keys = split_keys(cell, feed.spec.split) if feed.kind.many else [cell.strip()]
        return [k for k in keys if k]

    def _outcome(
        self, feed: Feed, lookup: Lookup, keys: list[str], resolved: dict[str, Resolution]
    ) -> _Outcome:
        outcome = _Outcome()
        ids: list[Any] = []
        column = feed.column
        for key in keys:
            result = resolved.get(normalise_key(key))
            if result is None:
                continue
            if result.missing and lookup.create_missing:
                outcome.pending.append(key)
            elif result.missing and lookup.when_not_found == "blank":
                outcome.warnings.append(f"{column}: {result.error}; the field is left empty")
            elif result.missing and lookup.when_not_found == "default":
                outcome.warnings.append(f"{column}: {result.error}; the default is used")
                default = self.validator.defaults.get(feed.field.attribute)
                ids.extend(default if isinstance(default, list) else [default])
            elif result.error:
                outcome.errors.append(f"{column}: {result.error}")
            elif result.planned:
                ids.append(f"(new) {key}")
            elif result.id is not None:
                ids.append(result.id)
        ids = [i for i in dict.fromkeys(ids) if i is not None]
        outcome.value = (ids or None) if feed.kind.many else (ids[0] if ids else None)
        return outcome

    def _apply(
        self, chunk: ValidatedChunk, lookup_feed: LookupFeed, codes: np.ndarray,
        cells: list[str], outcomes: list[_Outcome], *, final: bool,
    ) -> None:
        feed = lookup_feed.feed
        values = take_objects([o.value for o in outcomes], codes)
        chunk.set_values(feed.key, pd.Series(values, index=chunk.values.index, dtype=object))
        if final:
            return
        source = chunk.frame[feed.column] if feed.column in chunk.frame.columns else None
        for severity in ("error", "warning"):
            positions: list[np.ndarray] = []
            reasons: list[str] = []
            for i, outcome in enumerate(outcomes):
                found = outcome.errors if severity == "error" else outcome.warnings
                if not found:
                    continue
                where = np.flatnonzero(codes == i)
                for reason in found:
                    positions.append(where)
                    reasons.extend([reason] * len(where))
            if not positions:
                continue
            where_all = np.concatenate(positions)
            raw = (source.to_numpy(dtype=object)[where_all] if source is not None
                   else np.asarray([cells[codes[p]] for p in where_all], dtype=object))
            chunk.add_problems(problem_frame(
                where_all, chunk.rows, column=feed.column, field_name=feed.field.attribute,
                values=[None if v is None or v is pd.NA else v for v in raw],
                reasons=reasons, severity=severity, rank=lookup_feed.rank,
            ))

    def _create_missing(
        self, chunk: ValidatedChunk, lookup_feed: LookupFeed, codes: np.ndarray,
        cells: list[str], outcomes: list[_Outcome], among: np.ndarray | None = None,
    ) -> None:
        """Create what the rows passing every other check need; then set their ids."""
        ok = ~chunk.rejected_mask
        if among is not None:
            ok = ok & among
        needed = np.zeros(len(outcomes) + 1, dtype=bool)
        needed[np.unique(codes[ok & (codes >= 0)])] = True
        feed, lookup = lookup_feed.feed, lookup_feed.lookup
        keys = [k for i, o in enumerate(outcomes) if needed[i] for k in o.pending]
        if not keys:
            return
        resolved = self.resolver.resolve(lookup, keys, create=True)
        for i, outcome in enumerate(outcomes):
            if needed[i] and outcome.pending:
                again = self._outcome(feed, lookup, self._keys(cells[i], feed, lookup), resolved)
                outcome.value = again.value
                if again.errors:
                    outcome.errors = again.errors
        self._apply(chunk, lookup_feed, codes, cells, outcomes, final=True)
        failed = [(i, o.errors) for i, o in enumerate(outcomes) if needed[i] and o.pending
                  and o.errors]
        for i, errors in failed:
            where = np.flatnonzero((codes == i) & ok)
            chunk.add_problems(problem_frame(
                np.tile(where, len(errors)), chunk.rows, column=feed.column,
                field_name=feed.field.attribute, values=[cells[i]] * (len(where) * len(errors)),
                reasons=[e for e in errors for _ in where], rank=lookup_feed.rank,
            ))

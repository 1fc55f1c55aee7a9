"""Relation columns (owner, source, stage, companies, ...) resolved from names to ids, row by row.

A ``Relations`` object knows, for one mapping, which fields are looked up and how; ``resolve``
asks the ``Resolver`` for all keys of a chunk at once and writes the ids into each row's values,
rejecting a row whose key is unknown or ambiguous (with the reason naming the column).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

from concord_etl.crm.fields import ResourceFields
from concord_etl.mapping.model import ColumnSpec, Lookup, Mapping
from concord_etl.validate.lookups import Resolution, Resolver, normalise_key
from concord_etl.validate.transforms import is_empty


class ResolvableRow(Protocol):
    """A row whose relation values can be resolved: ``values`` by field, and a way to reject."""

    values: dict[str, Any]
    action: str

    def reject(self, reason: str) -> None: ...


def default_lookup(spec: ColumnSpec, fields: ResourceFields) -> Lookup | None:
    """The lookup for a relation column that names none: by id for numbers, else by name."""
    if spec.lookup is not None:
        return spec.lookup
    field_spec = fields.get(spec.field)
    if field_spec is None or field_spec.type not in ("BelongsTo", "Association"):
        return None
    related = field_spec.related or spec.field
    return Lookup(resource=related, by="name")


def _as_keys(value: Any) -> list[str]:
    if is_empty(value):
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if not is_empty(v)]
    return [str(value).strip()]


class Relations:
    """The lookups of one mapping, applied to chunks of rows."""

    def __init__(self, mapping: Mapping, fields: ResourceFields, resolver: Resolver) -> None:
        self.fields = fields
        self.resolver = resolver
        self.lookups: dict[str, tuple[ColumnSpec, Lookup]] = {}
        for spec in mapping.columns:
            lookup = default_lookup(spec, fields)
            if lookup is not None and spec.field not in self.lookups:
                self.lookups[spec.field] = (spec, lookup)

    def resolve(self, rows: Sequence[ResolvableRow]) -> None:
        """Replace relation keys by ids; rows whose keys fail are rejected with the reason."""
        for field_name, (spec, lookup) in self.lookups.items():
            groups: dict[str, list[ResolvableRow]] = defaultdict(list)
            for row in rows:
                if row.action == "rejected":
                    continue
                groups[self._scope_of(row, lookup)].append(row)
            for scope_value, group in groups.items():
                scope: dict[str, object] | None = (
                    {"pipeline": scope_value} if scope_value else None
                )
                keys = [k for row in group for k in _as_keys(row.values.get(field_name))]
                if lookup.by == "id":
                    keys = [k for k in keys if k.isdigit()]
                resolved = self.resolver.resolve(lookup, keys, scope=scope)
                for row in group:
                    self._apply(row, field_name, spec, lookup, resolved)

    def _scope_of(self, row: ResolvableRow, lookup: Lookup) -> str:
        if lookup.resource != "pipeline-stages" or lookup.scope.get("pipeline"):
            return ""
        pipeline = row.values.get("pipeline_id")
        return "" if is_empty(pipeline) else str(pipeline)

    def _apply(
        self, row: ResolvableRow, field_name: str, spec: ColumnSpec, lookup: Lookup, resolved: dict[str, Resolution]
    ) -> None:
        value = row.values.get(field_name)
        keys = _as_keys(value)
        if not keys:
            return
        ids: list[int] = []
        for key in keys:
            if lookup.by == "id" and not key.isdigit():
                row.reject(f"{spec.column}: {key!r} is not an id")
                return
            res = resolved.get(normalise_key(key))
            if res is None:
                continue
            if res.error:
                row.reject(f"{spec.column}: {res.error}")
                return
            if res.planned:
                ids.append(f"(new) {key}")  # type: ignore[arg-type]  # dry run placeholder
            elif res.id is not None:
                ids.append(res.id)
        many = isinstance(value, (list, tuple)) or (
            self.fields.get(field_name) is not None
            and self.fields.get(field_name).type == "Association"  # type: ignore[union-attr]
        )
        row.values[field_name] = ids if many else (ids[0] if ids else None)

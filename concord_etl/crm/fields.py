"""What the CRM says about a resource's fields (from ``/api/{resource}/create-fields``).

``ResourceFields`` is what validation, payload building, lookups and export consult;
it can also be built offline from the ``type:`` declarations of a mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldOption:
    id: int
    name: str
    swatch_color: str | None = None


@dataclass(frozen=True)
class FieldSpec:
    attribute: str
    label: str
    type: str                                  # one of mapping.model.FIELD_TYPES
    required: bool = False
    unique: bool = False
    custom: bool = False
    options: tuple[FieldOption, ...] = ()
    related: str | None = None                 # resource of a BelongsTo / Association
    choices: tuple[str, ...] = ()              # Enum values (deal status)
    max_length: int | None = None

    def option_by_label(self, label: str) -> FieldOption | None:
        key = label.strip().casefold()
        for opt in self.options:
            if opt.name.strip().casefold() == key:
                return opt
        return None

    def option_by_id(self, option_id: int) -> FieldOption | None:
        for opt in self.options:
            if opt.id == option_id:
                return opt
        return None


@dataclass(frozen=True)
class ResourceFields:
    resource: str
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    online: bool = True                        # False when built from mapping declarations

    def get(self, attribute: str) -> FieldSpec | None:
        return self.fields.get(attribute)

    def __contains__(self, attribute: object) -> bool:
        return attribute in self.fields

    def __iter__(self) -> Iterator[FieldSpec]:
        return iter(self.fields.values())


def parse_create_fields(resource: str, payload: Iterable[dict[str, Any]]) -> ResourceFields:
    """Turn the JSON array of ``GET /api/{resource}/create-fields`` into ``ResourceFields``."""
    specs: dict[str, FieldSpec] = {}
    for item in payload:
        attribute = item.get("attribute")
        if not attribute:
            continue
        options = tuple(
            FieldOption(int(o["id"]), str(o["name"]), o.get("swatch_color"))
            for o in item.get("options") or ()
            if o.get("id") is not None
        )
        custom = item.get("customField") or None
        ftype = item.get("type") or (custom or {}).get("field_type") or "Text"
        specs[attribute] = FieldSpec(
            attribute=attribute,
            label=str(item.get("label") or attribute),
            type=str(ftype),
            required=bool(item.get("isRequired")),
            unique=bool(item.get("isUnique")),
            custom=custom is not None or attribute.startswith("cf_"),
            options=options,
            related=item.get("relatedResource"),
            choices=tuple(item.get("choices") or ()),
            max_length=item.get("maxLength"),
        )
    return ResourceFields(resource=resource, fields=specs, online=True)

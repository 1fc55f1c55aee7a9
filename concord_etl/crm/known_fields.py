"""Fields Concord accepts on a write although ``create-fields`` does not describe them.

``create-fields`` lists what the CRM's forms show. Notes describe only their body; their
``contacts``/``companies``/``deals`` association keys (what actually attaches a note) are
resource rules, not fields. Calls are described loosely, activities hide ``is_completed``,
and an activity's due and end dates take a date *or* a date and time. ``complete_fields``
adds what is missing, so imports and validation can name these fields like any other.
"""

from __future__ import annotations

from dataclasses import replace

from concord_etl.crm.fields import FieldSpec, ResourceFields


def _association(name: str) -> FieldSpec:
    return FieldSpec(attribute=name, label=name.title(), type="Association", related=name)


_ASSOCIATIONS = tuple(_association(n) for n in ("contacts", "companies", "deals"))
EXTRA_FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "notes": (
        FieldSpec(attribute="body", label="Body", type="Textarea", required=True),
        *_ASSOCIATIONS,
    ),
    "calls": (
        FieldSpec(attribute="call_outcome_id", label="Outcome", type="BelongsTo", required=True,
                  related="call-outcomes"),
        FieldSpec(attribute="date", label="Date", type="DateTime", required=True),
        FieldSpec(attribute="body", label="Note", type="Textarea", required=True),
        *_ASSOCIATIONS,
    ),
    "activities": (
        FieldSpec(attribute="activity_type_id", label="Activity Type", type="BelongsTo",
                  related="activity-types"),
        FieldSpec(attribute="is_completed", label="Completed", type="Boolean"),
        FieldSpec(attribute="guests", label="Guests", type="Association", related="contacts"),
        *_ASSOCIATIONS,
    ),
}
# Fields whose type the descriptors cannot say exactly.
TYPE_OVERRIDES: dict[str, dict[str, str]] = {
    "activities": {"due_date": "DateOrDateTime", "end_date": "DateOrDateTime",
                   "guests": "Association"},
}
RELATED_OVERRIDES: dict[str, dict[str, str]] = {
    "activities": {"guests": "contacts", "activity_type_id": "activity-types"},
    "calls": {"call_outcome_id": "call-outcomes"},
}


def complete_fields(fields: ResourceFields) -> ResourceFields:
    """``fields`` plus the accepted-but-undescribed fields of its resource (online only)."""
    if not fields.online:
        return fields
    resource = fields.resource
    specs = dict(fields.fields)
    for extra in EXTRA_FIELDS.get(resource, ()):
        specs.setdefault(extra.attribute, extra)
    for attribute, kind in TYPE_OVERRIDES.get(resource, {}).items():
        if attribute in specs and specs[attribute].type != kind:
            specs[attribute] = replace(specs[attribute], type=kind)
    for attribute, related in RELATED_OVERRIDES.get(resource, {}).items():
        if attribute in specs and not specs[attribute].related:
            specs[attribute] = replace(specs[attribute], related=related)
    return ResourceFields(resource=resource, fields=specs, online=True)

"""What the CRM says about a resource's fields, typed from the keys Concord really sends.

Concord's ``create-fields``/``update-fields`` descriptors carry no field type and no related
resource. :func:`field_kind` derives both, in this order (docs/field-descriptors.md):

1. ``customField.field_type`` for custom fields (one of Concord's 15 custom-field types);
2. else ``component`` (or ``formComponent`` without ``form-``), with the cases that share a
   component told apart by other keys: ``select-multiple-field`` is an association when it has
   no ``acceptLabelAsValue``/``optionsViaResource`` keys; ``numeric-field`` may be negative when
   ``attributes.minus`` is set (deal amount, which also has ``onlyProducts``);
3. the related resource of a BelongsTo/association from ``optionsViaResource``, then
   ``onOptionClick.resourceName``, ``lazyLoad.url`` or ``asyncUrl``, then
   ``indexComponent == "index-user-field"`` (users), then a fixed map of ``belongsToRelation``.

Phone's and Tags' ``type`` key (the default phone type, the tag group) is never read.

:func:`fetch_fields` builds the set of fields a mapping may use: ``create-fields?intent=create``,
plus ``update-fields?intent=update`` of an existing record when updates are planned, plus
Concord's built-in fields that its writes accept although neither form described them
(``known_fields.KNOWN``: update-only and hidden fields), all typed by the same function. ``ResourceFields`` is what validation,
payload building, lookups and export consult; it can also be built offline from a mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from concord_etl.crm.known_fields import CHOICES, FORM_ONLY_REQUIRED, KNOWN

# Concord's custom-field types (``customField.field_type``).
CUSTOM_TYPES = (
    "Text", "Textarea", "Email", "Url", "Number", "Numeric", "Date", "DateTime",
    "Boolean", "ColorSwatch", "Timezone", "Select", "Radio", "Checkbox", "MultiSelect",
)
# ``component`` → logical type, for components that name one type only.
COMPONENT_TYPES = {
    "text-field": "Text",
    "textarea-field": "Textarea",
    "email-field": "Email",
    "phone-field": "Phone",
    "url-field": "Url",
    "domain-field": "Domain",
    "number-field": "Number",
    "date-field": "Date",
    "date-time-field": "DateTime",
    "activity-due-date-field": "DateOrDateTime",
    "activity-end-date-field": "DateOrDateTime",
    "boolean-field": "Boolean",
    "select-field": "Select",
    "radio-field": "Radio",
    "checkbox-field": "Checkbox",
    "tags-field": "Tags",
    "timezone-field": "Timezone",
    "color-swatch-field": "ColorSwatch",
    "editor-field": "Editor",
    "reminder-field": "Reminder",
    "id-field": "Id",
    "lost-reason-field": "Text",
}
BELONGS_TO_COMPONENTS = ("belongs-to-field", "pipeline-stage-field", "activity-type-field")
# Descriptors that are not inputs (display-only headings): skipped.
NOT_INPUTS = ("heading-field",)
# ``belongsToRelation`` (a relation name, not a resource) → the related resource.
RELATION_RESOURCES = {
    "user": "users", "creator": "users", "country": "countries", "pipeline": "pipelines",
    "stage": "pipeline-stages", "source": "sources", "industry": "industries",
    "company": "companies", "parent": "companies", "deal": "deals", "type": "activity-types",
    "outcome": "call-outcomes",
}


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
    choices: tuple[str, ...] = ()              # Enum values (deal status; known, not sent)
    max_length: int | None = None              # never sent by Concord: the rule's default
    component: str | None = None               # the descriptor's component, as sent
    origin: str = "create"                     # create | update | accepted (not described)

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


# -- typing one descriptor ------------------------------------------------------------------


def component_of(item: Mapping[str, Any]) -> str | None:
    """``component``, or ``formComponent`` without its ``form-`` prefix."""
    component = item.get("component")
    if isinstance(component, str) and component:
        return component
    form = item.get("formComponent")
    if isinstance(form, str) and form.startswith("form-"):
        return form[len("form-"):]
    return None


def field_kind(item: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """``(logical type, related resource)`` of one descriptor; ``None`` for a non-input.

    Unknown components (a newer Concord) are typed ``Text``: sent as given, never dropped.
    """
    custom = item.get("customField")
    if isinstance(custom, Mapping) and custom.get("field_type") in CUSTOM_TYPES:
        return str(custom["field_type"]), None
    component = component_of(item)
    if component is None or component in NOT_INPUTS:
        return None
    if component == "select-multiple-field":
        if "acceptLabelAsValue" not in item and "optionsViaResource" not in item:
            return "Association", _target(item) or _str(item.get("attribute"))
        return "MultiSelect", None
    if component in BELONGS_TO_COMPONENTS:
        return "BelongsTo", related_resource(item)
    if component == "guests-select-field":    # {users: [ids], contacts: [ids]}: contacts by default
        return "Association", "contacts"
    if component == "numeric-field":
        attributes = item.get("attributes")
        minus = isinstance(attributes, Mapping) and bool(attributes.get("minus"))
        return ("Decimal" if minus or "onlyProducts" in item else "Numeric"), None
    return COMPONENT_TYPES.get(component, "Text"), None


def related_resource(item: Mapping[str, Any]) -> str | None:
    """The resource a BelongsTo descriptor points at (Concord does not send it)."""
    via = _str(item.get("optionsViaResource"))
    if via:
        return via
    target = _target(item)
    if target:
        return target
    if item.get("indexComponent") == "index-user-field":
        return "users"
    relation = _str(item.get("belongsToRelation"))
    return RELATION_RESOURCES.get(relation or "")


def _target(item: Mapping[str, Any]) -> str | None:
    """``onOptionClick.resourceName``, else the resource of ``lazyLoad.url`` or ``asyncUrl``."""
    click = item.get("onOptionClick")
    if isinstance(click, Mapping) and _str(click.get("resourceName")):
        return _str(click.get("resourceName"))
    lazy = item.get("lazyLoad")
    urls = [lazy.get("url") if isinstance(lazy, Mapping) else None, item.get("asyncUrl")]
    for url in urls:
        name = _resource_of_url(url)
        if name:
            return name
    return None


def _resource_of_url(url: Any) -> str | None:
    """``/companies/search`` or ``/api/companies`` → ``companies``."""
    if not isinstance(url, str):
        return None
    parts = [p for p in url.split("?")[0].split("/") if p]
    if parts and parts[0] == "api":
        parts = parts[1:]
    return parts[0] if parts else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _options(item: Mapping[str, Any]) -> tuple[FieldOption, ...]:
    value_key = _str(item.get("valueKey")) or "id"
    label_key = _str(item.get("labelKey")) or "name"
    out: list[FieldOption] = []
    for opt in item.get("options") or ():
        if not isinstance(opt, Mapping):
            continue
        oid, name = opt.get(value_key, opt.get("id")), opt.get(label_key, opt.get("name"))
        try:
            out.append(FieldOption(int(oid), str(name), opt.get("swatch_color")))
        except (TypeError, ValueError):
            continue
    return tuple(out)


def spec_from_descriptor(item: Mapping[str, Any], *, origin: str = "create",
                         choices: tuple[str, ...] = ()) -> FieldSpec | None:
    """One descriptor → ``FieldSpec`` (``None`` for headings and descriptors without attribute)."""
    attribute = _str(item.get("attribute"))
    kind = field_kind(item) if attribute else None
    if attribute is None or kind is None:
        return None
    ftype, related = kind
    custom = item.get("customField")
    option_type = ftype in ("Select", "Radio", "Checkbox", "MultiSelect")
    return FieldSpec(
        attribute=attribute,
        label=_str(item.get("label")) or attribute,
        type="Enum" if choices and ftype == "Text" else ftype,
        required=bool(item.get("isRequired")) and origin == "create",
        unique=bool(item.get("isUnique")),
        custom=isinstance(custom, Mapping) or attribute.startswith("cf_"),
        options=_options(item) if option_type else (),
        related=related,
        choices=choices,
        component=component_of(item),
        origin=origin,
    )


# -- a resource's fields ----------------------------------------------------------------------


def parse_create_fields(resource: str, payload: Iterable[Mapping[str, Any]]) -> ResourceFields:
    """The JSON array of ``GET /api/{resource}/create-fields`` alone → ``ResourceFields``."""
    return merge_fields(resource, payload, (), known=False)


def merge_fields(resource: str, create: Iterable[Mapping[str, Any]],
                 update: Iterable[Mapping[str, Any]] = (), *,
                 known: bool = True) -> ResourceFields:
    """Everything the CRM accepts for ``resource``: the create form's fields (with its
    ``isRequired``), then fields only the update form describes, then (``known``) Concord's
    built-in fields that neither form described — each typed by :func:`field_kind`."""
    specs: dict[str, FieldSpec] = {}
    for origin, items in (("create", create), ("update", update)):
        for item in items:
            if not isinstance(item, Mapping):
                continue
            attribute = _str(item.get("attribute")) or ""
            spec = spec_from_descriptor(item, origin=origin,
                                        choices=CHOICES.get((resource, attribute), ()))
            if spec is None or spec.attribute in specs:
                continue
            if (resource, attribute) in FORM_ONLY_REQUIRED:
                spec = replace(spec, required=False)
            specs[spec.attribute] = spec
    if known:
        for spec in known_fields(resource):
            specs.setdefault(spec.attribute, spec)
    return ResourceFields(resource=resource, fields=specs, online=True)


def known_fields(resource: str) -> ResourceFields:
    """Concord's built-in fields of ``resource`` that its writes accept, whether or not a form
    describes them (no custom fields), typed the same way; ``origin="accepted"``."""
    specs: dict[str, FieldSpec] = {}
    for item in KNOWN.get(resource, ()):
        choices = CHOICES.get((resource, item["attribute"]), ())
        spec = spec_from_descriptor(item, origin="accepted", choices=choices)
        if spec is not None:
            specs[spec.attribute] = spec
    return ResourceFields(resource=resource, fields=specs, online=False)


class FieldSource(Protocol):
    """What :func:`fetch_fields` needs of a client (``ConcordClient`` has it)."""

    def create_fields(self, resource: str) -> list[dict[str, Any]]: ...

    def update_fields(self, resource: str, record_id: int | str) -> list[dict[str, Any]]: ...

    def any_record_id(self, resource: str) -> int | None: ...


def fetch_fields(client: FieldSource, resource: str, *, updates: bool = True) -> ResourceFields:
    """The fields a mapping of ``resource`` may use, from the CRM.

    ``updates``: also ask ``update-fields`` of one existing record (when a run may update
    records, or to list everything); without a record the known table stands in for it.
    """
    create = client.create_fields(resource)
    update: list[dict[str, Any]] = []
    if updates:
        record_id = client.any_record_id(resource)
        if record_id is not None:
            update = client.update_fields(resource, record_id)
    return merge_fields(resource, create, update)

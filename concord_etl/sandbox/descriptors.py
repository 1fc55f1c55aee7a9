"""``create-fields`` and ``update-fields``: one descriptor per field, with Concord's keys only.

Every descriptor has the base keys of Concord 1.5.1's ``Field::jsonSerialize()``, then the meta
keys the field class sets (``attributes``, ``onOptionClick``, ``asyncUrl``, ...), then the keys
its class adds (Optionable, BelongsTo, Phone, Tags, Boolean, Numeric, Timezone, Text, Heading).
There is no ``type``, ``relatedResource``, ``order`` or ``rules`` key: a client has to derive a
field's type from ``component``/``customField`` and its related resource from the keys above.

Which fields are listed: create-fields leaves out fields hidden when creating (contacts'
``job_title`` and address, companies' source/parent/address), update-fields those hidden when
updating (deals' pipeline and stage); fields hidden on both (companies ``industry_id``, deals
``status``/``lost_reason``/``swatch_color``, activities ``is_completed``) are never described but
still accepted. ``isRequired`` of fields required only by creation/update rules (products
``unit_price``) is true only when the request says ``?intent=create`` or ``?intent=update``.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any

from . import catalogs, values
from . import customfields as cfs
from .resources import Field, Resource
from .serialize import related_json
from .store import Row, Store

Descriptor = dict[str, Any]

# Concord field class → component (custom-field types use the same names).
_COMPONENTS = {
    "Text": "text-field", "Textarea": "textarea-field", "Email": "email-field",
    "Url": "url-field", "Domain": "domain-field", "Number": "number-field",
    "Numeric": "numeric-field", "Amount": "numeric-field", "Date": "date-field",
    "DateTime": "date-time-field", "Boolean": "boolean-field", "Timezone": "timezone-field",
    "ColorSwatch": "color-swatch-field", "Editor": "editor-field", "Phone": "phone-field",
    "Tags": "tags-field", "Select": "select-field", "MultiSelect": "select-multiple-field",
    "Checkbox": "checkbox-field", "Radio": "radio-field",
    "User": "belongs-to-field", "Source": "belongs-to-field", "Country": "belongs-to-field",
    "Industry": "belongs-to-field", "Company": "belongs-to-field", "Pipeline": "belongs-to-field",
    "PipelineStage": "pipeline-stage-field", "ActivityType": "activity-type-field",
    "ActivityDueDate": "activity-due-date-field", "ActivityEndDate": "activity-end-date-field",
    "Reminder": "reminder-field", "GuestsSelect": "guests-select-field",
    "Companies": "select-multiple-field", "Contacts": "select-multiple-field",
    "Deals": "select-multiple-field", "LostReasonField": "lost-reason-field",
    "Heading": "heading-field", "BelongsTo": "belongs-to-field",
}
# Sandbox storage type → Concord class, for fields that do not name one.
_FORM_BY_TYPE = {"Decimal": "Amount", "Enum": "Text"}
_DETAIL_INDEX = {
    "Email": ("detail-email-sendable-field", "index-email-sendable-field"),
    "Phone": ("detail-phone-callable-field", "index-phone-callable-field"),
    "Amount": ("detail-billable-amount-field", "index-billable-amount-field"),
    "User": (None, "index-user-field"),
}
_RELATION = {
    "User": "user", "Source": "source", "Country": "country", "Industry": "industry",
    "Pipeline": "pipeline", "PipelineStage": "stage", "ActivityType": "type",
}
_OPTIONS_VIA = {"Source": "sources", "Industry": "industries", "ActivityType": "activity-types"}
_ASSOC_LABEL_KEY = {"Companies": "name", "Contacts": "display_name", "Deals": "name"}
_PHONE_TYPES = {"mobile": "Mobile", "work": "Work", "other": "Other"}
_PRIMARY = {("contacts", "first_name"), ("companies", "name"), ("deals", "name"),
            ("products", "name"), ("activities", "title")}
_ADDRESS = ("street", "city", "state", "postal_code", "country_id")
_COLLAPSED = {*(("contacts", a) for a in ("job_title", *_ADDRESS)),
              *(("companies", a) for a in ("source_id", *_ADDRESS))}
_HALF_WIDTH = {"unit_price", "direct_cost", "due_date", "end_date"}
# Described as required although the sandbox accepts a write without them (as Concord's API).
_DESCRIBED_REQUIRED = {("deals", "pipeline_id")}
_DUPLICATE_CHECKS = {
    ("contacts", "phones"): ("/contacts/search", "phones.number", "contact.exists_by_phone"),
    ("companies", "phones"): ("/companies/search", "phones.number", "company.exists_by_phone"),
    ("companies", "name"): ("/companies/search", "name", "company.exists_by_name"),
}
_HEADING = {"title": "Associate with records", "message": None, "titleIcon": "Link"}


class View:
    """What a descriptor request asks: the form (create/update), ``intent`` and user."""

    def __init__(self, store: Store, resource: Resource, *, form: str, intent: str | None,
                 user: Row | None) -> None:
        self.store = store
        self.resource = resource
        self.form = form
        self.intent = intent
        self.user = user or {}


def descriptors(store: Store, resource: Resource, *, form: str = "create",
                intent: str | None = None, user: Row | None = None) -> list[Descriptor]:
    """The bare JSON array Concord answers ``create-fields`` (``form="create"``) or
    ``update-fields`` (``form="update"``) with."""
    view = View(store, resource, form=form, intent=intent, user=user)
    shown = [f for f in resource.fields if f.listed
             and (f.on_create if form == "create" else f.on_update)]
    builtin = [f for f in shown if f.form not in ("Companies", "Contacts", "Deals")
               or resource.name == "activities"]
    late = [f for f in shown if f not in builtin]          # associations: order 1001, 1002
    out = [_builtin(view, f) for f in builtin]
    if resource.name == "activities":
        heading_at = next((i for i, f in enumerate(builtin) if f.type == "Association"), len(out))
        out.insert(heading_at, _heading(view))
    if resource.custom_fields:
        out.extend(_custom(view, cf) for cf in cfs.definitions(store, resource.name))
    out.extend(_builtin(view, f) for f in late)
    return out


# -- the base descriptor ------------------------------------------------------------------------


def _base(view: View, attribute: str | None, label: str | None, form: str, *,
          required: bool = False, unique: bool = False, value: Any = None,
          custom: dict[str, Any] | None = None, field: Field | None = None) -> Descriptor:
    component = _COMPONENTS[form]
    detail, index = _DETAIL_INDEX.get(form, (None, None))
    name = view.resource.name
    return {
        "component": component,
        "formComponent": f"form-{component}",
        "detailComponent": detail or f"detail-{component}",
        "indexComponent": index or f"index-{component}",
        "inlineEditWith": None,
        "attribute": attribute,
        "label": label,
        "helpText": None,
        "helpTextDisplay": "icon",
        "readonly": False,
        "collapsed": (name, attribute) in _COLLAPSED,
        "primary": (name, attribute) in _PRIMARY,
        "showOnIndex": True,
        "showOnCreation": field.on_create if field is not None else True,
        "showOnUpdate": field.on_update if field is not None else True,
        "showOnDetail": True,
        "applicableForIndex": True,
        "applicableForCreation": True,
        "applicableForUpdate": True,
        "toggleable": form in ("GuestsSelect",) or (name, attribute) == ("activities",
                                                                         "description"),
        "displayNone": False,
        "emitChangeEvent": "field-pipeline_id-value-changed" if form == "Pipeline" else None,
        "width": "half" if attribute in _HALF_WIDTH else "full",
        "value": value,
        "isRequired": required,
        "isUnique": unique,
        "canUnmarkUnique": (name, attribute) == ("contacts", "phones"),
        "inlineEditPanelWidth": "large" if form in ("Textarea", "Editor") else "medium",
        "hideLabel": form == "ActivityDueDate",
        "customField": custom,
        "dateable": form in ("Date", "DateTime", "ActivityDueDate", "ActivityEndDate"),
    }


def _is_required(view: View, fld: Field) -> bool:
    if (view.resource.name, fld.attribute) in _DESCRIBED_REQUIRED:
        return True
    if fld.required_by_intent:
        return fld.required and view.intent in ("create", "update")
    return fld.required


def _form(fld: Field) -> str:
    return fld.form or _FORM_BY_TYPE.get(fld.type, fld.type)


# -- built-in fields ----------------------------------------------------------------------------


def _builtin(view: View, fld: Field) -> Descriptor:
    form = _form(fld)
    unique = fld.unique
    if form == "Phone":
        settings = view.store.meta.get("settings", {})
        unique = fld.unique and bool(settings.get("contact_phone_unique", True))
    item = _base(view, fld.attribute, _label(view, fld), form, required=_is_required(view, fld),
                 unique=unique, value=_default_value(view, fld, form), field=fld)
    item.update(_meta(view, fld, form))
    item.update(_extras(view, fld, form))
    if form in ("Pipeline", "PipelineStage"):
        item["inlineEditWith"] = [_plain(view, "pipeline_id", "Pipeline", "Pipeline", "pipeline"),
                                  _plain(view, "stage_id", "Stage", "PipelineStage", "stage")]
    elif form == "ActivityType":
        item["inlineEditWith"] = _plain(view, fld.attribute, fld.label, "BelongsTo", "type")
    return item


def _label(view: View, fld: Field) -> str | None:
    return None if (view.resource.name, fld.attribute) == ("notes", "body") else fld.label


def _plain(view: View, attribute: str, label: str, form: str, relation: str) -> Descriptor:
    """A nested BelongsTo descriptor for ``inlineEditWith`` (not a form field of its own)."""
    item = _base(view, attribute, label, form)
    item.update(_optionable(True, "id", "name", None, []))
    item.update(belongsToRelation=relation, dependsOn="pipeline_id" if relation == "stage" else None)
    return item


def _default_value(view: View, fld: Field, form: str) -> Any:
    store = view.store
    if form == "User" and view.user:
        return {"id": view.user.get("id"), "name": view.user.get("name"), "avatar_url": None}
    if form in ("Tags", "Phone"):
        return []
    if form == "Pipeline":
        pipeline = _default_pipeline(store)
        return None if pipeline is None else _pipeline_json(store, pipeline)
    if form == "PipelineStage":
        pipeline = _default_pipeline(store)
        stages = [] if pipeline is None else _stages(store, pipeline["id"])
        return stages[0] if stages else None
    if form == "Date" and fld.attribute == "expected_close_date":
        today = datetime.now(UTC).date()
        last = calendar.monthrange(today.year, today.month)[1]
        return today.replace(day=last).isoformat()
    if form == "Reminder":
        return 30
    if form == "ActivityType":
        rows = [r for r in store.table("activity-types").values() if r.get("flag") == "task"]
        return rows[0]["id"] if rows else None
    if fld.attribute == "tax_rate":
        return 0
    if fld.attribute == "tax_label":
        return "TAX"
    if fld.attribute == "is_active":
        return True
    return None


def _meta(view: View, fld: Field, form: str) -> Descriptor:
    name, attr = view.resource.name, fld.attribute
    meta: Descriptor = {}
    if (name, attr) in _DUPLICATE_CHECKS:
        url, search, key = _DUPLICATE_CHECKS[(name, attr)]
        meta["checkDuplicatesWith"] = {"url": url, "params": {"search_fields": search},
                                       "lang_keypath": f"contacts::{key}"}
    if form in ("Numeric", "Amount"):
        attributes: dict[str, Any] = {"placeholder": "--"}
        if form == "Amount":
            attributes["minus"] = True
        if attr == "tax_rate":
            attributes.update(precision=3, max=100)
        meta["attributes"] = attributes
    elif form == "Date":
        meta["attributes"] = {"clearable": True}
    elif form == "Editor":
        meta["attributes"] = {"with-mention": (name, attr) in (("notes", "body"),
                                                                ("activities", "note"))}
        if (name, attr) == ("activities", "description"):
            meta["attributes"]["minimal"] = True
    elif form in ("Pipeline",) or (form == "User" and fld.required):
        meta["attributes"] = {"clearable": False}
    elif form == "Reminder":
        meta["cancelable"] = True
    if form in ("Companies", "Contacts", "Deals"):
        target = form.lower()
        meta.update(
            onOptionClick={"resourceName": target, "action": "float"},
            eachOnNewLine=True,
            asyncUrl=f"/{target}/search",
            attributes={"placeholder": f"Search {target}..."},
            lazyLoad={"url": f"/{target}", "params": {"order": "created_at|desc"}},
        )
        if name == "activities":
            meta["displayOptionViewActionFromPath"] = True
    elif form == "Company":
        meta.update(
            lazyLoad={"url": "/companies", "params": {"order": "created_at|desc"}},
            onOptionClick={"resourceName": "companies", "action": "float"},
            asyncUrl="/companies/search",
        )
    return meta


def _extras(view: View, fld: Field, form: str) -> Descriptor:
    """The keys a field class adds after the base keys and meta."""
    store = view.store
    if form == "Text":
        return {"inputType": "text"}
    if form == "Boolean":
        return {"trueValue": True, "falseValue": False}
    if form in ("Numeric", "Amount"):
        money = fld.attribute in ("unit_price", "direct_cost", "amount")
        out: Descriptor = {"currency": _app_currency(store) if money else None,
                           "prependText": None,
                           "appendText": "%" if fld.attribute == "tax_rate" else None}
        if form == "Amount":
            out["onlyProducts"] = False
        return out
    if form == "Phone":
        return {"types": dict(_PHONE_TYPES), "type": "mobile", "callingPrefix": None}
    if form == "Tags":
        return {"type": view.resource.tag_type}
    if form in ("Companies", "Contacts", "Deals"):
        return {"options": [], "labelKey": _ASSOC_LABEL_KEY[form], "valueKey": "id"}
    if form == "Timezone":
        return {"timezones": list(catalogs.timezones())}
    if form in _RELATION or form in ("Company", "BelongsTo"):
        relation = _RELATION.get(form) or {"parent_company_id": "parent"}.get(
            fld.attribute, fld.attribute.removesuffix("_id"))
        out = _optionable(form != "Company", "id", "name", _OPTIONS_VIA.get(form),
                          _belongs_to_options(view, form))
        out.update(belongsToRelation=relation,
                   dependsOn="pipeline_id" if form == "PipelineStage" else None)
        return out
    return {}


def _optionable(accept_label: bool, value_key: str, label_key: str, via: str | None,
                options: list[Any]) -> Descriptor:
    return {"acceptLabelAsValue": accept_label, "valueKey": value_key, "labelKey": label_key,
            "optionsViaResource": via, "options": options}


def _belongs_to_options(view: View, form: str) -> list[Any]:
    store = view.store
    if form == "User":
        return [{"id": u["id"], "name": u["name"], "avatar_url": None}
                for u in sorted(store.table("users").values(), key=lambda r: r["name"])]
    if form == "Pipeline":
        return [_pipeline_json(store, p)
                for p in sorted(store.table("pipelines").values(), key=lambda r: r["id"])]
    if form == "PipelineStage":
        return [related_json(store, "pipeline-stages", s["id"])
                for s in sorted(store.table("pipeline-stages").values(),
                                key=lambda r: (r.get("display_order") or 0, r["id"]))]
    table = {"Source": "sources", "Industry": "industries", "Country": "countries",
             "ActivityType": "activity-types"}.get(form)
    if table is None:
        return []                                      # Company: loaded asynchronously
    rows = sorted(store.table(table).values(), key=lambda r: str(r.get("name")))
    return [{"id": r["id"], "name": r["name"]} for r in rows if not r.get("deleted_at")]


def _default_pipeline(store: Store) -> Row | None:
    rows = sorted(store.table("pipelines").values(), key=lambda r: r["id"])
    flagged = [r for r in rows if r.get("flag") == "default"]
    found = flagged or rows
    return found[0] if found else None


def _stages(store: Store, pipeline_id: int) -> list[Any]:
    rows = [s for s in store.table("pipeline-stages").values() if s["pipeline_id"] == pipeline_id]
    rows.sort(key=lambda s: (s.get("display_order") or 0, s["id"]))
    return [related_json(store, "pipeline-stages", s["id"]) for s in rows]


def _pipeline_json(store: Store, pipeline: Row) -> dict[str, Any]:
    return {"id": pipeline["id"], "name": pipeline["name"], "flag": pipeline.get("flag"),
            "stages": _stages(store, pipeline["id"])}


def _app_currency(store: Store) -> dict[str, Any] | None:
    code = str(store.meta.get("settings", {}).get("currency") or "USD")
    return catalogs.currency(code)


def _heading(view: View) -> Descriptor:
    item = _base(view, None, None, "Heading")
    item.update(_HEADING)
    return item


# -- custom fields ------------------------------------------------------------------------------


def _custom(view: View, cf: Row) -> Descriptor:
    store = view.store
    ftype = cf["field_type"]
    opts = cfs.options(store, cf) if ftype in cfs.OPTION_TYPES else []
    item = _base(view, cf["field_id"], cf["label"], ftype, unique=bool(cf.get("is_unique")),
                 custom=custom_field_resource(store, cf),
                 value=False if ftype == "Boolean" else None)
    if ftype in ("Date", "DateTime"):
        item["attributes"] = {"clearable": True}
    elif ftype == "Numeric":
        item["attributes"] = {"placeholder": "--"}
    if ftype in cfs.OPTION_TYPES:
        item["displayAsBadges"] = True
        if ftype in cfs.MULTI_TYPES:
            item["eachOnNewLine"] = True
        item.update(_optionable(True, "id", "name", None, [cfs.option_json(o) for o in opts]))
    elif ftype == "Text":
        item["inputType"] = "text"
    elif ftype == "Boolean":
        item.update(trueValue=True, falseValue=False)
    elif ftype == "Numeric":
        item.update(currency=None, prependText=None, appendText=None)
    elif ftype == "Timezone":
        item["timezones"] = list(catalogs.timezones())
    return item


def custom_field_resource(store: Store, cf: Row) -> dict[str, Any]:
    """A custom field definition as Concord's CustomFieldResource shows it in a descriptor."""
    out: dict[str, Any] = {
        "id": cf["id"], "field_type": cf["field_type"], "resource_name": cf["resource_name"],
        "field_id": cf["field_id"], "label": cf["label"],
    }
    opts = cfs.options(store, cf)
    if opts:
        out["options"] = [{"id": o["id"], "custom_field_id": cf["id"], "name": o["name"],
                           "swatch_color": o.get("swatch_color"),
                           "display_order": o.get("display_order")} for o in opts]
    out["is_unique"] = cf.get("is_unique")
    out["created_at"] = values.iso_ts(cf.get("created_at"))
    out["updated_at"] = values.iso_ts(cf.get("updated_at"))
    out["was_recently_created"] = False
    return out

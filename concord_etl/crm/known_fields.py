"""Concord 1.5.1's built-in fields per resource, as descriptors with Concord's own keys.

Writes accept more than the forms describe: ``create-fields`` leaves out fields shown only
when editing (contacts' job title and address; companies' source, parent company and
address), and some fields are described on no form at all yet accepted by store and update
(companies ``industry_id``, deals ``status``/``lost_reason``/``swatch_color``, activities
``is_completed``; notes link to records through ``contacts``/``companies``/``deals``).
(Calls link the same way.) Each entry below carries exactly the keys Concord's descriptor of that field would carry for
typing (``component``, ``belongsToRelation``, ``optionsViaResource``, ``onOptionClick``, ...)
plus ``showOnCreation``/``showOnUpdate`` as Concord sets them, so it is typed by the same
``fields.field_kind`` as a live descriptor. docs/field-descriptors.md lists the sources.

Offline validation (a mapping checked without the CRM) types fields from this table too, so
online and offline typing agree.
"""

from __future__ import annotations

from typing import Any

Descriptor = dict[str, Any]


def _d(attribute: str, label: str | None, component: str, *, create: bool = True,
       update: bool = True, **keys: Any) -> Descriptor:
    return {"component": component, "attribute": attribute, "label": label,
            "showOnCreation": create, "showOnUpdate": update, "customField": None, **keys}


def _text(attribute: str, label: str, **kw: Any) -> Descriptor:
    return _d(attribute, label, "text-field", inputType="text", **kw)


def _belongs_to(attribute: str, label: str, relation: str, *, via: str | None = None,
                component: str = "belongs-to-field", **kw: Any) -> Descriptor:
    return _d(attribute, label, component, acceptLabelAsValue=True, valueKey="id",
              labelKey="name", optionsViaResource=via, options=[], belongsToRelation=relation,
              dependsOn="pipeline_id" if relation == "stage" else None, **kw)


def _user(attribute: str = "user_id", label: str = "Owner", **kw: Any) -> Descriptor:
    return _belongs_to(attribute, label, "user", indexComponent="index-user-field", **kw)


def _company(attribute: str, label: str, relation: str, **kw: Any) -> Descriptor:
    return _belongs_to(attribute, label, relation, asyncUrl="/companies/search",
                       lazyLoad={"url": "/companies", "params": {"order": "created_at|desc"}},
                       onOptionClick={"resourceName": "companies", "action": "float"}, **kw)


def _association(name: str, **kw: Any) -> Descriptor:
    label_key = "display_name" if name == "contacts" else "name"
    return _d(name, name.capitalize(), "select-multiple-field",
              onOptionClick={"resourceName": name, "action": "float"},
              asyncUrl=f"/{name}/search",
              lazyLoad={"url": f"/{name}", "params": {"order": "created_at|desc"}},
              options=[], labelKey=label_key, valueKey="id", **kw)


def _phone(**kw: Any) -> Descriptor:
    return _d("phones", "Phone", "phone-field",
              types={"mobile": "Mobile", "work": "Work", "other": "Other"}, type="mobile",
              callingPrefix=None, **kw)


def _tags(tag_type: str) -> Descriptor:
    return _d("tags", "Tags", "tags-field", type=tag_type)


def _numeric(attribute: str, label: str, *, minus: bool = False, **kw: Any) -> Descriptor:
    attributes: dict[str, Any] = {"placeholder": "--"}
    if minus:
        attributes["minus"] = True
    return _d(attribute, label, "numeric-field", attributes=attributes, currency=None,
              prependText=None, appendText=None, **kw)


def _address(*, create: bool) -> tuple[Descriptor, ...]:
    return (
        _text("street", "Street Address", create=create),
        _text("city", "City", create=create),
        _text("state", "State/Region", create=create),
        _text("postal_code", "Postal Code", create=create),
        _belongs_to("country_id", "Country", "country", create=create),
    )


KNOWN: dict[str, tuple[Descriptor, ...]] = {
    "contacts": (
        _text("first_name", "First Name"),
        _text("last_name", "Last Name"),
        _d("email", "E-Mail Address", "email-field"),
        _phone(),
        _tags("contacts"),
        _user(),
        _belongs_to("source_id", "Source", "source", via="sources"),
        _text("job_title", "Job Name", create=False),
        *_address(create=False),
        _association("companies"),
        _association("deals"),
    ),
    "companies": (
        _text("name", "Name"),
        _d("domain", "Domain Name", "domain-field"),
        _d("email", "E-Mail Address", "email-field"),
        _belongs_to("industry_id", "Industry", "industry", via="industries", create=False,
                    update=False),
        _phone(),
        _tags("contacts"),
        _belongs_to("source_id", "Source", "source", via="sources", create=False),
        _company("parent_company_id", "Parent Company", "parent", create=False),
        *_address(create=False),
        _user(),
        _association("deals"),
        _association("contacts"),
    ),
    "deals": (
        _text("name", "Name"),
        _belongs_to("pipeline_id", "Pipeline", "pipeline", update=False),
        _belongs_to("stage_id", "Stage", "stage", component="pipeline-stage-field",
                    update=False),
        _numeric("amount", "Amount", minus=True, onlyProducts=False),
        _d("expected_close_date", "Expected Close Date", "date-field", dateable=True),
        _tags("deals"),
        _text("status", "Status", create=False, update=False),
        _d("lost_reason", "Lost Reason", "lost-reason-field", create=False, update=False),
        _user(),
        _association("contacts"),
        _association("companies"),
        _d("swatch_color", "Color", "color-swatch-field", create=False, update=False),
    ),
    "products": (
        _text("name", "Name"),
        _text("sku", "SKU"),
        _d("description", "Description", "textarea-field"),
        _numeric("unit_price", "Unit Price"),
        _numeric("direct_cost", "Direct Cost"),
        _numeric("tax_rate", "Tax Rate"),
        _text("tax_label", "Tax Label"),
        _text("unit", "Unit"),
        _d("is_active", "Active", "boolean-field", trueValue=True, falseValue=False),
    ),
    "activities": (
        _text("title", "Title"),
        _belongs_to("activity_type_id", "Activity Type", "type", via="activity-types",
                    component="activity-type-field"),
        _d("due_date", "Due Date", "activity-due-date-field", dateable=True),
        _d("end_date", "End Date", "activity-end-date-field", dateable=True),
        _d("reminder_minutes_before", "Reminder", "reminder-field", cancelable=True),
        _user(),
        _d("guests", "Guests", "guests-select-field"),
        _d("description", "Description", "editor-field"),
        _d("note", "Note", "editor-field"),
        _association("contacts", displayOptionViewActionFromPath=True),
        _association("companies", displayOptionViewActionFromPath=True),
        _association("deals", displayOptionViewActionFromPath=True),
        _d("is_completed", "Completed", "boolean-field", create=False, update=False,
           trueValue=True, falseValue=False),
    ),
    "calls": (
        # Concord's calls resource: outcome, date and note are required on create.
        _belongs_to("call_outcome_id", "Outcome", "outcome", via="call-outcomes"),
        _d("date", "Date", "date-time-field", dateable=True),
        _d("body", "Note", "editor-field"),
        # Not described: a call is linked to records by these keys on store/update.
        _association("contacts", create=False, update=False),
        _association("companies", create=False, update=False),
        _association("deals", create=False, update=False),
    ),
    "notes": (
        _d("body", None, "editor-field"),
        # Not described: a note is linked to records by these keys on store/update.
        _association("contacts", create=False, update=False),
        _association("companies", create=False, update=False),
        _association("deals", create=False, update=False),
    ),
}

# Fields the create form marks required although the API does not need them: a deal's pipeline
# is recomputed from its stage on every save (the stage is required), so a row with a stage and
# no pipeline is accepted.
FORM_ONLY_REQUIRED = {("deals", "pipeline_id")}

# Values Concord accepts for a text field it does not describe (deal status names).
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("deals", "status"): ("open", "won", "lost"),
}


def never_described(resource: str) -> tuple[str, ...]:
    """Attributes neither form describes although writes accept them."""
    return tuple(d["attribute"] for d in KNOWN.get(resource, ())
                 if not d["showOnCreation"] and not d["showOnUpdate"])


def update_only(resource: str) -> tuple[str, ...]:
    """Attributes only the update form describes (writes accept them on create too)."""
    return tuple(d["attribute"] for d in KNOWN.get(resource, ())
                 if not d["showOnCreation"] and d["showOnUpdate"])

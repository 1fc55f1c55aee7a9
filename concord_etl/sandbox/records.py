"""Create / update / delete of resource records: validation first, then every change at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import billable as bill
from . import customfields as cfs
from . import relations as rel
from . import values
from .resources import COMPANIES, CONTACTS, DEALS, Field, Resource
from .store import Row, Store
from .validation import ErrorBag, HttpError, check_scalar, is_empty, normalize, required_error

STATUS_LOCK = 'The deal first must be marked as open in order to apply the "{status}" status.'
UNIQUE_MESSAGES = {
    ("contacts", "email"): "A contact or team member with this email already exist.",
    ("companies", "email"): "A company with this email already exist.",
    ("products", "sku"): "A product with this SKU already exists.",
}


@dataclass
class Plan:
    """What a valid request will change, resolved before anything is written."""

    values: dict[str, Any] = field(default_factory=dict)
    later: list[Callable[[], None]] = field(default_factory=list)   # option/source creations
    phones: list[dict[str, str]] | None = None
    tags: list[str] | None = None
    links: dict[str, list[Any]] = field(default_factory=dict)       # resource -> keys
    billable: dict[str, Any] | None = None                          # deals: checked line items


def create(store: Store, resource: Resource, body: Any, user: Row) -> Row:
    record: Row = {"id": 0}
    plan = _validate(store, resource, body, record, creating=True)
    with store.transaction():
        record["id"] = store.next_id(resource.name)
        _apply(store, resource, record, plan, user, creating=True)
    return record


def update(store: Store, resource: Resource, record: Row, body: Any, user: Row) -> Row:
    plan = _validate(store, resource, body, record, creating=False)
    with store.transaction():
        _apply(store, resource, record, plan, user, creating=False)
    return record


def delete(store: Store, resource: Resource, record: Row, *, force: bool = False) -> None:
    with store.transaction():
        if resource.soft_delete and not force:
            record["deleted_at"] = values.stamp()
            store.put(resource.name, record)
        else:
            store.remove(resource.name, int(record["id"]))


def restore(store: Store, resource: Resource, record: Row) -> None:
    with store.transaction():
        record["deleted_at"] = None
        record["updated_at"] = values.stamp()
        store.put(resource.name, record)


# ------------------------------------------------------------------ validation
def _validate(store: Store, resource: Resource, body: Any, record: Row, creating: bool) -> Plan:
    data = normalize(body) if isinstance(body, dict) else {}
    errors = ErrorBag()
    plan = Plan()
    for fld in resource.fields:
        _field(store, resource, fld, fld.label, data, record, creating, plan, errors)
    if resource.custom_fields:
        for cf in sorted(cfs.definitions(store, resource.name), key=lambda c: c["id"]):
            _custom(store, resource, cf, data, record, creating, plan, errors)
    _resource_rules(store, resource, data, record, plan, errors)
    if resource.name == "deals" and data.get("billable") is not None:
        plan.billable = _deal_billable(store, data["billable"], record, plan, creating, errors)
    errors.raise_if_any()
    if resource.name in ("notes", "calls"):
        _check_via(store, plan, record)
    if "associations" in data:
        for name, keys in rel.association_object(resource, data["associations"]).items():
            plan.links.setdefault(name, []).extend(keys)
    if resource.name == "deals":
        _status_lock(record, plan)
    return plan


def _field(store: Store, resource: Resource, fld: Field, label: str, data: dict[str, Any],
           record: Row, creating: bool, plan: Plan, errors: ErrorBag) -> None:
    attr = fld.attribute
    present = attr in data
    value = data.get(attr)
    missing = required_error(fld, label, present, value, creating)
    if missing:
        errors.add(attr, missing)
        return
    if not present:
        return
    if fld.type == "Phone":
        _phones(store, resource, fld, value, record, plan, errors)
    elif fld.type == "Tags":
        if value is not None:
            names = rel.parse_tags(value)
            if names is None:
                errors.add(attr, f"The {label} field must be an array.")
            else:
                plan.tags = names
    elif fld.type == "Association":
        if value is not None:
            plan.links.setdefault(attr, []).extend(rel.split_keys(value))
    elif fld.type == "Guests":
        if value is not None:
            guests = rel.parse_guests(store, value)
            if guests is None:
                errors.add(attr, f"The {label} field must be an array.")
            else:
                plan.values[attr] = guests
    elif value is None:
        plan.values[attr] = None
    elif fld.type == "BelongsTo":
        _belongs_to(store, fld, value, plan, errors)
    else:
        stored, err = check_scalar(fld.type, label, value, fld)
        if err:
            errors.add(attr, err)
        elif fld.unique and _taken(store, resource, attr, stored, record):
            default = f"The {label} has already been taken."
            errors.add(attr, UNIQUE_MESSAGES.get((resource.name, attr), default))
        else:
            plan.values[attr] = stored


def _belongs_to(store: Store, fld: Field, value: Any, plan: Plan, errors: ErrorBag) -> None:
    if fld.ids_only and values.parse_int(value) is None:
        errors.add(fld.attribute, f"The {fld.label} field must be a number.")
        return
    rid, new_name, err = rel.resolve_belongs_to(store, fld, value)
    if err:
        errors.add(fld.attribute, err)
    elif rid is not None:
        plan.values[fld.attribute] = rid
    elif new_name is not None:
        def make(attr: str = fld.attribute, related: str = fld.related or "", name: str = new_name) -> None:
            plan.values[attr] = rel.create_named(store, related, name)
        plan.later.append(make)


def _phones(store: Store, resource: Resource, fld: Field, value: Any, record: Row,
            plan: Plan, errors: ErrorBag) -> None:
    if value is None:
        return
    phones = rel.parse_phones(value)
    if phones is None:
        errors.add("phones", f"The {fld.label} field must be an array.")
        return
    unique = fld.unique and store.meta.get("settings", {}).get("contact_phone_unique", True)
    for i, phone in enumerate(phones):
        key = f"phones.{i}.number"
        if len(phone["number"]) > 191:
            errors.add(key, f"The {fld.label} field must not be greater than 191 characters.")
        elif unique and rel.phone_owner(store, resource.name, phone["number"], record.get("id")):
            errors.add(key, "A contact with this phone number already exist.")
    plan.phones = phones


def _custom(store: Store, resource: Resource, cf: Row, data: dict[str, Any], record: Row,
            creating: bool, plan: Plan, errors: ErrorBag) -> None:
    attr, label, ftype = cf["field_id"], cf["label"], cf["field_type"]
    if attr not in data:
        if creating and ftype == "Boolean":
            plan.values[attr] = False
        return
    value = data[attr]
    if ftype in cfs.OPTION_TYPES:
        if value is not None:
            _options(store, cf, value, plan)
        return
    if value is None:
        plan.values[attr] = None if ftype != "Boolean" else False
        return
    fld = Field(attr, label, ftype, max_length=191 if ftype in ("Text", "Email", "Url") else None)
    stored, err = check_scalar(ftype, label, value, fld)
    if err:
        errors.add(attr, err)
    elif cf.get("is_unique") and _taken(store, resource, attr, stored, record):
        errors.add(attr, f"The {label} has already been taken.")
    else:
        plan.values[attr] = stored


def _options(store: Store, cf: Row, value: Any, plan: Plan) -> None:
    attr = cf["field_id"]
    multi = cf["field_type"] in cfs.MULTI_TYPES
    entries = cfs.split_multi(value) if multi else [value]
    if not multi and isinstance(value, list | dict):
        entries = cfs.split_multi(value)[:1]

    def resolve() -> None:
        ids: list[int] = []
        for entry in entries:
            option = cfs.find_option(store, cf, entry) or cfs.create_option(store, cf, str(entry))
            if option["id"] not in ids:
                ids.append(option["id"])
        plan.values[attr] = ids if multi else (ids[0] if ids else None)

    plan.later.append(resolve)


def _taken(store: Store, resource: Resource, attr: str, value: Any, record: Row) -> bool:
    """Uniqueness against all records of the resource, trashed ones included."""
    if value is None:
        return False
    if any(row["id"] != record.get("id") for row in store.find(resource.name, attr, value)):
        return True
    if resource.name == "contacts" and attr == "email":
        return bool(store.find("users", "email", value))
    return False


def _resource_rules(store: Store, resource: Resource, data: dict[str, Any], record: Row,
                    plan: Plan, errors: ErrorBag) -> None:
    if resource.name == "deals" and record.get("id") and "pipeline_id" in data \
            and "stage_id" not in data and not errors.has("stage_id"):
        errors.add("stage_id", "The Stage field is required when Pipeline is present.")
    if resource.name == "pipeline-stages" and not errors:
        pipeline = plan.values.get("pipeline_id", record.get("pipeline_id"))
        name = plan.values.get("name", record.get("name"))
        for stage in store.table("pipeline-stages").values():
            if stage["id"] != record.get("id") and stage["pipeline_id"] == pipeline \
                    and str(stage["name"]).casefold() == str(name).casefold():
                errors.add("name", "The Name has already been taken.")
    if resource.name == "activities" and not errors:
        due = plan.values.get("due_date", record.get("due_date"))
        end = plan.values.get("end_date", record.get("end_date"))
        if due and end and end[:10] < due[:10]:
            errors.add("end_date", "The End Date field must be a date after or equal to Due Date.")
        elif due and end and len(due) > 10 and len(end) == 10 and end != due[:10]:
            errors.add("end_date", "The End Date must be the same day as the Due Date when only "
                                   "the Due Date has a time.")
    if resource.name == "calls":
        for one, other, label in (("via_resource", "via_resource_id", "Via Resource ID"),
                                  ("via_resource_id", "via_resource", "Via Resource")):
            if not is_empty(data.get(one)) and is_empty(data.get(other)) \
                    and not errors.has(other):
                errors.add(other, f"The {label} field is required when "
                                  f"{one.replace('_', ' ').title()} is present.")


def _check_via(store: Store, plan: Plan, record: Row) -> None:
    """Notes and calls are authorised through ``via_resource``: it must be a visible record."""
    via = plan.values.get("via_resource", record.get("via_resource"))
    via_id = plan.values.get("via_resource_id", record.get("via_resource_id"))
    number = values.parse_int(via_id)
    if is_empty(via) or number is None:
        return
    target = RESOURCE_MODELS.get(str(via))
    row = store.get(str(via), number)
    if row is None or row.get("deleted_at"):
        raise HttpError(404, {"message": f"No query results for model [{target}] {via_id}"})


# The resources a note or call can be ``via`` (its ``via_resource`` choices), by name.
RESOURCE_MODELS = {r.name: r.model for r in (CONTACTS, COMPANIES, DEALS)}


def _deal_billable(store: Store, body: Any, record: Row, plan: Plan, creating: bool,
                   errors: ErrorBag) -> dict[str, Any] | None:
    """A deal's ``billable`` key: saved on create only with products, on update always."""
    try:
        checked = bill.check(store, record if record.get("id") else None, body, "billable.")
    except HttpError as exc:
        for key, messages in (exc.body.get("errors") or {}).items():
            for text in messages:
                errors.add(key, text)
        return None
    if creating and not checked["products"]:
        return None
    return checked


def _status_lock(record: Row, plan: Plan) -> None:
    old = record.get("status")
    new = plan.values.get("status")
    if old in ("won", "lost") and new in ("won", "lost") and new != old:
        raise HttpError(409, {"message": STATUS_LOCK.format(status=new)})


# --------------------------------------------------------------------- applying
def _apply(store: Store, resource: Resource, record: Row, plan: Plan, user: Row,
           creating: bool) -> None:
    before = dict(record)
    for make in plan.later:
        make()
    now = values.stamp()
    if creating:
        _defaults(store, resource, record, user, now)
    record.update(plan.values)
    _hooks(store, resource, record, before, creating, now)
    if plan.phones is not None:
        rel.sync_phones(store, record, plan.phones)
    if plan.tags is not None and resource.tag_type:
        record["tags"] = rel.tag_ids(store, resource.tag_type, plan.tags)
    links = {name: rel.resolve_association_keys(store, name, keys)
             for name, keys in plan.links.items()}
    if resource.name == "deals" and not creating and "amount" in plan.values \
            and bill.count(store, int(record["id"])):
        record["amount"] = before.get("amount")   # read-only once the deal has products
    if creating or record != before or links:
        record["updated_at"] = now
    store.put(resource.name, record)
    rel.apply_links(store, resource, record, links, creating)
    if plan.billable is not None:
        bill.save(store, record, plan.billable)


def _defaults(store: Store, resource: Resource, record: Row, user: Row, now: str) -> None:
    record.update(created_at=now, updated_at=now)
    for fld in resource.fields:
        if fld.type in ("Phone", "Tags"):
            record[fld.attribute] = []
        elif fld.type not in ("Association",):
            record.setdefault(fld.attribute, None)
    if resource.soft_delete:
        record["deleted_at"] = None
    name = resource.name
    if name == "deals":
        record["status"] = "open"
    elif name == "products":
        record.update(is_active=True, tax_rate=0, created_by=user["id"])
    elif name == "activities":
        task = rel.by_label(store, "activity-types", "Task")
        record.update(activity_type_id=task, reminder_minutes_before=30, is_completed=False,
                      created_by=user["id"])
    elif name in ("notes", "calls"):
        record["user_id"] = user["id"]
    elif name == "pipeline-stages":
        record["display_order"] = len(store.table("pipeline-stages")) + 1
    elif name == "users":
        record.update(super_admin=False, access_api=False, token=None)


def _hooks(store: Store, resource: Resource, record: Row, before: Row, creating: bool,
           now: str) -> None:
    if record.get("user_id") != before.get("user_id") and "user_id" in record:
        record["owner_assigned_date"] = now if record.get("user_id") else None
    if resource.name == "deals":
        _deal_hooks(store, record, before, creating, now)
    elif resource.name == "activities" and record.get("is_completed") != before.get("is_completed"):
        record["completed_at"] = now if record.get("is_completed") else None
    elif resource.name == "products" and record.get("tax_rate") is None:
        record["tax_rate"] = 0


def _deal_hooks(store: Store, record: Row, before: Row, creating: bool, now: str) -> None:
    stage = store.get("pipeline-stages", record.get("stage_id") or 0)
    if stage is not None:
        record["pipeline_id"] = stage["pipeline_id"]
    if creating or record.get("stage_id") != before.get("stage_id"):
        record["stage_changed_date"] = now
    status = record.get("status") or "open"
    record["status"] = status
    if status != before.get("status"):
        if status == "won":
            record.update(won_date=now, lost_date=None, lost_reason=None)
        elif status == "lost":
            record.update(lost_date=now, won_date=None)
        else:
            record.update(won_date=None, lost_date=None, lost_reason=None)
    if status != "lost":
        record["lost_reason"] = None


def check_body(body: Any) -> None:
    """A JSON body that is not an object cannot carry fields."""
    if body is not None and not isinstance(body, dict):
        raise HttpError(400, {"message": "The request body must be a JSON object."})


def is_blank(value: Any) -> bool:
    return is_empty(value)

"""create-fields / update-fields exactly as Concord 1.5.1 sends them.

Written from the reference tables of Concord's field classes and resources (the keys each
class's ``jsonSerialize`` adds, each resource's field list and form visibility), never from the
sandbox's own output: every descriptor's key set, component, attribute order and flags are
pinned here, and any key the reference does not list fails.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.contract import SAM, api, create, ok, uniq

# -- what every descriptor has ------------------------------------------------------------------

BASE_KEYS = {
    "component", "formComponent", "detailComponent", "indexComponent", "inlineEditWith",
    "attribute", "label", "helpText", "helpTextDisplay", "readonly", "collapsed", "primary",
    "showOnIndex", "showOnCreation", "showOnUpdate", "showOnDetail",
    "applicableForIndex", "applicableForCreation", "applicableForUpdate",
    "toggleable", "displayNone", "emitChangeEvent", "width", "value",
    "isRequired", "isUnique", "canUnmarkUnique", "inlineEditPanelWidth", "hideLabel",
    "customField", "dateable",
}
# Keys ``withMeta`` may add (only ``inlineEditDisabled`` is detail-only, so never here).
META_KEYS = {
    "attributes", "checkDuplicatesWith", "onOptionClick", "displayAsBadges", "eachOnNewLine",
    "displayOptionViewActionFromPath", "asyncUrl", "lazyLoad", "inline", "https", "cancelable",
}
OPTIONABLE = {"acceptLabelAsValue", "valueKey", "labelKey", "optionsViaResource", "options"}
BELONGS_TO = OPTIONABLE | {"belongsToRelation", "dependsOn"}
NUMERIC = {"currency", "prependText", "appendText"}
# Field class → (component, keys the class adds after base + meta).
CLASSES: dict[str, tuple[str, set[str]]] = {
    "Text": ("text-field", {"inputType"}),
    "Textarea": ("textarea-field", set()),
    "Email": ("email-field", set()),
    "Url": ("url-field", set()),
    "Domain": ("domain-field", set()),
    "Number": ("number-field", set()),
    "Numeric": ("numeric-field", NUMERIC),
    "Amount": ("numeric-field", NUMERIC | {"onlyProducts"}),
    "Date": ("date-field", set()),
    "DateTime": ("date-time-field", set()),
    "Boolean": ("boolean-field", {"trueValue", "falseValue"}),
    "Select": ("select-field", OPTIONABLE),
    "MultiSelect": ("select-multiple-field", OPTIONABLE),
    "Checkbox": ("checkbox-field", OPTIONABLE),
    "Radio": ("radio-field", OPTIONABLE),
    "BelongsTo": ("belongs-to-field", BELONGS_TO),
    "User": ("belongs-to-field", BELONGS_TO),
    "Country": ("belongs-to-field", BELONGS_TO),
    "Source": ("belongs-to-field", BELONGS_TO),
    "Company": ("belongs-to-field", BELONGS_TO),
    "Pipeline": ("belongs-to-field", BELONGS_TO),
    "PipelineStage": ("pipeline-stage-field", BELONGS_TO),
    "ActivityType": ("activity-type-field", BELONGS_TO),
    "Tags": ("tags-field", {"type"}),
    "Timezone": ("timezone-field", {"timezones"}),
    "ColorSwatch": ("color-swatch-field", set()),
    "Editor": ("editor-field", set()),
    "Heading": ("heading-field", {"title", "message", "titleIcon"}),
    "Reminder": ("reminder-field", set()),
    "Phone": ("phone-field", {"types", "type", "callingPrefix"}),
    "Companies": ("select-multiple-field", {"options", "labelKey", "valueKey"}),
    "Contacts": ("select-multiple-field", {"options", "labelKey", "valueKey"}),
    "Deals": ("select-multiple-field", {"options", "labelKey", "valueKey"}),
    "ActivityDueDate": ("activity-due-date-field", set()),
    "ActivityEndDate": ("activity-end-date-field", set()),
    "GuestsSelect": ("guests-select-field", set()),
}
CUSTOM_FIELD_KEYS = {"id", "field_type", "resource_name", "field_id", "label", "is_unique",
                     "created_at", "updated_at", "was_recently_created"}

# -- each resource's built-in fields: (attribute, class, required with intent, unique) -----------
# Order is Concord's: declaration order, associations (order 1001/1002) last, custom fields
# before them. "C"/"U": described on the create / update form.

CONTACTS = [
    ("first_name", "Text", True, False, "CU"), ("last_name", "Text", False, False, "CU"),
    ("email", "Email", False, True, "CU"), ("phones", "Phone", False, True, "CU"),
    ("tags", "Tags", False, False, "CU"), ("user_id", "User", False, False, "CU"),
    ("source_id", "Source", False, False, "CU"),
    ("job_title", "Text", False, False, "U"), ("street", "Text", False, False, "U"),
    ("city", "Text", False, False, "U"), ("state", "Text", False, False, "U"),
    ("postal_code", "Text", False, False, "U"), ("country_id", "Country", False, False, "U"),
    ("companies", "Companies", False, False, "CU"), ("deals", "Deals", False, False, "CU"),
]
COMPANIES = [
    ("name", "Text", True, False, "CU"), ("domain", "Domain", False, False, "CU"),
    ("email", "Email", False, True, "CU"), ("phones", "Phone", False, False, "CU"),
    ("tags", "Tags", False, False, "CU"), ("source_id", "Source", False, False, "U"),
    ("parent_company_id", "Company", False, False, "U"),
    ("street", "Text", False, False, "U"), ("city", "Text", False, False, "U"),
    ("state", "Text", False, False, "U"), ("postal_code", "Text", False, False, "U"),
    ("country_id", "Country", False, False, "U"), ("user_id", "User", False, False, "CU"),
    ("deals", "Deals", False, False, "CU"), ("contacts", "Contacts", False, False, "CU"),
]
DEALS = [
    ("name", "Text", True, False, "CU"), ("pipeline_id", "Pipeline", True, False, "C"),
    ("stage_id", "PipelineStage", True, False, "C"), ("amount", "Amount", False, False, "CU"),
    ("expected_close_date", "Date", False, False, "CU"), ("tags", "Tags", False, False, "CU"),
    ("user_id", "User", False, False, "CU"),
    ("contacts", "Contacts", False, False, "CU"), ("companies", "Companies", False, False, "CU"),
]
PRODUCTS = [
    ("name", "Text", True, True, "CU"), ("sku", "Text", False, True, "CU"),
    ("description", "Textarea", False, False, "CU"), ("unit_price", "Numeric", True, False, "CU"),
    ("direct_cost", "Numeric", False, False, "CU"), ("tax_rate", "Numeric", False, False, "CU"),
    ("tax_label", "Text", False, False, "CU"), ("unit", "Text", False, False, "CU"),
    ("is_active", "Boolean", False, False, "CU"),
]
ACTIVITIES = [
    ("title", "Text", True, False, "CU"), ("activity_type_id", "ActivityType", False, False, "CU"),
    ("due_date", "ActivityDueDate", True, False, "CU"),
    ("end_date", "ActivityEndDate", False, False, "CU"),
    ("reminder_minutes_before", "Reminder", False, False, "CU"),
    ("user_id", "User", True, False, "CU"), ("guests", "GuestsSelect", False, False, "CU"),
    ("description", "Editor", False, False, "CU"), ("note", "Editor", False, False, "CU"),
    (None, "Heading", False, False, "CU"),
    ("contacts", "Contacts", False, False, "CU"), ("companies", "Companies", False, False, "CU"),
    ("deals", "Deals", False, False, "CU"),
]
NOTES = [("body", "Editor", True, False, "CU")]
RESOURCES = {"contacts": CONTACTS, "companies": COMPANIES, "deals": DEALS,
             "products": PRODUCTS, "activities": ACTIVITIES, "notes": NOTES}
# Accepted by store/update, described on neither form.
NEVER_DESCRIBED = {"companies": {"industry_id"},
                   "deals": {"status", "lost_reason", "swatch_color"},
                   "activities": {"is_completed"}}
BELONGS_TO_RELATION = {"user_id": "user", "source_id": "source", "country_id": "country",
                       "parent_company_id": "parent", "pipeline_id": "pipeline",
                       "stage_id": "stage", "activity_type_id": "type"}
CUSTOM_COMPONENTS = {
    "Text": "text-field", "Textarea": "textarea-field", "Email": "email-field",
    "Url": "url-field", "Number": "number-field", "Numeric": "numeric-field",
    "Date": "date-field", "DateTime": "date-time-field", "Boolean": "boolean-field",
    "ColorSwatch": "color-swatch-field", "Timezone": "timezone-field",
    "Select": "select-field", "Radio": "radio-field", "Checkbox": "checkbox-field",
    "MultiSelect": "select-multiple-field",
}


def described(sb: Any, resource: str, *, form: str = "create", intent: str | None = "create",
              token: str | None = None) -> list[dict[str, Any]]:
    params = {"intent": intent} if intent else {}
    if form == "create":
        path = f"/api/{resource}/create-fields"
    else:
        record = ok(api(sb, "GET", f"/api/{resource}", params={"per_page": 1}))["data"]
        rid = record[0]["id"] if record else _make(sb, resource)["id"]
        path = f"/api/{resource}/{rid}/update-fields"
    args = (sb, "GET", path) if token is None else (sb, "GET", path, token)
    items = ok(api(*args, params=params))
    assert isinstance(items, list), "a bare JSON array, no data wrapper"
    return items


def _make(sb: Any, resource: str) -> dict[str, Any]:
    if resource == "products":
        return create(sb, "products", {"name": uniq("P"), "unit_price": 5})
    if resource == "activities":
        return create(sb, "activities", {"title": uniq("A"), "due_date": "2024-05-01",
                                         "user_id": 1})
    contact = create(sb, "contacts", {"first_name": uniq("N")})
    return create(sb, "notes", {"body": "x", "contacts": [contact["id"]],
                                "via_resource": "contacts", "via_resource_id": contact["id"]})


def _check_keys(item: dict[str, Any], cls: str) -> None:
    component, extra = CLASSES[cls]
    assert item["component"] == component, (item["attribute"], item["component"])
    keys = set(item)
    assert keys >= BASE_KEYS, (item["attribute"], BASE_KEYS - keys)
    assert extra <= keys, (item["attribute"], extra - keys)
    unlisted = keys - BASE_KEYS - extra - META_KEYS
    assert not unlisted, f"{item['attribute']}: keys Concord does not send: {sorted(unlisted)}"


@pytest.mark.parametrize("resource", list(RESOURCES))
@pytest.mark.parametrize("form", ["create", "update"])
def test_builtin_fields_in_concord_order_with_class_keys(shared: Any, resource: str,
                                                         form: str) -> None:
    items = [i for i in described(shared, resource, form=form, intent=form)
             if i["customField"] is None]
    flag = "C" if form == "create" else "U"
    expected = [row for row in RESOURCES[resource] if flag in row[4]]
    assert [i["attribute"] for i in items] == [row[0] for row in expected]
    for item, (attribute, cls, required, unique, forms) in zip(items, expected, strict=True):
        _check_keys(item, cls)
        if cls != "Heading":
            assert item["isRequired"] is required, attribute
            assert item["isUnique"] is unique, attribute
        assert item["showOnCreation"] is ("C" in forms), attribute
        assert item["showOnUpdate"] is ("U" in forms), attribute
        assert item["formComponent"] == f"form-{item['component']}"
        assert "type" not in item or cls in ("Phone", "Tags")
        assert "relatedResource" not in item and "order" not in item and "rules" not in item


@pytest.mark.parametrize("resource", list(RESOURCES))
def test_fields_hidden_on_both_forms_are_never_described(shared: Any, resource: str) -> None:
    hidden = NEVER_DESCRIBED.get(resource, set())
    for form in ("create", "update"):
        attributes = {i["attribute"] for i in described(shared, resource, form=form)}
        assert not attributes & hidden, (form, attributes & hidden)


@pytest.mark.parametrize("resource", ["contacts", "companies", "deals", "products"])
def test_every_custom_field_is_a_custom_field_resource(shared: Any, resource: str) -> None:
    if resource == "products":                       # the demo seed has none: add two
        for body in ({"field_type": "Select", "field_id": "cf_probe_grade",
                      "options": [{"name": "A"}, {"name": "B"}]},
                     {"field_type": "Text", "field_id": "cf_probe_code", "is_unique": True}):
            existing = {i["attribute"] for i in described(shared, "products")}
            if body["field_id"] not in existing:
                ok(api(shared, "POST", "/api/custom-fields",
                       json={"resource_name": "products", "label": body["field_id"], **body}),
                   201)
    items = [i for i in described(shared, resource) if i["customField"] is not None]
    assert items, resource
    for item in items:
        definition = item["customField"]
        ftype = definition["field_type"]
        cls = ftype if ftype in CLASSES else "Text"
        _check_keys(item, cls)
        assert item["component"] == CUSTOM_COMPONENTS[ftype]
        assert definition["field_id"] == item["attribute"] and item["attribute"].startswith("cf_")
        assert definition["resource_name"] == resource
        options = ftype in ("Select", "Radio", "Checkbox", "MultiSelect")
        expected = CUSTOM_FIELD_KEYS | ({"options"} if options else set())
        assert set(definition) == expected, item["attribute"]
        if options:
            assert (item["valueKey"], item["labelKey"]) == ("id", "name")
            assert item["acceptLabelAsValue"] is True and item["optionsViaResource"] is None
            assert item["displayAsBadges"] is True
            assert ("eachOnNewLine" in item) is (ftype in ("Checkbox", "MultiSelect"))
            assert all(set(o) == {"id", "name", "swatch_color"} for o in item["options"])
            assert {o["id"] for o in item["options"]} == {o["id"] for o in definition["options"]}
            assert all(set(o) == {"id", "custom_field_id", "name", "swatch_color",
                                  "display_order"} for o in definition["options"])
        else:
            assert "options" not in item, item["attribute"]
        assert item["isUnique"] is bool(definition["is_unique"])


def test_relation_keys_name_relations_not_resources(shared: Any) -> None:
    for resource in ("contacts", "companies", "deals", "activities"):
        for form in ("create", "update"):
            for item in described(shared, resource, form=form):
                attribute = item["attribute"]
                if attribute in BELONGS_TO_RELATION and item["customField"] is None:
                    assert item["belongsToRelation"] == BELONGS_TO_RELATION[attribute]
    contacts = {i["attribute"]: i for i in described(shared, "contacts", form="update")}
    assert contacts["user_id"]["indexComponent"] == "index-user-field"
    assert contacts["user_id"]["optionsViaResource"] is None
    assert contacts["source_id"]["optionsViaResource"] == "sources"
    assert contacts["country_id"]["optionsViaResource"] is None
    assert contacts["country_id"]["acceptLabelAsValue"] is True
    assert contacts["email"]["detailComponent"] == "detail-email-sendable-field"
    assert contacts["phones"]["indexComponent"] == "index-phone-callable-field"
    companies = {i["attribute"]: i for i in described(shared, "companies", form="update")}
    parent = companies["parent_company_id"]
    assert parent["onOptionClick"]["resourceName"] == "companies"
    assert parent["asyncUrl"] == "/companies/search"
    assert parent["lazyLoad"]["url"] == "/companies"
    deals = {i["attribute"]: i for i in described(shared, "deals")}
    assert deals["stage_id"]["dependsOn"] == "pipeline_id"
    activities = {i["attribute"]: i for i in described(shared, "activities")}
    assert activities["activity_type_id"]["optionsViaResource"] == "activity-types"


def test_associations_are_not_optionable(shared: Any) -> None:
    for resource in ("contacts", "companies", "deals", "activities"):
        for item in described(shared, resource):
            if item["attribute"] not in ("contacts", "companies", "deals"):
                continue
            name = item["attribute"]
            assert "acceptLabelAsValue" not in item and "optionsViaResource" not in item
            assert "belongsToRelation" not in item
            assert item["options"] == []
            assert item["onOptionClick"]["resourceName"] == name
            assert item["asyncUrl"] == f"/{name}/search"
            assert item["lazyLoad"]["url"] == f"/{name}"
            assert item["labelKey"] == ("display_name" if name == "contacts" else "name")
            assert item["valueKey"] == "id"


def test_type_keys_are_not_field_types(shared: Any) -> None:
    contacts = {i["attribute"]: i for i in described(shared, "contacts")}
    assert contacts["phones"]["type"] == "mobile"
    assert contacts["phones"]["types"] == {"mobile": "Mobile", "work": "Work", "other": "Other"}
    assert contacts["tags"]["type"] == "contacts"
    companies = {i["attribute"]: i for i in described(shared, "companies")}
    assert companies["tags"]["type"] == "contacts"
    deals = {i["attribute"]: i for i in described(shared, "deals")}
    assert deals["tags"]["type"] == "deals"


def test_amount_and_money_fields(shared: Any) -> None:
    deals = {i["attribute"]: i for i in described(shared, "deals")}
    amount = deals["amount"]
    assert amount["onlyProducts"] is False
    assert amount["attributes"]["minus"] is True
    assert amount["currency"]["iso_code"] == "USD"
    assert amount["detailComponent"] == "detail-billable-amount-field"
    products = {i["attribute"]: i for i in described(shared, "products")}
    assert products["unit_price"]["currency"]["iso_code"] == "USD"
    assert products["tax_rate"]["appendText"] == "%"
    assert "onlyProducts" not in products["unit_price"]


def test_intent_decides_is_required(shared: Any) -> None:
    plain = {i["attribute"]: i for i in described(shared, "products", intent=None)}
    assert plain["unit_price"]["isRequired"] is False
    create_ = {i["attribute"]: i for i in described(shared, "products", intent="create")}
    assert create_["unit_price"]["isRequired"] is True
    update = {i["attribute"]: i for i in described(shared, "products", form="update",
                                                   intent="update")}
    assert update["unit_price"]["isRequired"] is True
    assert plain["name"]["isRequired"] is True


def test_notes_body_has_no_label_and_activity_heading_no_attribute(shared: Any) -> None:
    (body,) = described(shared, "notes")
    assert body["attribute"] == "body" and body["label"] is None
    heading = next(i for i in described(shared, "activities") if i["component"] == "heading-field")
    assert heading["attribute"] is None and heading["label"] is None
    assert heading["titleIcon"] == "Link"


def test_user_field_default_is_the_current_user(shared: Any) -> None:
    mine = {i["attribute"]: i for i in described(shared, "contacts", token=SAM)}
    assert mine["user_id"]["value"]["id"] == 2
    assert {"id", "name", "avatar_url"} == set(mine["user_id"]["value"])


def test_update_fields_need_an_existing_record(shared: Any) -> None:
    resp = api(shared, "GET", "/api/contacts/999999/update-fields")
    assert resp.status_code == 404
    assert api(shared, "GET", "/api/contacts/update-fields").status_code in (404, 405)


def test_writes_accept_fields_the_create_form_does_not_describe(shared: Any) -> None:
    contact = create(shared, "contacts", {"first_name": uniq("Job"), "job_title": "CTO",
                                          "city": "Karachi", "country_id": "PK"})
    assert (contact["job_title"], contact["city"], contact["country_id"]) == ("CTO", "Karachi",
                                                                              586)
    company = create(shared, "companies", {"name": uniq("Co"), "industry_id": "Software",
                                           "city": "Santiago", "country_id": "Chile",
                                           "domain": "https://www.acme-cl.example/about"})
    assert company["industry_id"] is not None and company["country_id"] == 152
    assert company["domain"] == "www.acme-cl.example"
    activity = create(shared, "activities", {"title": uniq("Act"), "due_date": "2024-05-01",
                                             "user_id": 1, "is_completed": True})
    assert activity["is_completed"] is True


# -- reference data -----------------------------------------------------------------------------


def test_every_iso_country_with_iso_numeric_ids(shared: Any) -> None:
    countries = ok(api(shared, "GET", "/api/countries"))
    assert len(countries) >= 245
    by_name = {c["name"]: c["id"] for c in countries}
    assert (by_name["Pakistan"], by_name["Kuwait"], by_name["Chile"]) == (586, 414, 152)
    assert len({c["id"] for c in countries}) == len(countries)
    for code in ("KW", "KWT", "Kuwait"):
        made = create(shared, "contacts", {"first_name": uniq("K"), "country_id": code})
        assert made["country_id"] == 414, code


def test_time_zones_as_php_lists_them(shared: Any) -> None:
    zones = ok(api(shared, "GET", "/api/timezones"))
    assert {"Asia/Karachi", "Asia/Kuwait", "America/Santiago", "Europe/London", "UTC"} <= set(zones)
    assert len(zones) > 400


def test_currencies_keyed_by_iso_code(shared: Any) -> None:
    money = ok(api(shared, "GET", "/api/currencies"))
    assert isinstance(money, dict) and len(money) > 100
    keys = {"name", "code", "precision", "subunit", "symbol", "symbol_first", "decimal_mark",
            "thousands_separator"}
    for code in ("USD", "EUR", "PKR", "KWD", "CLP"):
        assert set(money[code]) == keys, code
    assert money["KWD"]["precision"] == 3 and money["CLP"]["precision"] == 0

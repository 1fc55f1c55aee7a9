"""Fixtures of the mapping tests: CRM fields as Concord describes them, draft helpers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from concord_etl.crm.fields import ResourceFields, merge_fields
from tests.helpers import DATA


def builtins(resource: str) -> list[dict[str, Any]]:
    """Concord's built-in descriptors (create + update forms), written from the reference."""
    data = json.loads((DATA / "descriptors" / f"{resource}.json").read_text(encoding="utf-8"))
    return [d for d in [*data["create"], *data["update"]] if d.get("customField") is None]


def custom(field_id: str, label: str, field_type: str, *, unique: bool = False,
           options: tuple[str, ...] = ()) -> dict[str, Any]:
    """A custom field's descriptor with Concord's keys (component + customField)."""
    item: dict[str, Any] = {
        "component": CUSTOM_COMPONENTS[field_type], "attribute": field_id, "label": label,
        "isRequired": False, "isUnique": unique,
        "customField": {"id": 1, "field_type": field_type, "field_id": field_id,
                        "label": label, "is_unique": unique},
    }
    if options:
        item.update(acceptLabelAsValue=True, valueKey="id", labelKey="name",
                    optionsViaResource=None,
                    options=[{"id": 10 + i, "name": n, "swatch_color": None}
                             for i, n in enumerate(options)])
    return item


CUSTOM_COMPONENTS = {
    "Text": "text-field", "Textarea": "textarea-field", "Email": "email-field",
    "Url": "url-field", "Number": "number-field", "Numeric": "numeric-field",
    "Date": "date-field", "DateTime": "date-time-field", "Boolean": "boolean-field",
    "Select": "select-field", "MultiSelect": "select-multiple-field",
}


@pytest.fixture
def contact_fields() -> ResourceFields:
    return merge_fields("contacts", [
        *builtins("contacts"),
        custom("cf_customer_tier", "Customer Tier", "Select",
               options=("Bronze", "Silver", "Gold", "Platinum")),
        custom("cf_interests", "Interests", "MultiSelect",
               options=("Analytics", "Automation", "Integrations", "Reporting", "Support")),
        custom("cf_signup_date", "Signup Date", "Date"),
        custom("cf_last_seen_at", "Last Seen At", "DateTime"),
        custom("cf_newsletter", "Newsletter", "Boolean"),
        custom("cf_lead_score", "Lead Score", "Number"),
        custom("cf_budget", "Budget", "Numeric"),
        custom("cf_alt_email", "Alternative Email", "Email"),
        custom("cf_external_id", "External Id", "Text", unique=True),
        custom("cf_bio", "Bio", "Textarea"),
    ])


@pytest.fixture
def company_fields() -> ResourceFields:
    return merge_fields("companies", [
        *builtins("companies"),
        custom("cf_account_number", "Account Number", "Text", unique=True),
        custom("cf_segment", "Segment", "Select", options=("SMB", "Mid-Market", "Enterprise")),
        custom("cf_employees", "Employees", "Number"),
        custom("cf_founded_on", "Founded On", "Date"),
    ])


@pytest.fixture
def deal_fields() -> ResourceFields:
    return merge_fields("deals", [
        *builtins("deals"),
        custom("cf_deal_type", "Deal Type", "Select",
               options=("New Business", "Renewal", "Upsell")),
    ])

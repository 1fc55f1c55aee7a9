"""Per-resource field definitions and rules (what Concord 1.5.1 declares for each resource)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Field:
    attribute: str
    label: str
    type: str                        # Text, Email, Decimal, BelongsTo, Phone, Tags, Association...
    required: bool = False           # create: required; update: filled
    always_required: bool = False    # required on update too (lookups, notes)
    unique: bool = False
    max_length: int | None = None
    related: str | None = None       # BelongsTo / Association target resource
    creates: bool = False            # BelongsTo: unknown label creates the related record
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    date_only_allowed: bool = False  # activity dates: plain date stays a date
    listed: bool = True              # described at all (create-/update-fields)
    form: str = ""                   # Concord's field class for descriptors ("" = from type)
    on_create: bool = True           # in create-fields (False: hideWhenCreating / hidden)
    on_update: bool = True           # in update-fields (False: hideWhenUpdating / hidden)
    required_by_intent: bool = False  # isRequired only when ?intent=create|update is sent
    ids_only: bool = False           # BelongsTo that takes a numeric id only (call outcome)


@dataclass(frozen=True)
class Resource:
    name: str
    model: str                       # FQCN used in 404 messages
    singular: str                    # "Contact" (association 400 message)
    fields: tuple[Field, ...]
    display: str = "name"
    default_order: tuple[str, str] = ("name", "asc")
    soft_delete: bool = False
    custom_fields: bool = False
    unique_custom_fields: bool = False
    admin_write: bool = False        # writes need a super admin
    searchable: bool = True
    detail_path: bool = False
    associable: tuple[str, ...] = ()
    search_fields: tuple[tuple[str, str], ...] = ()
    tag_type: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def field(self, attribute: str) -> Field | None:
        for item in self.fields:
            if item.attribute == attribute:
                return item
        return None


def _text(attr: str, label: str, **kw: object) -> Field:
    return Field(attr, label, "Text", max_length=191, **kw)  # type: ignore[arg-type]


def _address() -> tuple[Field, ...]:
    """Address fields: shown only when editing (Concord's ``hideWhenCreating``), accepted always."""
    return (
        _text("street", "Street Address", on_create=False),
        _text("city", "City", on_create=False),
        _text("state", "State/Region", on_create=False),
        _text("postal_code", "Postal Code", on_create=False),
        Field("country_id", "Country", "BelongsTo", related="countries", form="Country",
              on_create=False),
    )


_OWNER = Field("user_id", "Owner", "BelongsTo", related="users", form="User")
_SOURCE = Field("source_id", "Source", "BelongsTo", related="sources", creates=True,
                form="Source")
_ADDRESS_SEARCH = (("street", "like"), ("city", "like"), ("state", "like"),
                   ("postal_code", "like"), ("country_id", "="), ("country.name", "like"))
_OWNER_SEARCH = (("user_id", "="), ("user.name", "like"))


def _assoc(*names: str) -> tuple[Field, ...]:
    labels = {"contacts": "Contacts", "companies": "Companies", "deals": "Deals"}
    return tuple(Field(n, labels[n], "Association", related=n, form=labels[n]) for n in names)


CONTACTS = Resource(
    name="contacts", model="Modules\\Contacts\\Models\\Contact", singular="Contact",
    fields=(
        _text("first_name", "First Name", required=True),
        _text("last_name", "Last Name"),
        Field("email", "E-Mail Address", "Email", unique=True, max_length=191),
        Field("phones", "Phone", "Phone", unique=True),
        Field("tags", "Tags", "Tags"),
        _OWNER,
        _SOURCE,
        _text("job_title", "Job Name", on_create=False),
        *_address(),
        *_assoc("companies", "deals"),
    ),
    display="full_name", default_order=("first_name", "asc"), soft_delete=True,
    custom_fields=True, unique_custom_fields=True, detail_path=True,
    associable=("companies", "deals", "activities", "notes", "calls"), tag_type="contacts",
    search_fields=(("first_name", "like"), ("last_name", "like"), ("email", "like"),
                   ("phones.number", "like"), ("job_title", "like"), *_ADDRESS_SEARCH,
                   ("source_id", "="), ("source.name", "like"), *_OWNER_SEARCH,
                   ("full_name", "like"), ("id", "=")),
)

COMPANIES = Resource(
    name="companies", model="Modules\\Contacts\\Models\\Company", singular="Company",
    fields=(
        _text("name", "Name", required=True),
        Field("domain", "Domain Name", "Domain", max_length=191),
        Field("email", "E-Mail Address", "Email", unique=True, max_length=191),
        Field("industry_id", "Industry", "BelongsTo", related="industries", creates=True,
              form="Industry", on_create=False, on_update=False),
        Field("phones", "Phone", "Phone"),
        Field("tags", "Tags", "Tags"),
        replace(_SOURCE, on_create=False),
        Field("parent_company_id", "Parent Company", "BelongsTo", related="companies",
              form="Company", on_create=False),
        *_address(),
        _OWNER,
        *_assoc("deals", "contacts"),
    ),
    soft_delete=True, custom_fields=True, unique_custom_fields=True, detail_path=True,
    associable=("contacts", "deals", "activities", "notes", "calls"), tag_type="contacts",
    search_fields=(("name", "like"), ("domain", "like"), ("email", "like"),
                   ("phones.number", "like"), *_ADDRESS_SEARCH, ("industry_id", "="),
                   ("industry.name", "like"), ("source_id", "="), ("source.name", "like"),
                   ("parent_company_id", "="), ("parent.name", "like"), *_OWNER_SEARCH,
                   ("id", "=")),
)

DEALS = Resource(
    name="deals", model="Modules\\Deals\\Models\\Deal", singular="Deal",
    fields=(
        _text("name", "Name", required=True),
        Field("pipeline_id", "Pipeline", "BelongsTo", related="pipelines", creates=True,
              form="Pipeline", on_update=False),
        Field("stage_id", "Stage", "BelongsTo", related="pipeline-stages", required=True,
              form="PipelineStage", on_update=False),
        Field("amount", "Amount", "Decimal", form="Amount"),
        Field("expected_close_date", "Expected Close Date", "Date"),
        Field("tags", "Tags", "Tags"),
        Field("status", "Status", "Enum", choices=("open", "won", "lost"), form="Text",
              on_create=False, on_update=False),
        _text("lost_reason", "Lost Reason", form="LostReasonField", on_create=False,
              on_update=False),
        _OWNER,
        *_assoc("contacts", "companies"),
        Field("swatch_color", "Color", "ColorSwatch", on_create=False, on_update=False),
    ),
    soft_delete=True, custom_fields=True, detail_path=True,
    associable=("contacts", "companies", "activities", "notes", "calls"), tag_type="deals",
    search_fields=(("name", "like"), ("pipeline_id", "="), ("stage_id", "="),
                   ("stage.name", "like"), ("status", "="), *_OWNER_SEARCH, ("id", "=")),
)

PRODUCTS = Resource(
    name="products", model="Modules\\Billable\\Models\\Product", singular="Product",
    fields=(
        _text("name", "Name", required=True, unique=True),
        _text("sku", "SKU", unique=True),
        Field("description", "Description", "Textarea"),
        Field("unit_price", "Unit Price", "Numeric", required=True, minimum=0,
              required_by_intent=True),
        Field("direct_cost", "Direct Cost", "Numeric", minimum=0),
        Field("tax_rate", "Tax Rate", "Numeric", minimum=0, maximum=100),
        _text("tax_label", "Tax Label"),
        _text("unit", "Unit"),
        Field("is_active", "Active", "Boolean"),
    ),
    soft_delete=True, custom_fields=True, unique_custom_fields=True,
    search_fields=(("name", "like"), ("sku", "="), ("description", "like"), ("id", "=")),
)

ACTIVITIES = Resource(
    name="activities", model="Modules\\Activities\\Models\\Activity", singular="Activity",
    fields=(
        _text("title", "Title", required=True),
        Field("activity_type_id", "Activity Type", "BelongsTo", related="activity-types",
              form="ActivityType"),
        Field("due_date", "Due Date", "DateTime", required=True, date_only_allowed=True,
              form="ActivityDueDate"),
        Field("end_date", "End Date", "DateTime", date_only_allowed=True,
              form="ActivityEndDate"),
        Field("reminder_minutes_before", "Reminder", "Number", minimum=1, maximum=40320,
              form="Reminder"),
        Field("user_id", "Owner", "BelongsTo", related="users", required=True, form="User"),
        Field("guests", "Guests", "Guests", form="GuestsSelect"),
        Field("description", "Description", "Textarea", form="Editor"),
        Field("note", "Note", "Textarea", form="Editor"),
        *_assoc("contacts", "companies", "deals"),
        Field("is_completed", "Completed", "Boolean", on_create=False, on_update=False),
    ),
    display="title", default_order=("title", "asc"), soft_delete=True, detail_path=True,
    associable=("contacts", "companies", "deals"),
    search_fields=(("title", "like"), ("activity_type_id", "="), *_OWNER_SEARCH, ("id", "=")),
)

NOTES = Resource(
    name="notes", model="Modules\\Notes\\Models\\Note", singular="Note",
    fields=(
        Field("body", "Body", "Textarea", required=True, always_required=True, form="Editor"),
        Field("via_resource", "Via Resource", "Enum", required=True, always_required=True,
              choices=("contacts", "companies", "deals"), listed=False),
        Field("via_resource_id", "Via Resource ID", "Number", required=True,
              always_required=True, listed=False),
        *(replace(f, listed=False) for f in _assoc("contacts", "companies", "deals")),
    ),
    display="body", default_order=("id", "asc"),
    associable=("contacts", "companies", "deals"),
    search_fields=(("body", "like"), ("id", "=")),
)

CALLS = Resource(
    name="calls", model="Modules\\Calls\\Models\\Call", singular="Call",
    fields=(
        Field("call_outcome_id", "Outcome", "BelongsTo", related="call-outcomes", required=True,
              ids_only=True),
        Field("date", "Date", "DateTime", required=True),
        Field("body", "Note", "Textarea", required=True),
        Field("via_resource", "Via Resource", "Enum", choices=("contacts", "companies", "deals"),
              listed=False),
        Field("via_resource_id", "Via Resource ID", "Number", listed=False),
        *_assoc("contacts", "companies", "deals"),
    ),
    display="body", default_order=("id", "asc"),
    associable=("contacts", "companies", "deals"),
    search_fields=(("body", "like"), ("call_outcome_id", "="), ("id", "=")),
)


def _lookup(name: str, model: str, singular: str, *extra: Field) -> Resource:
    return Resource(
        name=name, model=model, singular=singular,
        fields=(_text("name", "Name", required=True, always_required=True, unique=True), *extra),
        admin_write=True, search_fields=(("name", "like"), ("id", "=")),
    )


SOURCES = _lookup("sources", "Modules\\Contacts\\Models\\Source", "Source")
INDUSTRIES = _lookup("industries", "Modules\\Contacts\\Models\\Industry", "Industry")
CALL_OUTCOMES = _lookup(
    "call-outcomes", "Modules\\Calls\\Models\\CallOutcome", "Call Outcome",
    Field("swatch_color", "Color", "ColorSwatch"),
)
ACTIVITY_TYPES = _lookup(
    "activity-types", "Modules\\Activities\\Models\\ActivityType", "Activity Type",
    Field("icon", "Icon", "Text", required=True, always_required=True, unique=True, max_length=50),
    Field("swatch_color", "Color", "ColorSwatch", required=True, always_required=True),
)
PIPELINES = Resource(
    name="pipelines", model="Modules\\Deals\\Models\\Pipeline", singular="Pipeline",
    fields=(_text("name", "Name", required=True, always_required=True, unique=True),),
    default_order=("id", "asc"), admin_write=True, searchable=False,
)
STAGES = Resource(
    name="pipeline-stages", model="Modules\\Deals\\Models\\Stage", singular="Stage",
    fields=(
        Field("pipeline_id", "Pipeline", "BelongsTo", related="pipelines", required=True,
              always_required=True),
        _text("name", "Name", required=True, always_required=True),
        Field("win_probability", "Win Probability", "Number", required=True,
              always_required=True, minimum=0, maximum=100),
        Field("display_order", "Display Order", "Number"),
    ),
    default_order=("display_order", "asc"), admin_write=True,
    search_fields=(("name", "like"), ("pipeline_id", "="), ("id", "=")),
)
USERS = Resource(
    name="users", model="Modules\\Users\\Models\\User", singular="User",
    fields=(
        _text("name", "Name", required=True, always_required=True),
        Field("email", "E-Mail Address", "Email", required=True, always_required=True,
              unique=True, max_length=191),
        Field("timezone", "Timezone", "Timezone", required=True, always_required=True),
        Field("super_admin", "Super Admin", "Boolean"),
        Field("access_api", "API Access", "Boolean"),
    ),
    admin_write=True, search_fields=(("name", "like"), ("email", "=")),
)

RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (CONTACTS, COMPANIES, DEALS, PRODUCTS, ACTIVITIES, NOTES, CALLS, SOURCES,
              INDUSTRIES, ACTIVITY_TYPES, CALL_OUTCOMES, PIPELINES, STAGES, USERS)
}
# Record collections (incl. read-only countries) in the order a state dump shows them.
RECORD_RESOURCES = ("contacts", "companies", "deals", "products", "activities", "notes", "calls")
LOOKUP_RESOURCES = ("pipelines", "pipeline-stages", "sources", "industries", "activity-types",
                    "call-outcomes", "users", "countries")
RELATION_KEYS = {
    "user": ("user_id", "users"), "source": ("source_id", "sources"),
    "country": ("country_id", "countries"), "industry": ("industry_id", "industries"),
    "stage": ("stage_id", "pipeline-stages"), "pipeline": ("pipeline_id", "pipelines"),
    "parent": ("parent_company_id", "companies"), "type": ("activity_type_id", "activity-types"),
    "outcome": ("call_outcome_id", "call-outcomes"),
}

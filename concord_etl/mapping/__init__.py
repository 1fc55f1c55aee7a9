"""Mappings: YAML files that tie spreadsheet columns to CRM fields (README "Mapping reference")."""

from concord_etl.mapping.draft import draft_for_table, draft_mapping, records_by_id
from concord_etl.mapping.loader import load_mapping, mapping_digest, mapping_from_dict
from concord_etl.mapping.model import (
    LOOKUP_RESOURCES,
    PHONE_TYPES,
    TRANSFORMS,
    AnyMapping,
    ColumnSpec,
    Lookup,
    Mapping,
    MatchSpec,
    ProductLines,
    RecordsMapping,
    RecordSpec,
    SourceHints,
)
from concord_etl.mapping.records import import_mapping_from_dict, load_import_mapping

__all__ = [
    "LOOKUP_RESOURCES",
    "PHONE_TYPES",
    "TRANSFORMS",
    "AnyMapping",
    "ColumnSpec",
    "Lookup",
    "Mapping",
    "MatchSpec",
    "ProductLines",
    "RecordSpec",
    "RecordsMapping",
    "SourceHints",
    "draft_for_table",
    "draft_mapping",
    "import_mapping_from_dict",
    "load_import_mapping",
    "load_mapping",
    "mapping_digest",
    "mapping_from_dict",
    "records_by_id",
]

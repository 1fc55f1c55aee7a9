"""Mappings: YAML files that tie spreadsheet columns to CRM fields (README "Mapping reference")."""

from concord_etl.mapping.draft import draft_mapping
from concord_etl.mapping.loader import load_mapping, mapping_digest, mapping_from_dict
from concord_etl.mapping.model import (
    LOOKUP_RESOURCES,
    PHONE_TYPES,
    TRANSFORMS,
    ColumnSpec,
    Lookup,
    Mapping,
    MatchSpec,
    SourceHints,
)

__all__ = [
    "LOOKUP_RESOURCES",
    "PHONE_TYPES",
    "TRANSFORMS",
    "ColumnSpec",
    "Lookup",
    "Mapping",
    "MatchSpec",
    "SourceHints",
    "draft_mapping",
    "load_mapping",
    "mapping_digest",
    "mapping_from_dict",
]

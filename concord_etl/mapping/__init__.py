"""Mappings: YAML files that tie spreadsheet columns to CRM fields (SPEC §3)."""

from concord_etl.mapping.model import ColumnSpec, Lookup, Mapping, MatchSpec, SourceHints

__all__ = ["ColumnSpec", "Lookup", "Mapping", "MatchSpec", "SourceHints"]

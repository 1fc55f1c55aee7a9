"""concord-etl: spreadsheets ⇄ Concord CRM, safely and at the speed the CRM allows.

The library is the product; the ``concord-etl`` command is its thinnest user. A script needs
only this module::

    import concord_etl as ce

    client = ce.connect()                          # CONCORD_URL / CONCORD_TOKEN / .env
    mapping = ce.load_mapping("mappings/leads-contacts.yaml")  # records: files: load_import_mapping
    checked = ce.validate_file("leads.csv", mapping, client=client)
    summary = ce.run_import("leads.csv", mapping, client, ce.ImportOptions(dry_run=True))
    undone = ce.revert_import("leads.csv", mapping, client)   # undo the last import
    ce.export_resource(client, "contacts", "contacts.xlsx")
    ce.run_report(client, ce.load_report("mappings/reports/weekly.yaml"))

The stages live in sub-packages, each importing only the ones below it::

    cli  →  demo  →  load | export  →  validate  →  read  →  mapping  →  crm | output  →  errors

``sandbox`` (the local Concord emulator) imports nothing else of the package.
Names are loaded on first use, so ``import concord_etl`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from concord_etl._version import __version__

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient, RetryPolicy
    from concord_etl.crm.connection import connect
    from concord_etl.crm.fields import FieldSpec, ResourceFields
    from concord_etl.errors import (
        AbortRun,
        ApiError,
        AuthError,
        ConcordError,
        ConfigError,
        CrmError,
        InputError,
        InputWarning,
        Interrupted,
        JournalError,
        MappingError,
        OutcomeUnknown,
        RateLimited,
        RecordRejected,
        RunLocked,
        TransportError,
        UnexpectedAnswer,
        Unreachable,
        UsageError,
        WriteFailed,
    )
    from concord_etl.export.exporter import ExportOptions, ExportSummary, export_resource
    from concord_etl.export.report import ReportSummary, load_report, run_report
    from concord_etl.load.revert import RevertOptions, RevertSummary, revert_import
    from concord_etl.load.run import ImportOptions, ImportSummary, run_import
    from concord_etl.mapping import (
        Mapping,
        RecordsMapping,
        draft_mapping,
        load_import_mapping,
        load_mapping,
    )
    from concord_etl.read import Table, open_table
    from concord_etl.run_log import RunLog
    from concord_etl.sandbox import Sandbox
    from concord_etl.settings import Settings, load_settings
    from concord_etl.validate.file import ValidationSummary, validate_file

_EXPORTS: dict[str, str] = {
    # connecting
    "ConcordClient": "concord_etl.crm.client",
    "RetryPolicy": "concord_etl.crm.client",
    "connect": "concord_etl.crm.connection",
    "Settings": "concord_etl.settings",
    "load_settings": "concord_etl.settings",
    "FieldSpec": "concord_etl.crm.fields",
    "ResourceFields": "concord_etl.crm.fields",
    "RunLog": "concord_etl.run_log",
    # files and mappings
    "Table": "concord_etl.read",
    "open_table": "concord_etl.read",
    "Mapping": "concord_etl.mapping",
    "load_mapping": "concord_etl.mapping",
    "load_import_mapping": "concord_etl.mapping",
    "RecordsMapping": "concord_etl.mapping",
    "draft_mapping": "concord_etl.mapping",
    # the runs
    "validate_file": "concord_etl.validate.file",
    "ValidationSummary": "concord_etl.validate.file",
    "run_import": "concord_etl.load.run",
    "ImportOptions": "concord_etl.load.run",
    "ImportSummary": "concord_etl.load.run",
    "revert_import": "concord_etl.load.revert",
    "RevertOptions": "concord_etl.load.revert",
    "RevertSummary": "concord_etl.load.revert",
    "export_resource": "concord_etl.export.exporter",
    "ExportOptions": "concord_etl.export.exporter",
    "ExportSummary": "concord_etl.export.exporter",
    "load_report": "concord_etl.export.report",
    "run_report": "concord_etl.export.report",
    "ReportSummary": "concord_etl.export.report",
    # the local emulator
    "Sandbox": "concord_etl.sandbox",
    # errors
    **dict.fromkeys(
        (
            "AbortRun", "ApiError", "AuthError", "ConcordError", "ConfigError", "CrmError",
            "InputError", "InputWarning", "Interrupted", "JournalError", "MappingError",
            "OutcomeUnknown", "RateLimited", "RecordRejected", "RunLocked", "TransportError",
            "UnexpectedAnswer", "Unreachable", "UsageError", "WriteFailed",
        ),
        "concord_etl.errors",
    ),
}

__all__ = [
    "AbortRun",
    "ApiError",
    "AuthError",
    "ConcordClient",
    "ConcordError",
    "ConfigError",
    "CrmError",
    "ExportOptions",
    "ExportSummary",
    "FieldSpec",
    "ImportOptions",
    "ImportSummary",
    "InputError",
    "InputWarning",
    "Interrupted",
    "JournalError",
    "Mapping",
    "MappingError",
    "OutcomeUnknown",
    "RateLimited",
    "RecordRejected",
    "RecordsMapping",
    "ReportSummary",
    "ResourceFields",
    "RetryPolicy",
    "RevertOptions",
    "RevertSummary",
    "RunLocked",
    "RunLog",
    "Sandbox",
    "Settings",
    "Table",
    "TransportError",
    "UnexpectedAnswer",
    "Unreachable",
    "UsageError",
    "ValidationSummary",
    "WriteFailed",
    "__version__",
    "connect",
    "draft_mapping",
    "export_resource",
    "load_import_mapping",
    "load_mapping",
    "load_report",
    "load_settings",
    "open_table",
    "revert_import",
    "run_import",
    "run_report",
    "validate_file",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        message = f"module 'concord_etl' has no attribute {name!r}"
        raise AttributeError(message)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})

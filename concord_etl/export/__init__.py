"""Exporting: CRM records paged out into workbooks and CSV files that people read.

``exporter`` exports one resource (``export_resource``); ``cell_values`` turns a record's values
into the cells people read (option labels, owner names, real dates); ``totals`` computes summary
tables; ``report`` runs a report definition (several sheets, summary charts) and
``report_state`` keeps its watermarks and the lock against overlapping runs.
"""

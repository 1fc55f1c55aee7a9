"""Loading: validated rows written to the CRM, exactly once, and the run's results file.

``run`` is an import run (``run_import``): it reads and validates chunks, asks ``decide`` what
each row needs (create, update with the changed fields, unchanged, skip), builds request bodies
with ``payloads`` just before sending, and lets ``sender`` write them paced and concurrent,
recording each intent and outcome in the ``journal`` so a rerun resumes without duplicates.
"""

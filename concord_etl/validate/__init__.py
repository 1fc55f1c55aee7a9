"""Validation: a file's cells judged against the CRM's field types before anything is sent.

``schema`` builds a ``Validator`` (the pandera schema and its per-type rules) from a mapping and
the CRM's fields (``declared_fields`` when offline); ``transforms`` prepare cells; ``rules``,
``number_rules`` and ``date_rules`` are the vectorised checks per field type; ``duplicates``
finds repeated match keys across chunks; ``chunk`` validates one chunk into normalised values
and one reason per failing cell; ``lookups`` and ``relations`` resolve related records (owner,
source, stage, companies) by name; ``file`` is the ``validate`` command over a whole file.
"""

"""Validation: a file's cells judged against the CRM's field types before anything is sent.

``schema`` builds a ``Validator`` (one pandera schema per mapping) from a mapping and the CRM's
fields (``declared_fields`` when offline); the field types live in ``checks`` (named cell
checks), ``text_types``, ``number_types``, ``date_types``, ``choice_types`` and ``key_types``;
``transforms`` prepare cells; ``chunk`` validates one chunk into typed values and every problem
of every row; ``duplicates`` and ``scan`` settle rows repeated across the whole file;
``lookups`` and ``relations`` resolve related records (owner, source, stage, companies);
``file`` is the ``validate`` command over a whole file; ``record_checks`` and ``record_file``
do the same for multi-record mappings (``records:``, deal products, notes/activities/calls).
"""

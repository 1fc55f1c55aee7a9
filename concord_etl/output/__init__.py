"""Files for people: typed columns, CSV and XLSX writers, results files, atomic writes.

``columns`` says what a column holds; ``csv_writer`` and ``xlsx_writer`` (with ``xlsx_cells``)
stream rows through the formula guard; ``atomic`` writes into a temp file and renames it into
place; ``results`` writes the per-row results file of an import or validation.
"""

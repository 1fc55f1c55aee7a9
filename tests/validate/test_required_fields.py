"""A mapping that leaves a field Concord requires on create unfed stops before any row is sent;
a pipeline default scopes the stage lookups."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import (
    TOKEN,
    last_json,
    live,
    read_results,
    run_cli,
    state,
    write_csv,
    write_mapping,
    writes,
)

ORDERS = ["Order ID", "Customer", "Discount"]
ROWS = [["CA-2016-152156", "Claire Gute", "0.2"], ["CA-2016-138688", "Darrin Van Huff", "0"]]


def test_unfed_required_fields_stop_the_import_before_anything_is_sent(
    sandbox, tmp_path: Path
) -> None:
    data = write_csv(tmp_path / "orders.csv", ORDERS, ROWS)
    mapping = write_mapping(tmp_path / "orders.yaml", """\
version: 1
resource: deals
columns:
  Discount: cf_discount
""")
    for command in (["import", str(data), "-m", str(mapping)],
                    ["validate", str(data), "-m", str(mapping), "--online"]):
        result = run_cli(command, url=sandbox.url, token=TOKEN)
        assert result.returncode == 2, result.stderr
        assert "no column or default gives Name (name), Stage (stage_id)" in result.stderr
        assert "orders.yaml" in result.stderr
    assert writes(sandbox.url) == []


def test_update_only_mappings_need_no_required_columns(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "people.csv", ["Email", "Job"], [["ada@example.com", "Admiral"]])
    mapping = write_mapping(tmp_path / "people.yaml", """\
version: 1
resource: contacts
match: {on: [email], when_missing: skip}
columns:
  Email: email
  Job: job_title
""")
    result = run_cli(["import", str(data), "-m", str(mapping), "--json"],
                     url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    summary = last_json(result.stdout)
    assert (summary["updated"], summary.get("created", 0)) == (1, 0)


def test_a_pipeline_default_scopes_the_stage(sandbox, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "orders.csv", ORDERS, ROWS)
    body = """\
version: 1
resource: deals
match: {on: [name]}
columns:
  Order ID: name
defaults:
  stage_id: Closed
"""
    ambiguous = write_mapping(tmp_path / "a.yaml", body)
    result = run_cli(["import", str(data), "-m", str(ambiguous)], url=sandbox.url, token=TOKEN)
    assert result.returncode == 2
    assert "exists in several pipelines" in result.stderr
    assert "a pipeline_id default" in result.stderr
    scoped = write_mapping(tmp_path / "orders.yaml",
                           body + "  pipeline_id: Partner Pipeline\n")
    result = run_cli(["import", str(data), "-m", str(scoped)], url=sandbox.url, token=TOKEN)
    assert result.returncode == 0, result.stderr
    crm = state(sandbox.url)
    pipelines = {p["id"]: p["name"] for p in crm["pipelines"]}
    stages = {s["id"]: (s["name"], pipelines[s["pipeline_id"]]) for s in crm["pipeline-stages"]}
    deals = [d for d in live(crm["deals"]) if d["name"].startswith("CA-2016-")]
    assert [stages[d["stage_id"]] for d in deals] == [("Closed", "Partner Pipeline")] * 2
    assert [r["_action"] for r in read_results(tmp_path / "orders.results.csv")] == [
        "created", "created"]

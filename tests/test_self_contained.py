"""The repository stands on its own: no file points at documents outside it.

Facts about the Concord API and the measured performance floors live in ``docs/``
(``concord-api.md``, ``performance-baselines.md``, ``field-descriptors.md``); product rules live
in the README. Code, tests and docs cite those, never a file a clone does not have. Citations of
the form "docs/concord-api.md §N" must name a section that exists.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO

DOCS = REPO / "docs"
# Written so that this file does not match itself.
OUTSIDE = re.compile(
    r"\.\./shared"                                   # the sibling folder of a checkout
    r"|shared[/]reference"                           # its reference folder
    r"|SPEC\.md|SPEC[ ]§"                            # the product specification
    r"|(?<![\w-])reference[/][\w-]+\.md"             # reference/<file>.md
    r"|(?<![\w-])reference[ ]§\d"                    # "reference §N"
    r"|concord-behaviou[r]s|(?<![\w-])perf[-]baselines"  # files that only exist outside
)
CITED_DOCS = ("concord-api", "performance-baselines")
CITATION = re.compile(r"(?:docs/)?(" + "|".join(CITED_DOCS) + r")\.md`?(?P<rest>[^\n]*)")
SECTION_REF = re.compile(r"§(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?")
HEADING = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", re.M)


def repository_files() -> list[Path]:
    """Tracked files plus new ones not ignored (so a file is checked before it is added)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO, capture_output=True, check=True, timeout=60,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout ({exc})")
    paths = [REPO / name for name in out.decode("utf-8").split("\0") if name]
    return [p for p in paths if p.is_file()]


def text_of(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def sections(doc: str) -> set[str]:
    return set(HEADING.findall(text_of(DOCS / f"{doc}.md")))


def test_no_file_points_outside_the_repository() -> None:
    files = repository_files()
    assert len(files) > 50, "git ls-files found almost nothing: is REPO right?"
    found = []
    for path in files:
        for number, line in enumerate(text_of(path).splitlines(), 1):
            match = OUTSIDE.search(line)
            if match:
                found.append(f"{path.relative_to(REPO)}:{number}: {match.group(0)!r}")
    assert not found, "references to files outside the repository:\n" + "\n".join(found)


def test_the_pattern_catches_what_it_must() -> None:
    dots = ".."
    for bad in (f"see {dots}/shared/x", "SPEC" + ".md", "SPEC" + " §7", "reference" + " §16",
                "reference" + "/concord-api.md", "concord-" + "behaviours.md §5",
                "(perf" + "-baselines §4)", "/work/shared/" + "refer" + "ence/x.md"):
        assert OUTSIDE.search(bad), bad
    for fine in ("docs/concord-api.md §7", "docs/performance-baselines.md §5",
                 'README "Mapping reference"', "cf_reference", "docs/field-descriptors.md"):
        assert not OUTSIDE.search(fine), fine


@pytest.mark.parametrize("doc", CITED_DOCS)
def test_cited_docs_have_numbered_sections_in_order(doc: str) -> None:
    numbers = [n for n in HEADING.findall(text_of(DOCS / f"{doc}.md")) if "." not in n]
    assert numbers == [str(i) for i in range(1, len(numbers) + 1)], numbers
    assert len(numbers) >= 8


def test_every_section_citation_exists() -> None:
    known = {doc: sections(doc) for doc in CITED_DOCS}
    missing = []
    for path in repository_files():
        if path.suffix not in {".py", ".md", ".txt", ".yaml", ".yml", ".toml", ".cfg"}:
            continue
        for number, line in enumerate(text_of(path).splitlines(), 1):
            for match in CITATION.finditer(line):
                # The section list ends at a ';' or at the next file named on the line.
                rest = re.split(r";|\.md", match.group("rest"))[0]
                for ref in SECTION_REF.finditer(rest):
                    for section in filter(None, ref.groups()):
                        if section not in known[match.group(1)]:
                            missing.append(f"{path.relative_to(REPO)}:{number}: "
                                           f"{match.group(1)}.md §{section}")
    assert not missing, "citations of sections that do not exist:\n" + "\n".join(missing)


@pytest.mark.parametrize("doc", CITED_DOCS)
def test_a_docs_own_section_references_exist(doc: str) -> None:
    """Cross-references inside a doc ("see §7") point at one of its own sections."""
    known = sections(doc)
    missing = []
    for number, line in enumerate(text_of(DOCS / f"{doc}.md").splitlines(), 1):
        if ".md" in line:      # a line that names another file is checked by the test above
            continue
        for ref in SECTION_REF.finditer(line):
            missing += [f"{doc}.md:{number}: §{s}" for s in filter(None, ref.groups())
                        if s not in known]
    assert not missing, "\n".join(missing)


def test_quoted_readme_sections_exist() -> None:
    """'README "Title"' in code, tests and docs names a heading the README has."""
    headings = {re.sub(r"[`*]", "", h).strip()
                for h in re.findall(r"^#{2,4} (.+)$", text_of(REPO / "README.md"), re.M)}
    missing = []
    for path in repository_files():
        if path.suffix not in {".py", ".md"} or path == Path(__file__).resolve():
            continue
        for number, line in enumerate(text_of(path).splitlines(), 1):
            for title in re.findall(r'README "([^"]+)"', line):
                if title not in headings:
                    missing.append(f"{path.relative_to(REPO)}:{number}: README {title!r}")
    assert not missing, "\n".join(missing)

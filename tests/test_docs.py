"""The Fortran API reference: every public procedure, generic interface and derived type of
the libraries carries a `!>` comment (what FORD turns into the reference), and `make docs`'s
FORD run builds a page for every module."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "fortran" / "src"


def public_names(text: str) -> set[str]:
    names = set()
    for match in re.finditer(r"^\s*public\s*::\s*((?:[^\n&]|&\s*\n)+)", text, re.M | re.I):
        names |= {n.strip().lower() for n in match.group(1).replace("&", "").split(",") if n.strip()}
    names |= {m.lower() for m in re.findall(r"^\s*type\s*,[^:]*public[^:]*::\s*(\w+)", text, re.M | re.I)}
    return names


def documented(lines: list[str], index: int) -> bool:
    """A `!>` block right above line `index` (other comment lines in between allowed)."""
    j = index - 1
    while j >= 0 and lines[j].strip().startswith("!") and not lines[j].strip().startswith("!>"):
        j -= 1
    return j >= 0 and lines[j].strip().startswith("!>")


def definitions(lines: list[str]) -> dict[str, int]:
    """Line of the definition of every module procedure, interface and type."""
    found = {}
    pattern = re.compile(r"^\s*(?:(?:pure|elemental|recursive|impure)\s+)*(?:(?:integer|real|logical|character)"
                         r"(?:\([^)]*\))?\s+)?(?:subroutine|function)\s+(\w+)|^\s*interface\s+(\w+)|"
                         r"^\s*type\s*,[^:]*::\s*(\w+)", re.I)
    for i, line in enumerate(lines):
        m = pattern.match(line)
        if m:
            found.setdefault(next(g for g in m.groups() if g).lower(), i)
    return found


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.f90")), ids=lambda p: p.name)
def test_every_public_entity_is_documented(path):
    text = path.read_text()
    lines = text.splitlines()
    where = definitions(lines)
    undocumented = sorted(name for name in public_names(text) if name in where and not documented(lines, where[name]))
    assert not undocumented, f"{path.name}: no !> comment on {', '.join(undocumented)}"
    assert lines[0].startswith("!>"), f"{path.name}: the module needs a !> header"


def test_ford_builds_the_reference(repo_root, tmp_path):
    ford = Path(sys.executable).parent / "ford"      # a test dependency (pyproject.toml)
    project = tmp_path / "ford.md"
    project.write_text((repo_root / "docs" / "ford.md").read_text()
                       .replace("src_dir: ../fortran/src", f"src_dir: {SRC}")
                       .replace("output_dir: ./api", f"output_dir: {tmp_path / 'api'}"))
    result = subprocess.run([str(ford), str(project)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    pages = {p.stem for p in (tmp_path / "api" / "module").glob("*.html")}
    modules = {p.stem for p in SRC.rglob("*.f90") if p.suffix == ".f90"} - {"hfc_ort"}
    assert modules <= pages, f"no page for {sorted(modules - pages)}"
    assert "status" in (tmp_path / "api" / "module" / "hfc_kinds.html").read_text().lower()

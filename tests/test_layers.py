"""Layering without cycles (DESIGN.md, "Layers"): the runtime `coupler` imports neither
`training`, `export` nor the application layer `coupler.app`; training sits below export,
export below the application. The contracts live in pyproject.toml ([tool.importlinter])."""
import subprocess
import sys
from pathlib import Path


def test_import_contracts_are_kept(repo_root):
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout, result.stdout

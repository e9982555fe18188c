"""docs/permissions.md is the operation table as people read it: it must be current."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _script():
    spec = importlib.util.spec_from_file_location("permissions", ROOT / "scripts/permissions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_permissions_page_is_the_operation_table_of_today():
    script = _script()
    committed = (ROOT / "docs/permissions.md").read_text(encoding="utf-8")
    assert committed == script.render(), "run .venv/bin/python scripts/permissions.py"


def test_the_page_lists_every_operation_of_the_four_services():
    script = _script()
    page = script.render()
    for table in script.TABLES:
        for op in table:
            assert f"| `{op.name}` |" in page

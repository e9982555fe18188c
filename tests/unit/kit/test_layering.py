"""The house has two floors (STYLE.md): the kit on the ground, services and gateway above it.
No import runs back down-to-up, services never import each other, nothing imports in a
circle. Read from the code's own import statements."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("lianxin", "services", "gateway")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def imports(path: Path, *, top_level_only: bool) -> set[str]:
    """The project modules ``path`` imports (``from a import b`` counts ``a.b`` if that is a
    module, else ``a``). Function-level imports are deliberate late loads: they count for
    the floors, not for cycles."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    known = modules()
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                for a in node.names
            ]
        else:
            continue
        out |= {n for n in names if n.split(".")[0] in PACKAGES}
    return out


def service_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "services" and len(parts) > 1 else None


def test_the_kit_never_imports_a_service_or_the_gateway():
    for name, path in modules().items():
        if name.startswith("lianxin"):
            wrong = {
                m
                for m in imports(path, top_level_only=False)
                if m.startswith(("services", "gateway"))
            }
            assert not wrong, f"{name} (kit) imports {sorted(wrong)}"


def test_services_never_import_each_other_nor_the_gateway_and_the_gateway_no_service():
    for name, path in modules().items():
        found = imports(path, top_level_only=False)
        if name.startswith("gateway"):
            assert not {m for m in found if m.startswith("services")}, name
        own = service_of(name)
        if own is not None:
            others = {
                m for m in found if m.startswith("gateway") or (service_of(m) not in (None, own))
            }
            assert not others, f"{name} imports {sorted(others)}"


def test_nothing_imports_in_a_circle():
    graph = {
        name: {m for m in imports(path, top_level_only=True) if m in modules()} - {name}
        for name, path in modules().items()
    }
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycle = trail[trail.index(nxt) :] + [nxt] if nxt in trail else [node, nxt]
                raise AssertionError(f"import cycle: {' → '.join(cycle)}")
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


#: The kit modules a service's contract may build on: they know no service's vocabulary.
KIT_CORE = (
    "auth",
    "operations",
    "roles",
    "clock",
    "db",
    "rpc",
    "timer",
    "errors",
    "metrics",
    "logs",
    "outbox",
    "consumer",
    "deadletters",
    "config",
    "health",
    "migrate",
    "services",
    "runner",
    "contracts.schema",
)


def test_the_kit_core_knows_no_service_contract():
    for short in KIT_CORE:
        path = modules()[f"lianxin.{short}"]
        wrong = {
            m
            for m in imports(path, top_level_only=False)
            if m.startswith("lianxin.contracts.") and m != "lianxin.contracts.schema"
        }
        assert not wrong, f"lianxin.{short} imports a service's contract: {sorted(wrong)}"

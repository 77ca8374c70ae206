"""The seams docs/ARCHITECTURE.md draws, read from the syntax trees: who may import whom, no cycles, no torch
where none belongs.
"""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> list[str]:
    """Every module a file imports, at the top or inside a function, relative imports resolved."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = list(path.relative_to(ROOT).with_suffix("").parts)
                pkg = here[: len(here) - node.level + (1 if path.name == "__init__.py" else 0)]
                base = ".".join(pkg + ([base] if base else []))
            out += [f"{base}.{a.name}" for a in node.names]
    return out


def test_front_ends_never_import_torch_diffusers_transformers():
    """The inference stack stays behind hub, the explainer's teaching models included (hub/explainer; the
    Learn tab reaches them through Hub.lesson)."""
    banned = {"torch", "diffusers", "transformers", "accelerate"}
    offenders = []
    for folder in ("demos", "bots", "spaces"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in banned]
    assert offenders == []


def test_front_ends_import_only_the_hubs_service_types_and_errors():
    """DESIGN.md's one contract per seam: demos, bots and spaces reach the core through hub.service, hub.types
    and hub.errors, nothing else of hub; and no front end imports another (only the composition roots wire them:
    hub/cli.py for `lienzo`, and spaces/app.py, the Space's entry point, which serves the web hub of demos/)."""
    allowed = ("hub.service", "hub.types", "hub.errors")
    fronts = ("demos", "bots", "spaces")
    offenders = []
    for folder in fronts:
        for path in (ROOT / folder).rglob("*.py"):
            for name in _imports(path):
                top = name.split(".")[0]
                if top == "hub" and not any(name == a or name.startswith(a + ".") for a in allowed):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
                if top in fronts and top != folder and (folder, top) != ("spaces", "demos"):
                    offenders.append(f"{path.relative_to(ROOT)}: {name} (another front end)")
    assert offenders == []


def test_the_package_graph_has_no_import_cycle():
    """Built from the syntax trees, imports inside functions included: dependencies point one way."""
    modules = {}
    for folder in ("hub", "demos", "bots", "spaces"):
        for path in (ROOT / folder).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            modules[name] = path
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    cycles, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(trail[trail.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == [], [" -> ".join(c) for c in cycles]


def test_importing_the_hub_service_loads_no_torch():
    code = (
        "import sys, hub.service; print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_vocabulary_front_ends_import_is_light():
    # types, errors, settings, prompt grammar, catalog, PNG info and the explainer's presets load without
    # torch/diffusers; so do the web hub's and the bot's own modules, which import nothing heavier
    code = (
        "import sys; import hub.types, hub.errors, hub.settings, hub.prompt, hub.catalog, hub.pnginfo, hub.cli, "
        "hub.explainer.lessons, demos.app, bots.app, bots.cogs.tools; "
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_only_loading_calls_from_pretrained():
    callers = []
    for path in (ROOT / "hub").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "from_pretrained":
                callers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert callers and all(c.startswith("hub/loading.py") for c in callers)

"""The layout holds: imports point down the layers and never in a circle (registry strings and lazy
exports count as imports), packages install under the project's namespace, every public name is
documented, nothing points outside the repository."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# the folders that install under the project's namespace (pyproject's package-dir), and the package itself
MAPPED = {"lightning_causal": ROOT / "lightning_causal"} | {
    name: ROOT / folder for name, folder in PYPROJECT["tool"]["setuptools"]["package-dir"].items()
}


def project_modules() -> dict[str, Path]:
    """Every module of the installed package, by dotted name."""
    out: dict[str, Path] = {}
    for package, folder in MAPPED.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([package, *parts])] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


# "lightning_causal.models.idgen.learner:DiffusionLearner" (a registry entry), "lightning_causal.models" (a lazy export)
_IMPORT_STRING = re.compile(r"^lightning_causal(\.\w+)*(:\w+)?$")


def _imports(tree: ast.AST) -> Iterator[tuple[str, list[str]]]:
    """(module, imported names) of every import that runs: module level, in functions, not under TYPE_CHECKING,
    and every string that names a project module (a registry entry, a lazy export), imported when used."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (item for child in node.orelse for item in _imports(ast.Module(body=[child], type_ignores=[])))
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _IMPORT_STRING.match(node.value):
            module, _, attribute = node.value.partition(":")
            yield module, [attribute] if attribute else []
        else:
            yield from _imports(node)


def import_graph() -> nx.DiGraph:
    modules = project_modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target, names in _imports(ast.parse(path.read_text())):
            for imported in names or [""]:
                full = f"{target}.{imported}" if imported else target
                if full in modules:
                    graph.add_edge(name, full)
                elif target in modules:
                    graph.add_edge(name, target)
    return graph


def test_the_scan_sees_function_level_imports_and_skips_type_checking_ones() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import lightning_causal.graph\n"
        "if TYPE_CHECKING:\n"
        "    from lightning_causal.plan import SamplingPlan\n"
        "def f():\n"
        "    from lightning_causal.sampling import fit_plan\n"
        "class C:\n"
        "    def g(self):\n"
        "        import lightning_causal.models.dcm.network\n"
    )
    seen = [module for module, _ in _imports(ast.parse(source))]
    assert seen == [
        "typing",
        "lightning_causal.graph",
        "lightning_causal.sampling",
        "lightning_causal.models.dcm.network",
    ]


def test_the_scan_reads_registry_strings_and_lazy_exports_as_imports() -> None:
    source = (
        'register_learner("diffusion", "lightning_causal.models.idgen.learner:DiffusionLearner")\n'
        '_LAZY = {"DCM": "lightning_causal.models"}\n'
        'print("see lightning_causal.models for more")\n'
    )
    seen = list(_imports(ast.parse(source)))
    assert ("lightning_causal.models.idgen.learner", ["DiffusionLearner"]) in seen
    assert ("lightning_causal.models", []) in seen
    assert all(module != "see lightning_causal.models for more" for module, _ in seen)


# The layers, top to bottom: a module imports modules of its own layer or below, never above. A module
# belongs to the layer of its longest listed prefix; the package root is the library's public surface.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("commands", ("lightning_causal.launch",)),
    ("public surface", ("lightning_causal",)),
    ("model families and their training", ("lightning_causal.models",)),
    ("Lightning glue", ("lightning_causal.callbacks", "lightning_causal.datamodules")),
    (
        "ground truth and scoring",
        ("lightning_causal.metrics", "lightning_causal.scm", "lightning_causal.plots", "lightning_causal.effects"),
    ),
    ("mechanisms and the data contract", ("lightning_causal.mechanisms", "lightning_causal.data")),
    ("ID-GEN plans", ("lightning_causal.plan",)),
    ("running plans", ("lightning_causal.sampling",)),
    ("identification and plan parts", ("lightning_causal.identification", "lightning_causal.plan.parts")),
    (
        "building blocks",
        (
            "lightning_causal.nets",
            "lightning_causal.diffusion",
            "lightning_causal.generators",
            "lightning_causal.variables",
            "lightning_causal.graph",
            "lightning_causal.distribution",
        ),
    ),
    (
        "foundations",
        (
            "lightning_causal.errors",
            "lightning_causal.files",
            "lightning_causal.figures",
            "lightning_causal.image_files",
            "lightning_causal.values",
            "lightning_causal.randomness",
            "lightning_causal.ranks",
            "lightning_causal.preemption",
            "lightning_causal.quiet",
        ),
    ),
]


def layer_of(module: str) -> int:
    """The index in :data:`LAYERS` of a module's layer (by its longest listed prefix; the root only by name)."""
    best, length = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = (
                module == prefix
                if prefix == "lightning_causal"
                else module == prefix or module.startswith(prefix + ".")
            )
            if matches and len(prefix) > length:
                best, length = index, len(prefix)
    return best


def test_every_module_has_a_layer() -> None:
    unplaced = [m for m in project_modules() if layer_of(m) < 0]
    assert not unplaced, f"modules in no layer of LAYERS: {unplaced}"


def test_imports_point_down_the_layers() -> None:
    graph = import_graph()
    upward = [
        f"{a} ({LAYERS[layer_of(a)][0]}) -> {b} ({LAYERS[layer_of(b)][0]})"
        for a, b in graph.edges
        if layer_of(b) < layer_of(a)
    ]
    assert not upward, f"{len(upward)} imports point up: {upward[:8]}"


def test_no_library_module_imports_the_commands() -> None:
    graph = import_graph()
    offenders = [
        (a, b)
        for a, b in graph.edges
        if b.startswith("lightning_causal.launch") and not a.startswith("lightning_causal.launch")
    ]
    assert not offenders, f"the library imports launch/: {offenders}"


def test_no_family_imports_another() -> None:
    graph = import_graph()
    family = re.compile(r"^lightning_causal\.models\.([a-z_]+)\.")
    packages = {p.name for p in (ROOT / "lightning_causal/models").iterdir() if (p / "__init__.py").is_file()}
    crossing = []
    for a, b in graph.edges:
        fa, fb = family.match(a + "."), family.match(b + ".")
        if fa and fb and fa.group(1) != fb.group(1) and {fa.group(1), fb.group(1)} <= packages:
            crossing.append((a, b))
    assert not crossing, f"model families import each other: {crossing}"


def test_no_import_cycle_between_project_modules() -> None:
    graph = import_graph()
    assert graph.number_of_edges() > 100  # the scan sees the imports
    cycles = [c for c in nx.simple_cycles(graph) if len(c) > 1 or graph.has_edge(c[0], c[0])]
    shown = "; ".join(" -> ".join([*c, c[0]]) for c in cycles[:5])
    assert not cycles, f"{len(cycles)} import cycles, e.g. {shown}"


def test_identification_and_plans_never_import_torch() -> None:
    code = (
        "import sys, lightning_causal\n"
        "from lightning_causal import compile_plan, identify\n"
        "from lightning_causal.graph import named_graph\n"
        "g = named_graph('napkin')\n"
        "compile_plan(g.graph, g.treatment, g.outcome)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run(["python", "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_every_package_folder_installs_under_the_namespace() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {name for name, path in project_modules().items() if path.name == "__init__.py"}
    assert listed == found, f"pyproject lists {sorted(listed - found)} but not {sorted(found - listed)}"
    assert all(name.startswith("lightning_causal") for name in listed)


def test_no_code_imports_the_folders_by_their_bare_names() -> None:
    bare = re.compile(r"^\s*(from|import)\s+(datamodules|callbacks|launch)\b", re.M)
    offenders = []
    for folder in ("lightning_causal", "datamodules", "callbacks", "launch", "tests", "benchmarks", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            if bare.search(path.read_text()):
                offenders.append(str(path.relative_to(ROOT)))
    readme = (ROOT / "README.md").read_text()
    if bare.search(readme):
        offenders.append("README.md")
    assert not offenders, f"import lightning_causal.datamodules (etc.), not the bare folder names: {offenders}"


def test_nothing_points_outside_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    needle = "../" + "shared"
    offenders = [
        f
        for f in tracked
        if f != ".ci/run" and (ROOT / f).is_file() and needle in (ROOT / f).read_text(errors="ignore")
    ]
    assert not offenders, f"files cite {needle}, which a clone does not have: {offenders}"


def _public_names() -> Iterator[tuple[str, str, object]]:
    for name in sorted(project_modules()):
        module = importlib.import_module(name)
        for public in getattr(module, "__all__", ()):
            obj = getattr(module, public)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                yield name, public, obj


def test_every_public_class_and_function_is_documented() -> None:
    names = list(_public_names())
    assert len(names) > 80
    missing = [f"{module}.{public}" for module, public, obj in names if not inspect.getdoc(obj)]
    assert not missing, f"public names without a docstring: {missing}"


@pytest.mark.parametrize("package", sorted(n for n, p in project_modules().items() if p.name == "__init__.py"))
def test_every_package_says_what_it_holds(package: str) -> None:
    assert importlib.import_module(package).__doc__, f"package {package} has no docstring"


def test_every_module_has_its_test_file() -> None:
    """Module `lightning_causal/<pkg>/<module>.py` (or `launch/<module>.py`) has `tests/<pkg>/test_<module>.py`."""
    missing = []
    for name, path in project_modules().items():
        if path.name == "__init__.py":
            continue
        parts = name.split(".")[1:]  # lightning_causal.models.dcm.queries -> models, dcm, queries
        test = ROOT / "tests" / Path(*parts[:-1]) / f"test_{parts[-1]}.py"
        if not test.is_file() or "def test_" not in test.read_text():
            missing.append(f"{path.relative_to(ROOT)} -> {test.relative_to(ROOT)}")
    assert not missing, f"modules without their test file: {missing}"


def test_no_test_module_imports_another() -> None:
    offenders = []
    for path in (ROOT / "tests").rglob("test_*.py"):
        for module, names in _imports(ast.parse(path.read_text())):
            targets = [module, *(f"{module}.{n}" for n in names)]
            if any(t.startswith("tests.") and t.rsplit(".", 1)[-1].startswith("test_") for t in targets):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offenders, f"test modules import test modules (share through conftest.py or a helper): {offenders}"

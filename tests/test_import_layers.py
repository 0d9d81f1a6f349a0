"""No import loops in the package, visible or hidden.

An import inside a function still makes its module depend on the imported one;
moving it there only hides a loop from Python's import machinery. So the graph
below counts every import, at module level or not, the packages that importing
a submodule runs first (``import a.b.c`` runs ``a/b/__init__.py``), and module
names written as strings (``importlib.import_module`` and lazy ``__getattr__``
maps); it must have no cycle.
"""

import ast
from pathlib import Path

import noisyactive

ROOT = Path(noisyactive.__file__).resolve().parent


def _module_name(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules():
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _named_modules(tree, known):
    """Module names written as strings: arguments of ``import_module`` /
    ``__import__`` and values of dict literals (lazy ``__getattr__`` maps)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = getattr(func, "attr", None) or getattr(func, "id", None)
            values = node.args if called in ("import_module", "__import__") else []
        elif isinstance(node, ast.Dict):
            values = node.values
        else:
            continue
        for value in values:
            if isinstance(value, ast.Constant) and value.value in known:
                yield value.value


def _resolve(name, known):
    """The deepest known module that ``name`` (a module or an attribute) names."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _outer_packages(target, importer):
    """The packages importing ``target`` runs first, leaving out the root (whose
    ``__init__`` imports lazily) and the packages ``importer`` lies in (those
    are already being imported when it runs)."""
    parts = target.split(".")
    for i in range(2, len(parts)):
        package = ".".join(parts[:i])
        if importer != package and not importer.startswith(package + "."):
            yield package


def import_graph():
    """``{module: {imported noisyactive modules}}`` over every import statement."""
    known = _modules()
    graph = {}
    for name, path in known.items():
        is_package = path.name == "__init__.py"
        targets = set()
        tree = ast.parse(path.read_text(), str(path))
        for node in [*ast.walk(tree), *_named_modules(tree, known)]:
            if isinstance(node, str):
                names = [node]  # a lazy import by name
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = name if is_package else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        pkg = pkg.rpartition(".")[0]
                    base = f"{pkg}.{base}" if base else pkg
                names = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in names:
                if target.split(".")[0] != "noisyactive" or target == "noisyactive":
                    continue  # the root imports lazily and always runs first
                resolved = _resolve(target, known)
                if resolved and resolved != name:
                    targets.add(resolved)
                    targets.update(_outer_packages(resolved, name))
        graph[name] = targets
    return graph


def find_cycle(graph):
    """One cycle as a list of modules, or None (iterative depth-first search)."""
    state = dict.fromkeys(graph, 0)  # 0 new, 1 on the stack, 2 done
    for start in graph:
        if state[start]:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(child, 2) == 1:
                return path[path.index(child) :] + [child]
            elif state.get(child, 2) == 0:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph[child]))))
    return None


def test_find_cycle_on_tiny_graphs():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_package_has_no_import_loop_even_through_function_level_imports():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import loop: " + " -> ".join(cycle)


def test_the_network_core_sits_below_base_and_the_estimators():
    graph = import_graph()
    core = [m for m in graph if m.startswith("noisyactive._netcore")]
    assert core
    above = ("noisyactive.base", "noisyactive.classifiers", "noisyactive.filtering")
    for module in core:
        assert not any(t.startswith(above) for t in graph[module]), module
    for module in ("noisyactive.datasets._images", "noisyactive.utils._progress"):
        assert not any(t.startswith("noisyactive.classifiers") for t in graph[module])

"""Find the environment variables a service reads, from its source: settings, gunicorn.conf.py and their helpers.

A variable is read where the code calls os.environ.get / os.getenv / os.environ[...] with a constant name, or
calls a function that passes one of its parameters there: the settings' own helpers (env_str, required_env ...)
and library functions such as dj_database_url.config (whose parameter `env` defaults to "DATABASE_URL"), whose
source is read from the service's virtual environment.
"""

import ast
import sys
from pathlib import Path


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name)


def _env_lookup_argument(node: ast.AST) -> ast.AST | None:
    """The name expression of os.environ.get(X) / os.getenv(X) / os.environ[X], else None."""
    if isinstance(node, ast.Call) and node.args:
        function = node.func
        if isinstance(function, ast.Attribute) and function.attr == "get" and _is_environ(function.value):
            return node.args[0]
        if isinstance(function, ast.Attribute) and function.attr == "getenv":
            return node.args[0]
    if isinstance(node, ast.Subscript) and _is_environ(node.value):
        return node.slice
    return None


class _Reader:
    """Which parameters of which functions end up as an environment variable's name."""

    def __init__(self, library_paths: list[Path]) -> None:
        self.library_paths = library_paths
        self.helpers: dict[str, tuple[list[str], dict[str, object], set[str]]] = {}

    def learn_functions(self, tree: ast.Module) -> None:
        # Module-level string constants, for defaults written as a name (dj_database_url: env=DEFAULT_ENV).
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                parameters = [argument.arg for argument in node.args.args + node.args.kwonlyargs]
                positional = node.args.args
                with_defaults = positional[len(positional) - len(node.args.defaults) :]
                defaults = {
                    argument.arg: default.value if isinstance(default, ast.Constant) else constants.get(default.id)
                    for argument, default in zip(with_defaults, node.args.defaults, strict=True)
                    if isinstance(default, ast.Constant | ast.Name)
                }
                passed = set()
                for inner in ast.walk(node):
                    argument = _env_lookup_argument(inner)
                    if isinstance(argument, ast.Name) and argument.id in parameters:
                        passed.add(argument.id)
                if passed:
                    self.helpers[node.name] = (parameters, defaults, passed)

    def learn_library(self, module: str) -> None:
        for root in self.library_paths:
            spec_path = root / (module.replace(".", "/") + "/__init__.py")
            if not spec_path.exists():
                spec_path = root / (module.replace(".", "/") + ".py")
            if spec_path.exists():
                self.learn_functions(ast.parse(spec_path.read_text()))
                return

    def names(self, tree: ast.Module) -> set[str]:
        found: set[str] = set()
        for node in ast.walk(tree):
            argument = _env_lookup_argument(node)
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.add(argument.value)
            if isinstance(node, ast.Call):
                function = node.func
                name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
                if name in self.helpers:
                    found |= self._helper_call(node, *self.helpers[name])
        return found

    @staticmethod
    def _helper_call(call: ast.Call, parameters: list[str], defaults: dict, passed: set[str]) -> set[str]:
        given = dict(zip(parameters, call.args, strict=False))
        given |= {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}
        found = set()
        for parameter in passed:
            value = given.get(parameter)
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(value.value)
            elif value is None and isinstance(defaults.get(parameter), str):
                found.add(defaults[parameter])
        return found


def environment_variables(project: Path, venv: Path) -> set[str]:
    """Every variable the service's settings, gunicorn.conf.py and the library helpers they call read."""
    sources = [*sorted((project / "config" / "settings").glob("*.py")), project / "gunicorn.conf.py"]
    trees = [ast.parse(path.read_text()) for path in sources]
    libraries = sorted(venv.glob("lib/python3*/site-packages"))
    reader = _Reader(libraries)
    for tree in trees:
        reader.learn_functions(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for module in modules:
                    if (
                        module
                        and not module.startswith(("django", "config", "."))
                        and module not in sys.stdlib_module_names
                    ):
                        reader.learn_library(module)
    return set().union(*(reader.names(tree) for tree in trees))

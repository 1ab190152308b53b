"""Find the environment variables a service reads, from its source: settings, gunicorn.conf.py and their helpers.

A variable is read where the code calls os.environ.get / os.getenv / os.environ[...] or django-environ's reader
(`env(...)`, `env.str(...)`, `env.db(...)` ..., where `env = environ.Env()` as cookiecutter-django names it) with a
constant name, or calls a function that passes one of its parameters there: the settings' own helpers (env_list
...) and library functions such as dj_database_url.config (whose parameter `env` defaults to "DATABASE_URL"),
whose source is read from the service's virtual environment.
"""

import ast
import sys
from pathlib import Path


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name)


# The name django-environ's `environ.Env()` instance goes by in the settings.
ENVIRON_READER = "env"


def _is_environ_reader(function: ast.AST) -> bool:
    """env(X) or env.<cast>(X): django-environ's reader, called with the variable's name first."""
    if isinstance(function, ast.Name):
        return function.id == ENVIRON_READER
    return (
        isinstance(function, ast.Attribute)
        and isinstance(function.value, ast.Name)
        and (function.value.id == ENVIRON_READER)
    )


def _env_lookup_argument(node: ast.AST) -> ast.AST | None:
    """The name expression of os.environ.get(X) / os.getenv(X) / os.environ[X] / env.str(X) ..., else None."""
    if isinstance(node, ast.Call) and node.args:
        function = node.func
        if _is_environ_reader(function):
            return node.args[0]
        if isinstance(function, ast.Attribute) and function.attr == "get" and _is_environ(function.value):
            return node.args[0]
        if isinstance(function, ast.Attribute) and function.attr == "getenv":
            return node.args[0]
    if isinstance(node, ast.Subscript) and _is_environ(node.value):
        return node.slice
    return None


class EnvironmentReader:
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
        functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]
        # Repeat until nothing new is learnt: env_int(name) passes its name on to env_str(name), which reads it.
        learning = True
        while learning:
            learning = False
            for node in functions:
                parameters = [argument.arg for argument in node.args.args + node.args.kwonlyargs]
                passed = {name for name in self._names_passed_on(node) if name in parameters}
                if passed and passed != self.helpers.get(node.name, ((), {}, set()))[2]:
                    self.helpers[node.name] = (parameters, self._defaults(node, constants), passed)
                    learning = True

    @staticmethod
    def _defaults(function: ast.FunctionDef, constants: dict[str, object]) -> dict[str, object]:
        positional = function.args.args
        with_defaults = positional[len(positional) - len(function.args.defaults) :]
        return {
            argument.arg: default.value if isinstance(default, ast.Constant) else constants.get(default.id)
            for argument, default in zip(with_defaults, function.args.defaults, strict=True)
            if isinstance(default, ast.Constant | ast.Name)
        }

    def _names_passed_on(self, function: ast.FunctionDef) -> set[str]:
        """Variable names inside the function that reach an environment lookup, directly or through a helper."""
        names = set()
        for inner in ast.walk(function):
            argument = _env_lookup_argument(inner)
            if isinstance(argument, ast.Name):
                names.add(argument.id)
            helper = self._helper_of(inner)
            if helper is not None:
                parameters, _, passed = helper
                for parameter, value in _bound(inner, parameters).items():
                    if parameter in passed and isinstance(value, ast.Name):
                        names.add(value.id)
        return names

    def _helper_of(self, node: ast.AST) -> tuple[list[str], dict[str, object], set[str]] | None:
        if not isinstance(node, ast.Call):
            return None
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
        return self.helpers.get(name)

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
            helper = self._helper_of(node)
            if helper is not None:
                parameters, defaults, passed = helper
                given = _bound(node, parameters)
                for parameter in passed:
                    value = given.get(parameter)
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        found.add(value.value)
                    elif value is None and isinstance(defaults.get(parameter), str):
                        found.add(defaults[parameter])
        return found


def _bound(call: ast.Call, parameters: list[str]) -> dict[str, ast.AST]:
    """The call's arguments by the called function's parameter names."""
    given = dict(zip(parameters, call.args, strict=False))
    return given | {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}


def environment_variables(project: Path, venv: Path) -> set[str]:
    """Every variable the service's settings, gunicorn.conf.py and the library helpers they call read."""
    sources = [*sorted((project / "config" / "settings").glob("*.py")), project / "gunicorn.conf.py"]
    trees = [ast.parse(path.read_text()) for path in sources]
    libraries = sorted(venv.glob("lib/python3*/site-packages"))
    reader = EnvironmentReader(libraries)
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

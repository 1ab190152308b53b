"""How two twin files differ once each service's own names are put aside (used by test_twins.py)."""

import ast
import difflib
import re
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Each service's own names, replaced by one placeholder so that `accounts.models` and `todos.models` read alike.
# Whole words only (never the "auth" of "authenticate"), in this order: the names both services share stay as they
# are, then each service's URL prefix (/auth/, /todos/), then its folder, app and name.
SHARED = (("todo-microservices-auth", "{issuer}"), ("todo-microservices", "{stack}"))
NAMES = {
    "auth": (
        *SHARED,
        ("/auth/", "/{prefix}/"),
        ('"auth/', '"{prefix}/'),
        ("auth_project", "{project}"),
        ("accounts", "{app}"),
        ("Auth", "{Service}"),
        ("auth", "{service}"),
    ),
    "todo": (
        *SHARED,
        ("/todos/", "/{prefix}/"),
        ('"todos/', '"{prefix}/'),
        ("todo_project", "{project}"),
        ("todos", "{app}"),
        ("Todo", "{Service}"),
        ("todo", "{service}"),
    ),
}


def _replace(line: str, name: str, placeholder: str) -> str:
    word_end = "(?![a-z])" if name[-1].isalpha() else ""
    return re.sub(rf"(?<![A-Za-z]){re.escape(name)}{word_end}", placeholder, line)


def normalized(text: str, service: str) -> list[str]:
    """The file's lines with the service's names replaced and trailing spaces dropped; blank lines left out."""
    lines = []
    for line in text.splitlines():
        for name, placeholder in NAMES[service]:
            line = _replace(line, name, placeholder)
        if line.strip():
            lines.append(line.rstrip())
    return lines


def blocks_of(text: str, names: list[str], path: str) -> str:
    """Only the named top-level functions and classes of a Python file (decorators included), in the order named."""
    lines = text.splitlines()
    found = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            start = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
            found[node.name] = "\n".join(lines[start - 1 : node.end_lineno])
    missing = [name for name in names if name not in found]
    if missing:
        raise LookupError(f"{path} has no top-level {', '.join(missing)}: update its twin entry's blocks")
    return "\n\n".join(found[name] for name in names)


def twin_diff(auth_path: str, todo_path: str, blocks: list[str] | None = None) -> tuple[list[str], list[str], str]:
    """The lines only the auth twin has, those only the todo twin has (a line that merely moved counts as neither:
    imports sort differently once the names differ), and the unified diff to show. With `blocks`, only those
    top-level definitions are compared: the twin part of files that otherwise hold each service's own tests."""
    auth_text, todo_text = (REPO / auth_path).read_text(), (REPO / todo_path).read_text()
    if blocks:
        auth_text, todo_text = blocks_of(auth_text, blocks, auth_path), blocks_of(todo_text, blocks, todo_path)
    if auth_text == todo_text:
        return [], [], ""
    auth_lines, todo_lines = normalized(auth_text, "auth"), normalized(todo_text, "todo")
    diff = list(difflib.unified_diff(auth_lines, todo_lines, auth_path, todo_path, lineterm="", n=2))
    removed = Counter(line[1:] for line in diff if line.startswith("-") and not line.startswith("---"))
    added = Counter(line[1:] for line in diff if line.startswith("+") and not line.startswith("+++"))
    moved = removed & added
    return list((removed - moved).elements()), list((added - moved).elements()), "\n".join(diff)

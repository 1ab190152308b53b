"""How two twin files differ once each service's own names are put aside (used by test_twins.py)."""

import difflib
import re
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Each service's own names, replaced by one placeholder so that `accounts.models` and `todos.models` read alike.
# Whole words only (never the "auth" of "authenticate"); the names both services share are kept first.
SHARED = (("todo-microservices-auth", "{issuer}"), ("todo-microservices", "{stack}"))
NAMES = {
    "auth": (
        *SHARED,
        ("auth_project", "{project}"),
        ("accounts", "{app}"),
        ("Auth", "{Service}"),
        ("auth", "{service}"),
    ),
    "todo": (*SHARED, ("todo_project", "{project}"), ("todos", "{app}"), ("Todo", "{Service}"), ("todo", "{service}")),
}


def _replace(line: str, name: str, placeholder: str) -> str:
    return re.sub(rf"(?<![A-Za-z]){re.escape(name)}(?![a-z])", placeholder, line)


def normalized(text: str, service: str) -> list[str]:
    """The file's lines with the service's names replaced and trailing spaces dropped; blank lines left out."""
    lines = []
    for line in text.splitlines():
        for name, placeholder in NAMES[service]:
            line = _replace(line, name, placeholder)
        if line.strip():
            lines.append(line.rstrip())
    return lines


def twin_diff(auth_path: str, todo_path: str) -> tuple[list[str], list[str], str]:
    """The lines only the auth twin has, those only the todo twin has (a line that merely moved counts as neither:
    imports sort differently once the names differ), and the unified diff to show."""
    auth_text, todo_text = (REPO / auth_path).read_text(), (REPO / todo_path).read_text()
    if auth_text == todo_text:
        return [], [], ""
    auth_lines, todo_lines = normalized(auth_text, "auth"), normalized(todo_text, "todo")
    diff = list(difflib.unified_diff(auth_lines, todo_lines, auth_path, todo_path, lineterm="", n=2))
    removed = Counter(line[1:] for line in diff if line.startswith("-") and not line.startswith("---"))
    added = Counter(line[1:] for line in diff if line.startswith("+") and not line.startswith("+++"))
    moved = removed & added
    return list((removed - moved).elements()), list((added - moved).elements()), "\n".join(diff)

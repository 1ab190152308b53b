"""Readers for the container checks: the compose file as Compose sees it, the Dockerfiles, the env file."""

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMPOSE_DIR = REPO / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
SCHEMA_FILE = Path(__file__).with_name("schema") / "compose-spec.json"
SERVICES = ("auth", "todo")

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, $NAME; $$ is a literal $.
_COMPOSE_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariableError(Exception):
    """A ${NAME:?message} variable had no value, so Compose would refuse to start."""


def _strings(node) -> list[str]:
    if isinstance(node, dict):
        return [text for value in node.values() for text in _strings(value)]
    if isinstance(node, list):
        return [text for value in node for text in _strings(value)]
    return [node] if isinstance(node, str) else []


def compose_variables(document: dict) -> set[str]:
    """Every variable name the compose file's values interpolate (comments are not interpolated)."""
    return {
        match["braced"] or match["bare"]
        for text in _strings(document)
        for match in _COMPOSE_VARIABLE.finditer(text)
        if not match["escaped"]
    }


def interpolate(node, environment: dict[str, str]):
    """Substitute variables in every value, as Docker Compose does (the subset of its syntax used here)."""
    if isinstance(node, dict):
        return {key: interpolate(value, environment) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(value, environment) for value in node]
    if isinstance(node, str):
        return _interpolate_text(node, environment)
    return node


def _interpolate_text(text: str, environment: dict[str, str]) -> str:

    def substitute(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        value = environment.get(name)
        op, arg = match["op"], match["arg"]
        unset_or_empty = value is None or (value == "" and op is not None and op.startswith(":"))
        if op in (":-", "-"):
            return arg if unset_or_empty else value
        if op in (":?", "?"):
            if unset_or_empty:
                raise MissingVariableError(f"{name}: {arg}")
            return value
        return value or ""

    return _COMPOSE_VARIABLE.sub(substitute, text)


def parse_env_file(path: Path) -> dict[str, str]:
    """Read a Compose env file: NAME=value lines, # comments, optional surrounding quotes."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[name.strip()] = value
    return values


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form CMD/ENTRYPOINT/HEALTHCHECK CMD, or None for shell form."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":
            text = text.split(" CMD ", 1)[1] if " CMD " in f" {text} " else ""
        try:
            value = json.loads(text.strip())
        except ValueError:
            return None
        return value if isinstance(value, list) and all(isinstance(item, str) for item in value) else None

    def options(self) -> dict[str, str]:
        """The --name=value flags at the start of the arguments (FROM, COPY, HEALTHCHECK)."""
        flags = {}
        for word in shlex.split(self.arguments):
            if not word.startswith("--"):
                break
            name, _, value = word[2:].partition("=")
            flags[name] = value
        return flags


def parse_dockerfile(path: Path) -> list[Instruction]:
    """Split a Dockerfile into instructions, joining continuation lines and dropping comments."""
    instructions: list[Instruction] = []
    pending = ""
    for raw_line in path.read_text().splitlines():
        stripped = raw_line.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        line = pending + stripped
        pending = ""
        keyword, _, arguments = line.partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
    assert not pending, f"{path} ends inside a continued line"
    return instructions

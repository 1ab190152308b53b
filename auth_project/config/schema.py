"""drf-spectacular hooks."""


def _is_canonical(path: str, paths: set[str]) -> bool:
    twin = path[:-1] if path.endswith("/") else f"{path}/"
    if twin not in paths:
        return True
    names_a_file = "." in path.rstrip("/").rsplit("/", 1)[-1]
    return path.endswith("/") != names_a_file


def drop_slashless_duplicates(endpoints: list) -> list:
    """Document each endpoint once: every route also answers with or without its trailing slash."""
    paths = {endpoint[0] for endpoint in endpoints}
    return [endpoint for endpoint in endpoints if _is_canonical(endpoint[0], paths)]

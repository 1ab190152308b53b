"""drf-spectacular hooks."""


def _is_canonical(path: str, paths: set[str]) -> bool:
    twin = path[:-1] if path.endswith("/") else f"{path}/"
    if twin not in paths:
        return True
    names_a_file = "." in path.rstrip("/").rsplit("/", 1)[-1]
    return path.endswith("/") != names_a_file


def drop_slashless_duplicates(endpoints: list) -> list:
    """Document each endpoint once: every route also answers with or without its trailing slash, and the
    browsable API's login and logout links (development) name the same routes again."""
    paths = {endpoint[0] for endpoint in endpoints}
    seen: set[tuple[str, str]] = set()
    kept = []
    for path, path_regex, method, callback in endpoints:
        if _is_canonical(path, paths) and (path, method) not in seen:
            seen.add((path, method))
            kept.append((path, path_regex, method, callback))
    return kept

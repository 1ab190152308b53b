"""drf-spectacular hooks: each endpoint once, and every error it can answer."""

from drf_spectacular import openapi


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


# Statuses every operation can answer, whoever makes them: an unknown query parameter or a bad body (400), an
# Accept the service cannot render (406), the gateway's rate limits (429), unavailable for a moment (503: the
# service's own while its database cannot be reached, the gateway's while its token check cannot run).
EVERY_OPERATION = {
    "400": "Bad input: a field error per field, or `detail` for the request as a whole (an unknown query parameter).",
    "406": "The Accept header names no type the service renders.",
    "429": "Too many requests (the gateway's rate limits); retry after `Retry-After` seconds.",
    "503": "Unavailable for a moment (the service's database, or the gateway's token check); retry after "
    "`Retry-After` seconds.",
}
WITH_BODY = {
    "413": "The body is too large.",
    "415": "The body is not `application/json`.",
}
WITH_TOKEN = {"401": "No valid access token."}
WITH_PATH_PARAMETER = {"404": "No such resource."}
NO_NUL = "^[^\\u0000]*$"
ERROR_SCHEMAS = {
    "Error": {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationError": {
        "type": "object",
        "description": "`detail` for the request as a whole, or a list of messages per field (`non_field_errors`: "
        "the body as a whole).",
        "properties": {"detail": {"type": "string"}},
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
}


def _error_response(description: str, schema: str) -> dict:
    body = {"schema": {"$ref": f"#/components/schemas/{schema}"}}
    return {"description": description, "content": {"application/json": body}}


def document_every_error(result: dict, generator, request, public: bool) -> dict:
    """Make the schema say what the server does: every error status an operation can answer, with its body,
    and request bodies as strict as the serializers (no unknown fields; read-only fields allowed and ignored)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in ERROR_SCHEMAS.items():
        schemas.setdefault(name, schema)
    for name, schema in schemas.items():
        if name.endswith("Request") and schema.get("type") == "object":
            response_name = name.removesuffix("Request").removeprefix("Patched")
            read_only = {
                field: {**definition, "readOnly": True}
                for field, definition in schemas.get(response_name, {}).get("properties", {}).items()
                if definition.get("readOnly")
            }
            schema["properties"] = {**read_only, **schema.get("properties", {})}
            schema["additionalProperties"] = False
            for definition in schema["properties"].values():
                # The JSON parser refuses a NUL anywhere in a body.
                if definition.get("type") == "string" and not {"pattern", "format", "enum"} & set(definition):
                    definition["pattern"] = NO_NUL
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            statuses = dict(EVERY_OPERATION)
            if "requestBody" in operation:
                statuses |= WITH_BODY
            if any(operation.get("security", [])):
                statuses |= WITH_TOKEN
            if any(parameter.get("in") == "path" for parameter in operation.get("parameters", [])):
                statuses |= WITH_PATH_PARAMETER
            responses = operation.setdefault("responses", {})
            for status, description in statuses.items():
                schema = "ValidationError" if status == "400" else "Error"
                responses.setdefault(status, _error_response(description, schema))
    return result


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, which also documents a DELETE body where the view names its serializer in
    `delete_request_serializer`: drf-spectacular leaves DELETE bodies out, yet `DELETE /auth/me/` takes the password."""

    def _get_request_body(self, direction: str = "request"):
        if self.method != "DELETE" or not getattr(self.view, "delete_request_serializer", None):
            return super()._get_request_body(direction)
        # drf-spectacular documents the bodies of POST, PUT and PATCH only: ask for this one as a POST's.
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"

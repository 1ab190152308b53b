"""Fixtures of the Kubernetes checks: each overlay rendered once per run."""

import pytest
from manifests import K8S, OVERLAYS, render


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    return {overlay: render(K8S / "overlays" / overlay) for overlay in OVERLAYS}


@pytest.fixture(scope="session", params=OVERLAYS)
def overlay(request, rendered) -> tuple[str, list[dict]]:
    """(name, rendered objects) of each overlay in turn."""
    return request.param, rendered[request.param]

#!/usr/bin/env python3
"""Build the stand-in base images the compose stack needs under podman, where no registry is reachable.

A Debian bookworm base is made with debootstrap and `podman import`; each stand-in is built on it from
compose/podman/standins/<recipe>/ and tagged with the upstream names the Dockerfiles and the compose file
use. Every image carries a label with the hash of its recipe: an image whose label matches is reused,
so a second run builds nothing. Usage: scripts/podman_standins.py [--all] [TAG ...]
(default: the stand-ins named by compose/docker-compose.yml and the services' Dockerfiles).
"""

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PODMAN_DIR = REPO / "compose" / "podman"
STANDINS_DIR = PODMAN_DIR / "standins"
CONTAINERS_CONF = PODMAN_DIR / "containers.conf"
BASE_IMAGE = "localhost/todo-microservices-standin-base:bookworm"
RECIPE_LABEL = "org.todo-microservices.standin.recipe"
# The system's extra CA certificates (Debian's folder for local ones): pip and apt inside a build check
# certificates against them where egress goes through an inspecting proxy.
LOCAL_CA_DIR = Path("/usr/local/share/ca-certificates")
DEBOOTSTRAP_ARGS = ("--variant=minbase", "--include=ca-certificates", "bookworm")
# Slim as Debian's own container images are: no recommends, no package caches, no docs, manuals or locales.
APT_CONFIG = """APT::Install-Recommends "false";
APT::Install-Suggests "false";
Quiet "2";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb || true"; };
"""
DPKG_CONFIG = """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
"""


@dataclass(frozen=True)
class Standin:
    """One stand-in: the recipe folder it is built from and the upstream names it is tagged with."""

    recipe: str
    tags: tuple[str, ...]


# The upstream names the compose file and the Dockerfiles use. podman keeps a short name under localhost/, and its
# Docker API finds `postgres:15-bookworm` there, so the files need no change and no registry is named.
STANDINS = (
    Standin("python", ("python:3.11-slim-bookworm", "python:3.11-slim")),
    Standin("nginx", ("nginx:1.28-alpine",)),
    Standin("postgres", ("postgres:15-bookworm", "postgres:15")),
    Standin("rabbitmq", ("rabbitmq:3.10",)),
)


def say(message: str) -> None:
    sys.stdout.write(f"==> {message}\n")
    sys.stdout.flush()


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"CONTAINERS_CONF": str(CONTAINERS_CONF)}
    result = subprocess.run(["podman", *args], env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise SystemExit(f"podman {' '.join(args)} failed:\n{result.stdout[-4000:]}{result.stderr[-4000:]}")
    return result


def image_label(image: str) -> str | None:
    """The recipe hash an image was built from, or None when the image is missing."""
    result = podman("image", "inspect", "--format", f'{{{{index .Labels "{RECIPE_LABEL}"}}}}', image, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def image_id(image: str) -> str:
    return podman("image", "inspect", "--format", "{{.Id}}", image).stdout.strip()


def full_name(name: str) -> str:
    """`postgres:15` as podman stores a short name: localhost/postgres:15."""
    if not name.startswith("localhost/"):
        name = f"localhost/{name}"
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def base_recipe_hash() -> str:
    digest = hashlib.sha256("\n".join([*DEBOOTSTRAP_ARGS, APT_CONFIG, DPKG_CONFIG]).encode())
    for certificate in sorted(LOCAL_CA_DIR.glob("*.crt")):
        digest.update(certificate.name.encode() + certificate.read_bytes())
    return digest.hexdigest()[:16]


def recipe_hash(standin: Standin) -> str:
    """The hash of a stand-in's recipe folder and of the base it builds on."""
    digest = hashlib.sha256(image_id(BASE_IMAGE).encode())
    folder = STANDINS_DIR / standin.recipe
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_base() -> None:
    wanted = base_recipe_hash()
    if image_label(BASE_IMAGE) == wanted:
        say(f"base image {BASE_IMAGE}: cached")
        return
    for tool in ("debootstrap", "podman"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install {tool} (as .ci/run does)")
    superseded = {image_id(BASE_IMAGE)} if image_label(BASE_IMAGE) is not None else set()
    say(f"base image {BASE_IMAGE}: debootstrap {' '.join(DEBOOTSTRAP_ARGS)} (about 30 s, 200 MB)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="standin-base-", dir="/var/tmp") as workdir:
        rootfs = Path(workdir) / "rootfs"
        result = subprocess.run(
            ["debootstrap", *DEBOOTSTRAP_ARGS, str(rootfs)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise SystemExit(f"debootstrap failed:\n{result.stdout[-4000:]}{result.stderr[-4000:]}")
        for certificate in LOCAL_CA_DIR.glob("*.crt"):
            shutil.copy2(certificate, rootfs / "usr/local/share/ca-certificates" / certificate.name)
        subprocess.run(["chroot", str(rootfs), "update-ca-certificates"], capture_output=True, check=True)
        (rootfs / "etc/apt/apt.conf.d/90standin").write_text(APT_CONFIG)
        (rootfs / "etc/dpkg/dpkg.cfg.d/90standin").write_text(DPKG_CONFIG)
        for leftover in ("var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info"):
            for path in (rootfs / leftover).rglob("*"):
                if path.is_file() and path.name != "copyright":
                    path.unlink()
        for path in (rootfs / "usr/share/locale").glob("*"):
            if path.is_dir():
                shutil.rmtree(path)
        say(f"base image {BASE_IMAGE}: importing the root file system into podman")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            [
                "podman",
                "import",
                "--change",
                f"LABEL {RECIPE_LABEL}={wanted}",
                "--change",
                'CMD ["/bin/bash"]',
                "-",
                BASE_IMAGE,
            ],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            env=os.environ | {"CONTAINERS_CONF": str(CONTAINERS_CONF)},
            check=False,
        )
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise SystemExit(f"podman import failed:\n{imported.stderr[-4000:]}")
    say(f"base image {BASE_IMAGE}: built in {time.monotonic() - started:.0f} s")
    remove_untagged(superseded)


def ensure_standin(standin: Standin) -> None:
    wanted = recipe_hash(standin)
    tags = [full_name(tag) for tag in standin.tags]
    if all(image_label(tag) == wanted for tag in tags):
        say(f"stand-in {', '.join(tags)}: cached")
        return
    say(f"stand-in {', '.join(tags)}: building from compose/podman/standins/{standin.recipe}/")
    started = time.monotonic()
    superseded = {image_id(tag) for tag in tags if image_label(tag) is not None}
    tag_args = [arg for tag in tags for arg in ("--tag", tag)]
    podman(
        "build",
        "--pull=never",
        "--label",
        f"{RECIPE_LABEL}={wanted}",
        *tag_args,
        "--file",
        str(STANDINS_DIR / standin.recipe / "Containerfile"),
        str(STANDINS_DIR / standin.recipe),
    )
    say(f"stand-in {', '.join(tags)}: built in {time.monotonic() - started:.0f} s")
    remove_untagged(superseded)


def remove_untagged(images: set[str]) -> None:
    """Removes the images a rebuild replaced, once no tag names them (images built on them keep them)."""
    for image in images:
        if not podman("image", "inspect", "--format", "{{.RepoTags}}", image).stdout.strip("[] \n"):
            podman("image", "rm", image, check=False)


def images_named_by_project() -> set[str]:
    """Every image the compose file runs or a service's Dockerfile builds FROM, in Docker's full form."""
    names = set()
    compose_text = (REPO / "compose" / "docker-compose.yml").read_text()
    names.update(re.findall(r"^\s*image:\s*['\"]?([^\s'\"#]+)", compose_text, flags=re.MULTILINE))
    for dockerfile in REPO.glob("*_project/Dockerfile"):
        names.update(re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), flags=re.MULTILINE))
    return {full_name(name) for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="build every stand-in in the table")
    parser.add_argument("tags", nargs="*", help="build the stand-ins tagged with these names")
    options = parser.parse_args()
    if options.all:
        chosen = list(STANDINS)
    else:
        wanted = {full_name(tag) for tag in options.tags} or images_named_by_project()
        chosen = [standin for standin in STANDINS if wanted & {full_name(tag) for tag in standin.tags}]
    ensure_base()
    for standin in chosen:
        ensure_standin(standin)


if __name__ == "__main__":
    main()

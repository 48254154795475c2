"""A real OIDC provider on a free port for the console's sign-in tests: NAV's
mock-oauth2-server (Maven Central, resolved once with Maven into the cache like Kafka's jars),
with its interactive login page, where a test types the subject and the claims (the e-mail
address) the ID token will carry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from roastbot.local_redis import cache_dir
from tests.helpers import free_port, wait_for

POM = Path(__file__).resolve().parent / "oidc" / "pom.xml"
VERSION = "6.0.2"
JAR = f"mock-oauth2-server-{VERSION}.jar"
MAIN_CLASS = "no.nav.security.mock.oauth2.StandaloneMockOAuth2ServerKt"
ISSUER = "roastbot"


@dataclass(frozen=True)
class OidcProvider:
    url: str

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/{ISSUER}/.well-known/openid-configuration"


def provider_libs() -> Path:
    """The provider's runtime class path in the cache (resolved with Maven on first use)."""
    libs = cache_dir() / f"mock-oauth2-server-{VERSION}"
    marker = libs / "complete"
    if marker.exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        pytest.skip("mvn (Maven) is not installed: it resolves the OIDC provider's jars")
    partial = libs.with_name(libs.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={partial}",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0 or not (partial / JAR).exists():
        raise RuntimeError(f"Maven could not resolve {JAR}: {result.stdout[-2000:]}{result.stderr[-2000:]}")
    shutil.rmtree(libs, ignore_errors=True)
    os.replace(partial, libs)
    marker.write_text(VERSION)
    return libs


def metadata_served(provider: OidcProvider) -> bool:
    try:
        return httpx.get(provider.metadata_url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def oidc_provider(log_path: Path) -> Iterator[OidcProvider]:
    java = shutil.which("java")
    if java is None:
        pytest.skip("java is not installed: the OIDC provider runs on the JVM")
    port = free_port()
    env = {
        **os.environ,
        "SERVER_HOSTNAME": "127.0.0.1",
        "SERVER_PORT": str(port),
        "JSON_CONFIG": json.dumps({"interactiveLogin": True}),
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [java, "-Xmx256m", "-cp", f"{provider_libs()}/*", MAIN_CLASS],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    provider = OidcProvider(f"http://127.0.0.1:{port}")
    try:
        wait_for(lambda: metadata_served(provider) or process.poll() is not None, 60, "the OIDC provider")
        if process.poll() is not None:
            raise RuntimeError(f"the OIDC provider exited ({process.returncode}); see {log_path}")
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()

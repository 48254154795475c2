"""The class archive of Kafka's classes (scripts/local_services/class_archive.py) with a real
JVM: written at a JVM's exit, adopted only when a JVM maps it, then used by later JVMs. Each
JVM here is `java -version` on Kafka's class path (half a second), not a broker."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from scripts import services
from scripts.local_services import class_archive
from scripts.local_services.kafka_broker import ensure_kafka_libs, find_java

pytestmark = pytest.mark.integration


@pytest.fixture
def setting(tmp_path: Path) -> tuple[services.Config, str, Path]:
    """A Config whose cache (where the archive goes) and var dir are this test's own, and the
    Kafka class path of the usual cache (the suite's services.py up resolved it)."""
    libs = ensure_kafka_libs(services.Config.from_env())
    cfg = services.Config.from_env(
        {
            **os.environ,
            "ROASTBOT_CACHE_DIR": str(tmp_path / "cache"),
            "ROASTBOT_VAR_DIR": str(tmp_path / "var"),
        }
    )
    cfg.kafka_dir.mkdir(parents=True)
    cfg.kafka_home.mkdir(parents=True)
    return cfg, find_java(), libs


def run_jvm(java: str, libs: Path, options: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    command = [java, *options, "-cp", f"{libs}/*", "-version"]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_the_archive_a_jvm_wrote_at_exit_is_adopted_and_mapped_by_the_next(
    setting: tuple[services.Config, str, Path],
) -> None:
    cfg, java, libs = setting
    first = class_archive.jvm_options(cfg, java, libs)
    assert first == (f"-XX:ArchiveClassesAtExit={class_archive.pending_path(cfg)}",)
    assert run_jvm(java, libs, first).returncode == 0
    assert class_archive.pending_path(cfg).stat().st_size > 0

    class_archive.adopt(cfg, java, libs)
    archive = class_archive.archive_path(cfg, java, libs)
    assert archive.is_file()
    assert archive.parent == cfg.kafka_home
    assert not class_archive.pending_path(cfg).exists()

    later = class_archive.jvm_options(cfg, java, libs)
    assert later == (f"-XX:SharedArchiveFile={archive}",)
    mapped = run_jvm(java, libs, ("-Xshare:on", "-Xlog:cds=info", *later))
    assert mapped.returncode == 0, mapped.stderr
    assert f"Opened archive {archive}" in mapped.stdout + mapped.stderr


def test_an_archive_cut_short_is_thrown_away_not_adopted(setting: tuple[services.Config, str, Path]) -> None:
    cfg, java, libs = setting
    assert run_jvm(java, libs, class_archive.jvm_options(cfg, java, libs)).returncode == 0
    pending = class_archive.pending_path(cfg)
    whole = pending.read_bytes()
    pending.write_bytes(whole[: len(whole) // 2])  # as a broker killed while writing it leaves it

    reports_before = set(Path.cwd().glob("hs_err_pid*.log"))
    class_archive.adopt(cfg, java, libs)
    assert not class_archive.archive_path(cfg, java, libs).exists()
    assert not pending.exists()
    # The JVM that tried to map it crashed, leaving no crash report where it ran.
    assert set(Path.cwd().glob("hs_err_pid*.log")) == reports_before
    # So the next broker writes one again instead of crashing on this one.
    assert class_archive.jvm_options(cfg, java, libs) == (f"-XX:ArchiveClassesAtExit={pending}",)

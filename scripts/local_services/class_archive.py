"""A class-data-sharing archive of Kafka's classes for the brokers services.py starts.

A broker's JVM loads, verifies and parses about 7,000 classes at every start; mapped from an
archive, they cost next to nothing (here: a broker's start from about 6.4 to 2.0 s of CPU, and
the suite starts a dozen private brokers). Java 17 writes such a (dynamic) archive when a JVM
started with ``-XX:ArchiveClassesAtExit`` exits normally. So the first broker started without
one writes it into its own directory; once that broker has stopped, ``adopt`` has a JVM map it
with ``-Xshare:on`` and only then moves it into the cache for every later broker: a file cut
short (a broker killed while writing it) would crash each JVM that maps it with SIGBUS.

The archive's name is a digest of the java binary and the class path, so a new JDK or another
Kafka makes a new one; a JVM that finds an archive of another JVM's build ignores it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from scripts.local_services.config import Config, say

# Not ours to read: the file the broker writes at exit, in its own directory.
PENDING_NAME = "classes.jsa.part"


def archive_path(cfg: Config, java: str, libs: Path) -> Path:
    binary = Path(java).resolve()
    stat = binary.stat()
    identity = [f"{binary}:{stat.st_size}:{int(stat.st_mtime)}"]
    identity += sorted(f"{jar.name}:{jar.stat().st_size}" for jar in libs.glob("*.jar"))
    digest = hashlib.sha256("\n".join(identity).encode()).hexdigest()[:16]
    return cfg.kafka_home / f"classes-{digest}.jsa"


def pending_path(cfg: Config) -> Path:
    return cfg.kafka_dir / PENDING_NAME


def mapping_options(cfg: Config, java: str, libs: Path) -> tuple[str, ...]:
    """Map the archive when there is one (for a JVM that is not to write it: a tool)."""
    archive = archive_path(cfg, java, libs)
    return (f"-XX:SharedArchiveFile={archive}",) if archive.is_file() else ()


def jvm_options(cfg: Config, java: str, libs: Path) -> tuple[str, ...]:
    """A broker's: map the archive when there is one, or write it at this broker's exit."""
    mapping = mapping_options(cfg, java, libs)
    if mapping:
        return mapping
    pending = pending_path(cfg)
    pending.unlink(missing_ok=True)  # a part left by a broker that did not stop cleanly
    return (f"-XX:ArchiveClassesAtExit={pending}",)


def adopt(cfg: Config, java: str, libs: Path) -> None:
    """After the broker stopped: move the archive it wrote into the cache, if a JVM can map it."""
    pending = pending_path(cfg)
    if not pending.is_file():
        return
    archive = archive_path(cfg, java, libs)
    try:
        if archive.is_file() or not _maps(java, libs, pending):
            return
        # The cache may be on another file system than the var dir: copy, then rename.
        partial = archive.with_name(f"{archive.name}.{os.getpid()}.tmp")
        shutil.copyfile(pending, partial)
        os.replace(partial, archive)
        say("kafka", f"class archive for later brokers: {archive}")
    finally:
        pending.unlink(missing_ok=True)


def _maps(java: str, libs: Path, archive: Path) -> bool:
    # A JVM that cannot map it may crash: no crash report in the working directory, no core.
    quiet_crash = ("-XX:ErrorFile=/dev/null", "-XX:-CreateCoredumpOnCrash")
    check = [
        java,
        *quiet_crash,
        "-Xshare:on",
        f"-XX:SharedArchiveFile={archive}",
        "-cp",
        f"{libs}/*",
        "-version",
    ]
    try:
        return subprocess.run(check, capture_output=True, timeout=60, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False

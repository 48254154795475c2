"""The password of the local Redis that ``scripts/services.py`` runs, and the one function that
puts it into a Redis URL.

One Redis on 127.0.0.1 serves every checkout of this user (the main one, worktrees, clean
clones), so its password cannot live in a checkout: it is generated once into
``${ROASTBOT_CACHE_DIR:-~/.cache/roastbot}/redis.password`` (mode 0600, next to the Kafka
jars) and read from there by everything that builds a Redis URL: the settings (workers, the
console, the doctor, tests, benchmarks) and services.py, which writes it into redis.conf.

A loopback ``redis://`` URL without credentials gets ``default:<password>@``. A Redis that
answers without a password accepts that too (``AUTH default <anything>`` succeeds for a
``nopass`` user), so a Redis started before it had one keeps working; the doctor warns
about it. A URL that names its own credentials, or another host, is left alone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

PASSWORD_FILE = "redis.password"
USER = "default"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where this user's roastbot files outside any checkout live (Kafka jars, this password)."""
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME") or Path.home())
    return Path(environ.get("ROASTBOT_CACHE_DIR") or home / ".cache" / "roastbot").expanduser()


def password_file(directory: Path | None = None) -> Path:
    return (directory or cache_dir()) / PASSWORD_FILE


def local_password(directory: Path | None = None, create: bool = False) -> str | None:
    """The generated password, made first (atomically: two checkouts may ask at once) when
    ``create``; None when there is none yet."""
    path = password_file(directory)
    with contextlib.suppress(FileNotFoundError):
        return path.read_text().strip() or None
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{PASSWORD_FILE}.{os.getpid()}")
    draft.write_text(secrets.token_urlsafe(24) + "\n")
    draft.chmod(0o600)
    try:
        os.link(draft, path)  # fails if another process made it first: theirs wins
    except FileExistsError:
        pass
    finally:
        draft.unlink(missing_ok=True)
    return path.read_text().strip()


def is_local_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "redis" and (parts.hostname or "127.0.0.1") in LOOPBACK_HOSTS


def with_local_password(url: str, password: str | None) -> str:
    """The URL with ``default:<password>@`` when it is a loopback redis:// URL without
    credentials; unchanged otherwise."""
    parts = urlsplit(url)
    if not password or not is_local_url(url) or parts.username or parts.password:
        return url
    host = parts.netloc or "127.0.0.1:6379"
    return urlunsplit(parts._replace(netloc=f"{USER}:{quote(password, safe='')}@{host}"))


def local_redis_url(url: str, directory: Path | None = None, create: bool = False) -> str:
    """The one way a Redis URL gets the local password (see the module docstring)."""
    if not is_local_url(url) or urlsplit(url).password:
        return url
    return with_local_password(url, local_password(directory, create=create))


def without_credentials(url: str) -> str:
    """The URL as a stranger on this machine would use it (to see whether Redis asks for a password)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    return urlunsplit(parts._replace(netloc=netloc + (f":{parts.port}" if parts.port else "")))


def redacted_url(url: str) -> str:
    """A Redis URL fit for a message: its password masked."""
    password = urlsplit(url).password
    return url.replace(f":{password}@", ":***@", 1) if password else url

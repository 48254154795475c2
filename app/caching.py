"""How long the console trusts a read: short ``st.cache_data`` TTLs keyed by the settings'
fingerprint, so two bots or two tests never share an entry. Commands are never cached."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import streamlit as st

from roastbot.settings import Settings

FAST_TTL_S = 2  # Redis reads: cheap, and operators expect to see a click's effect
SLOW_TTL_S = 5  # Kafka and Supervisor reads open connections


def fingerprint(settings: Settings) -> str:
    """Cache key: every setting, secrets hashed (two configurations never share a cache entry)."""
    values = settings.model_dump(mode="json")
    for name, value in settings.model_dump().items():
        if hasattr(value, "get_secret_value"):
            values[name] = hashlib.sha256(value.get_secret_value().encode()).hexdigest()[:16]
    return json.dumps(values, sort_keys=True)


def cached(ttl: float) -> Callable[[Callable[..., Any]], Any]:
    """A read cached for ``ttl`` seconds per configuration (``.clear()`` after a command)."""
    return st.cache_data(ttl=ttl, show_spinner=False, hash_funcs={Settings: fingerprint}, max_entries=256)

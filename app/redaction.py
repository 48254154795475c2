"""Secrets out of everything the console shows: errors, log tails, command results."""

from __future__ import annotations

from roastbot.settings import Settings


def redact(text: str, settings: Settings) -> str:
    """The text with every configured secret (the Redis URL's password among them) masked."""
    for secret in settings.secret_values():
        if len(secret) >= 3:
            text = text.replace(secret, "•••")
    return text

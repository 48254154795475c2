"""LLM endpoint fake: Together's chat-completions API with fault injection and a gullible model."""

from sandbox.llm_fake.app import create_app
from sandbox.llm_fake.config import FakeConfig, Faults

__all__ = ["FakeConfig", "Faults", "create_app"]

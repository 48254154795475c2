"""A local X API v2 sandbox: what roastbot calls on X, served over HTTP from memory.

Start it with ``python -m sandbox.x_api`` or in-process with ``create_app(config)``.
"""

from sandbox.x_api.app import create_app
from sandbox.x_api.config import SandboxConfig

__all__ = ["SandboxConfig", "create_app"]

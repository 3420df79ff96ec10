"""Local Twilio SendGrid v3 API simulator: multi-tenant, deterministic, spec-faithful.

The simulator is a development and test tool: an ASGI app (see :mod:`sendgrid_simulator.app`)
that serves the read endpoints a utilization extractor needs, an OAuth 2.0 authorization
server and an unauthenticated control API under ``/__sim/``.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]

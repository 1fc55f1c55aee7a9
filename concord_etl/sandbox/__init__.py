"""A local emulator of the Concord CRM REST API (stdlib only; imports nothing else of concord_etl).

``Sandbox(...).start()`` serves it from a thread; ``main(argv)`` is the command line.
"""

from __future__ import annotations

from .runner import main
from .server import Sandbox

__all__ = ["Sandbox", "main"]

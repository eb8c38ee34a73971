"""The HTTP API (FastAPI): a thin delivery layer over the ledger's services and queries.

`create_app` builds the application; nothing is configured or connected at import time.
"""

from ccx.api.app import create_app

__all__ = ["create_app"]

"""schemathesis hooks of tests/e2e/test_api_schemathesis.py (loaded by SCHEMATHESIS_HOOKS).

The web server (gunicorn, server.py) refuses a request line longer than 4094 bytes with an
HTML 414 of its own, before the app ever sees the request: a generated query string that
long tests the HTTP server's guard, not the API, so it is not sent.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import schemathesis

REQUEST_LINE_LIMIT = 4094
# Room for the method, the path and the protocol on the same line.
QUERY_LIMIT = REQUEST_LINE_LIMIT - 300


@schemathesis.hook
def filter_query(context: Any, query: dict[str, Any] | None) -> bool:
    if not query:
        return True
    encoded = "&".join(f"{quote(str(key))}={quote(str(value))}" for key, value in query.items())
    return len(encoded) < QUERY_LIMIT

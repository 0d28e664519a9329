"""The one `Http` every request of a run goes through: one session (connection reuse), one
timeout, one way of reading a status and a JSON body. A transport failure raises
`requests.RequestException`. Tests pass their own; the model knows it only as an `HttpClient`."""

from __future__ import annotations

from typing import Any

import requests

from ..model import jsonio

HTTP_TIMEOUT = 10.0


class Http:
    """One session for every request of a run: connection reuse, one timeout, one way of reading
    a status and a JSON body. A transport failure raises `requests.RequestException`."""

    def __init__(self, session: requests.Session | None = None, timeout: float = HTTP_TIMEOUT) -> None:
        self.session = session or requests.Session()
        self.timeout = timeout

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> tuple[int, Any]:
        """(status, body): the body decoded as JSON, as text when it is not JSON, None when empty."""
        response = self.session.get(url, params=params, timeout=self.timeout, headers={"Accept": "application/json"})
        if not response.content:
            return response.status_code, None
        try:
            return response.status_code, jsonio.loads(response.content)
        except ValueError:
            return response.status_code, response.text

    def get_text(self, url: str) -> tuple[int, str]:
        response = self.session.get(url, timeout=self.timeout)
        return response.status_code, response.text

    def close(self) -> None:
        self.session.close()

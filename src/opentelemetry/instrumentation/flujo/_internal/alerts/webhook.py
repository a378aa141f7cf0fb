"""Alert events as JSON POSTs to a webhook, with a timeout and retries with backoff."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.instrumentation.flujo._internal.alerts.event import AlertEvent
from opentelemetry.instrumentation.flujo.version import __version__


class WebhookError(RuntimeError):
    """A POST that failed for good; its message shows only the URL's scheme and host."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuses every redirect: following one would resend the headers (tokens) to
    wherever it points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def public_url(url: str) -> str:
    """``url`` reduced to scheme, host and port: the form that may be logged.

    The path goes too: Slack and Teams webhooks carry their token in it.
    """
    parts = urllib.parse.urlsplit(url)
    path = "/..." if parts.path not in ("", "/") else ""
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{path}"


class WebhookHandler:
    """POSTs each event as JSON (``AlertEvent.to_dict()``), retrying connection errors,
    429 and 5xx with exponential backoff; raises ``WebhookError`` (counted as dropped)
    when every attempt failed. Redirects are not followed, and only the URL's scheme
    and host are ever logged (the path may hold a token).

    Args:
        url: an ``http://`` or ``https://`` URL (ValueError otherwise).
        headers: extra request headers (e.g. ``Authorization``).
        timeout_s: timeout of one request.
        retries: attempts after the first.
        backoff_s: the first retry's delay; each next one doubles it.
        sleep: how to wait between attempts (tests).
    """

    name = "webhook"

    def __init__(self, url: str, headers: Mapping[str, str] | None = None,
                 timeout_s: float = 5.0, retries: int = 3, backoff_s: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("webhook URL must be http:// or https://")
        self._url = url
        self._headers = {"Content-Type": "application/json",
                         "User-Agent": f"opentelemetry-instrumentation-flujo/{__version__}",
                         **(headers or {})}
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._opener = urllib.request.build_opener(
            _NoRedirect, urllib.request.HTTPSHandler(context=ssl.create_default_context()))

    def __repr__(self) -> str:
        return f"WebhookHandler({public_url(self._url)!r})"

    def __call__(self, event: AlertEvent) -> None:
        body = json.dumps(event.to_dict()).encode("utf-8")
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
            request = urllib.request.Request(
                self._url, data=body, headers=self._headers, method="POST")
            try:
                with self._opener.open(request, timeout=self.timeout_s) as response:
                    response.read()
                return
            except urllib.error.HTTPError as exc:
                problem = f"HTTP {exc.code}"
                if exc.code < 500 and exc.code != 429:
                    break  # the request itself is wrong: retrying will not help
            except (OSError, ValueError) as exc:  # URLError, timeouts, refused, TLS
                problem = type(exc).__name__
        raise WebhookError(f"POST {public_url(self._url)} failed ({problem}) "
                           f"after {attempt + 1} attempt(s)")

"""What keeps ``anonlab serve`` safe by default.

- Loopback binds accept only requests whose ``Host`` is a loopback name (so a web page elsewhere cannot reach the
  app through DNS rebinding). Any other bind needs the random access token printed at start: given once as
  ``?token=...``, it is kept in an HttpOnly, SameSite=Strict cookie and removed from the address bar.
- Every POST carries the app's CSRF token (a hidden form field); a form posted from another site cannot know it.
- Every response forbids loading anything from elsewhere (Content-Security-Policy), framing by other sites and
  sending the address (which may hold the token) as a referrer.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field

__all__ = ["Guard", "is_loopback"]

COOKIE = "anonlab_token"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
# pages: only this server's own styles (and style attributes of tables), images, scripts; reports (served as files): their inline style and script
PAGE_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'self'; connect-src 'self'; "
    "form-action 'self'; "
    "frame-src 'self'; frame-ancestors 'self'; base-uri 'none'"
)
FILE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'unsafe-inline'; "
    "frame-ancestors 'self'; base-uri 'none'"
)


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` reaches this machine only."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Guard:
    """The app's secrets for one run: the CSRF token, and the access token when the bind is not loopback."""

    loopback: bool = True
    token: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @classmethod
    def for_host(cls, host: str, token: str | None = None) -> Guard:
        loop = is_loopback(host)
        if not loop and not token:
            token = secrets.token_urlsafe(24)
        return cls(loopback=loop, token=token)

    def host_allowed(self, host_header: str) -> bool:
        if not self.loopback:
            return True
        name = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
        return name.lower() in LOOPBACK_NAMES

    def token_ok(self, given: str | None) -> bool:
        return self.token is None or (given is not None and secrets.compare_digest(given, self.token))

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and secrets.compare_digest(str(given), self.csrf)

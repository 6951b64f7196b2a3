"""The one auth middleware: the scheme picks the authenticator; a refusal is a 401 problem
with WWW-Authenticate."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aiohttp import web
from aiohttp.typedefs import Handler

from server.auth.authenticators import Authenticator
from server.auth.principal import PRINCIPAL_KEY
from server.http.problems import Problem

MAX_AUTHORIZATION_LENGTH = 8192


def auth_middleware(
    authenticators: Iterable[Authenticator],
    outcome: Callable[[str, str], None] = lambda scheme, outcome: None,
) -> web.middleware:  # type: ignore[valid-type]
    """`outcome(scheme, "accepted" | "refused")` is told of every credential checked (the
    metrics); scheme is the lower-cased scheme, "none" without credentials, "other" for an
    unknown or malformed one."""
    by_scheme = {a.scheme.lower(): a for a in authenticators}
    challenge = ", ".join(f'{a.scheme} realm="api"' for a in by_scheme.values())

    def refuse(detail: str, scheme: str) -> Problem:
        outcome(scheme, "refused")
        return Problem(401, detail, slug="unauthorized", headers={"WWW-Authenticate": challenge})

    # The synchronous cache-hit path of the schemes that have one (see Authenticator.known).
    known = {scheme: getattr(a, "known", None) for scheme, a in by_scheme.items()}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not getattr(handler, "__requires_auth__", False):
            return await handler(request)
        header = request.headers.get("Authorization", "")
        if not header:
            raise refuse("Credentials are required", "none")
        if len(header) > MAX_AUTHORIZATION_LENGTH:
            raise refuse("The Authorization header is too long", "other")
        scheme, _, credentials = header.partition(" ")
        scheme = scheme.lower()
        authenticator = by_scheme.get(scheme)
        credentials = credentials.strip()
        if authenticator is None or not credentials:
            raise refuse("Unsupported or malformed Authorization header", "other")
        # A repeat caller is answered from the caches without a coroutine of its own; None
        # there only means "not known": the authenticator then decides, refusals included.
        fast = known[scheme]
        principal = fast(credentials, request) if fast is not None else None
        if principal is None:
            principal = await authenticator.authenticate(credentials, request)
            if principal is None:
                raise refuse("The credentials are invalid or expired", scheme)
        outcome(scheme, "accepted")
        request[PRINCIPAL_KEY] = principal
        return await handler(request)

    return middleware

"""CORS (`http.cors.*`): lets pages from the allowed origins call the bridge from a browser.

Off while `http.cors.allowed.origins` is empty: no CORS header is written and OPTIONS is an
ordinary (unrouted) method. When on:
- a request whose `Origin` is not allowed is refused 403, preflight or not, as the Strimzi
  bridge does; so is a preflight asking for a method or header that is not allowed;
- a preflight (OPTIONS with `Origin` and `Access-Control-Request-Method`) on any path is
  answered 204 with the allowed methods and headers, before authentication (browsers send
  no credentials with it); any other OPTIONS is answered 204 with `Allow`;
- every response to an allowed origin carries `Access-Control-Allow-Origin` and
  `Access-Control-Expose-Headers`, error responses included, and every response
  `Vary: Origin`. They are added when the response is prepared (`add_cors_headers`), so
  responses that handlers send themselves get them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bridge.errors import BridgeError, ErrorKind
from bridge.settings import Settings

#: How long a browser may cache a preflight's answer, in seconds (Jetty's default, whose
#: CrossOriginFilter the Confluent REST Proxy uses).
MAX_AGE_S = 1800
#: Response headers a page may read besides the CORS-safelisted ones.
EXPOSED_HEADERS = ("Retry-After", "WWW-Authenticate", "X-Request-Id")

#: The CORS headers of the request's response, added as the response is prepared.
CORS_HEADERS = web.RequestKey[Mapping[str, str]]("cors_headers")


@dataclass(frozen=True)
class CorsPolicy:
    origins: frozenset[str]
    methods: tuple[str, ...]
    headers: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> CorsPolicy | None:
        if not settings.cors_allowed_origins:
            return None
        return cls(
            frozenset(origin.lower() for origin in settings.cors_allowed_origins),
            tuple(method.upper() for method in settings.cors_allowed_methods),
            settings.cors_allowed_headers,
        )

    @property
    def any_origin(self) -> bool:
        return "*" in self.origins

    def allows_origin(self, origin: str) -> bool:
        return self.any_origin or origin.rstrip("/").lower() in self.origins

    def response_headers(self, origin: str | None) -> dict[str, str]:
        if origin is None:
            return {"Vary": "Origin"}
        return {
            "Access-Control-Allow-Origin": "*" if self.any_origin else origin,
            "Access-Control-Expose-Headers": ", ".join(EXPOSED_HEADERS),
            "Vary": "Origin",
        }

    def preflight(self, request: web.Request) -> web.Response:
        """204 with what is allowed; 403 when the method or a header asked for is not."""
        method = request.headers["Access-Control-Request-Method"].strip()
        if method.upper() not in self.methods:
            raise BridgeError(
                ErrorKind.CORS_REJECTED,
                f"CORS: method {method} is not allowed (http.cors.allowed.methods: "
                f"{', '.join(self.methods)})",
            )
        allowed = {header.lower() for header in self.headers}
        asked = request.headers.get("Access-Control-Request-Headers", "").split(",")
        refused = [h.strip() for h in asked if h.strip() and h.strip().lower() not in allowed]
        if refused:
            raise BridgeError(
                ErrorKind.CORS_REJECTED,
                f"CORS: request headers {', '.join(refused)} are not allowed "
                f"(http.cors.allowed.headers: {', '.join(self.headers)})",
            )
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": ", ".join(self.methods),
                "Access-Control-Allow-Headers": ", ".join(self.headers),
                "Access-Control-Max-Age": str(MAX_AGE_S),
            },
        )


def cors_middleware(settings: Settings) -> Middleware:
    policy = CorsPolicy.from_settings(settings)

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        if policy is None:
            return await handler(request)
        origin = request.headers.get("Origin")
        if origin is not None and not policy.allows_origin(origin):
            request[CORS_HEADERS] = policy.response_headers(None)
            raise BridgeError(
                ErrorKind.CORS_REJECTED,
                f"CORS: origin {origin} is not allowed (http.cors.allowed.origins)",
            )
        request[CORS_HEADERS] = policy.response_headers(origin)
        if request.method != "OPTIONS":
            return await handler(request)
        if origin is not None and "Access-Control-Request-Method" in request.headers:
            return policy.preflight(request)
        return web.Response(status=204, headers={"Allow": ", ".join(policy.methods)})

    return cors


async def add_cors_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """on_response_prepare: the CORS headers the middleware chose for this request."""
    headers = request.get(CORS_HEADERS)
    if not headers:
        return
    for name, value in headers.items():
        if name == "Vary" and "Vary" in response.headers:
            present = {item.strip().lower() for item in response.headers["Vary"].split(",")}
            if value.lower() not in present:
                response.headers["Vary"] = f"{response.headers['Vary']}, {value}"
        else:
            response.headers[name] = value

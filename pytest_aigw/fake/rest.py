"""The REST API's inference surface and the gateway's Run API, as gateway jobs.

    POST {rest}/run                  {"model", "input"}  v4 envelope, Workers AI result
    POST {rest}/run/@cf/{model}      the model's input   v4 envelope, Workers AI result
    POST {rest}/v1/chat/completions  OpenAI chat         OpenAI's reply and stream
    POST {rest}/v1/responses         OpenAI Responses    OpenAI's reply and stream
    POST {rest}/v1/messages          Anthropic Messages  Anthropic's reply and stream
    POST {gateway}/run               {"model", "input"}  {"state": "Completed", ...}

`{rest}` is `https://api.cloudflare.com/client/v4/accounts/{account}/ai`. Each request
becomes a (provider, path) job the gateway core answers as it answers its own URL: the
`cf-aig-*` headers, scripts, cache, retries, logs and format modules all apply. The provider is the
model's prefix (`openai/gpt-4.1` -> `openai`; `@cf/...` -> `workers-ai`), the path is
the REST path from `ai/` on (`ai/v1/chat/completions`) or `run`, and the model is
recorded whole (`openai/gpt-4.1`), as logs name models since 2026-09-01.

Where Cloudflare documents no answer (protocol.md §1.4.2, §1.4.7, ⚠) the fake
chooses, and says so: a missing token is 401, code 10000, in the v4 envelope;
`cf-aig-gateway-id` must name this fake's gateway, and a request without it reaches
this gateway too (standing in for the account's `default`), except for `@cf/` models,
which need the header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from ..logs_api import API_PREFIX
from .answers import Answer, gateway_answer
from .encoding import compact_bytes
from .errors import INPUT_ERROR, GatewayFault, error_envelope
from .routing import GATEWAY_HOST, UnknownRoute

__all__ = [
    "BAD_REST_INPUT",
    "ENDPOINTS",
    "GATEWAY_HEADER",
    "NO_ROUTE",
    "Plan",
    "RestRoute",
    "api_answer",
    "api_error",
    "is_rest_request",
    "plan_rest",
    "plan_run",
    "provider_of",
    "resolve_rest",
    "rest_model",
]

GATEWAY_HEADER = "cf-aig-gateway-id"
WORKERS_AI = "@cf/"
ENDPOINTS = ("run", "v1/chat/completions", "v1/responses", "v1/messages")

# The Cloudflare API's own refusals, in its v4 envelope.
AUTHENTICATION = GatewayFault(401, 10000, "Authentication error")
NO_ROUTE = GatewayFault(404, 7000, "No route for that URI")  # chosen: Cloudflare's usual answer
OTHER_ACCOUNT = GatewayFault(403, 9109, "Unauthorized to access requested resource")
UNKNOWN_GATEWAY = GatewayFault(404, 2001, "Gateway not found")  # chosen: not documented
GATEWAY_REQUIRED = GatewayFault(400, 7001, "cf-aig-gateway-id is required")  # chosen
# The gateway's model lookup, as observed on the binding path (protocol.md §1.4.3).
UNKNOWN_MODEL = GatewayFault(404, 7003, "Model not found")
BAD_REST_INPUT = GatewayFault(400, 7001, "Invalid input")  # chosen: the Logs API's input code

_FIX_REST_URL = (
    "Fix: build the client's base URL from the fixture: OpenAI(base_url=aigw.rest_url"
    ' + "/v1"), Anthropic(base_url=aigw.rest_url), or POST aigw.rest_url + "/run".'
)


def api_error_body(code: int, message: str) -> dict[str, Any]:
    """The Cloudflare API's v4 error envelope, as the inference routes send it."""
    return error_envelope(code, message, messages=[], result=None)


def api_error(fault: GatewayFault, message: str | None = None) -> httpx.Response:
    """*fault* as the Cloudflare API answers it (v4 envelope)."""
    body = api_error_body(fault.code, message or fault.message)
    return httpx.Response(fault.status_code, json=body)


def api_answer(fault: GatewayFault, detail: str | None = None) -> Answer:
    """*fault* as the Cloudflare API answers it, with *detail* after the message; unlogged."""
    message = f"{fault.message}: {detail}" if detail else fault.message
    body = compact_bytes(api_error_body(fault.code, message))
    return Answer(fault.status_code, (body,), logged=False)


@dataclass(frozen=True)
class RestRoute:
    """A request to the REST inference API, from `ai/` on, and whether it has a token."""

    path: str
    authorized: bool


def is_rest_request(request: httpx.Request) -> bool:
    """Tell whether *request* is for the Cloudflare API's account routes (not the gateway)."""
    return request.url.host != GATEWAY_HOST and request.url.path.startswith(API_PREFIX)


def _has_token(request: httpx.Request, path: str) -> bool:
    bearer = request.headers.get("authorization", "")
    if bearer.startswith("Bearer ") and bearer[len("Bearer ") :].strip():
        return True
    # The Anthropic SDK sends its api_key as x-api-key; the docs point it here with the
    # Cloudflare token as that key.
    return path == "ai/v1/messages" and bool(request.headers.get("x-api-key", "").strip())


def resolve_rest(
    request: httpx.Request, account_id: str, gateway_id: str
) -> RestRoute | UnknownRoute:
    """Route a request under `/client/v4/accounts/` that is not for the Logs API."""
    account, _, tail = request.url.path[len(API_PREFIX) :].partition("/")
    if account != account_id:
        return UnknownRoute(
            f"it names account {account!r}, but the fake serves account {account_id!r}",
            "Fix: build the URL from aigw.rest_url, or mark the test"
            " @pytest.mark.aigw(account_id=...) to serve that account.",
            OTHER_ACCOUNT,
            api=True,
        )
    endpoint = tail.removeprefix("ai/") if tail.startswith("ai/") else None
    if endpoint is None or not (endpoint in ENDPOINTS or endpoint.startswith("run/@cf/")):
        return UnknownRoute(
            f"the fake serves the AI Gateway Logs API and the REST inference API"
            f" (ai/run, ai/run/@cf/..., ai/{{v1/chat/completions, v1/responses,"
            f" v1/messages}}) under the account, not {tail!r}",
            _FIX_REST_URL,
            NO_ROUTE,
            api=True,
        )
    if request.method != "POST":
        reason = f"the REST API takes POST, not {request.method}"
        return UnknownRoute(reason, _FIX_REST_URL, NO_ROUTE, api=True)
    authorized = _has_token(request, tail)
    chosen = request.headers.get(GATEWAY_HEADER)
    if authorized and chosen is not None and chosen != gateway_id:
        return UnknownRoute(
            f"its {GATEWAY_HEADER} header names gateway {chosen!r}, but the fake serves"
            f" gateway {gateway_id!r}",
            f"Fix: send {GATEWAY_HEADER}: aigw.gateway_id (or no header: the fake's gateway"
            " also stands in for the account's default gateway), or mark the test"
            " @pytest.mark.aigw(gateway_id=...) to serve that gateway.",
            UNKNOWN_GATEWAY,
            api=True,
        )
    return RestRoute(tail, authorized)


@dataclass(frozen=True)
class Plan:
    """Where a REST or Run API request goes as a gateway job, or why it is refused."""

    provider: str
    path: str
    endpoint: str  # "rest" or "run": the surface, as `Call.endpoint` records it
    refusal: Answer | None = None


def provider_of(model: str) -> str | None:
    """The provider a model id names: `openai/gpt-4.1` -> `openai`, `@cf/...` -> workers-ai."""
    if model.startswith(WORKERS_AI) and len(model) > len(WORKERS_AI):
        return "workers-ai"
    author, slash, name = model.partition("/")
    return author if slash and author and name and not author.startswith("@") else None


def _model_named(route: RestRoute, body: Any) -> object:
    if route.path.startswith("ai/run/"):
        return route.path[len("ai/run/") :]
    return body.get("model") if isinstance(body, dict) else None


def rest_model(path: str, body: Any) -> str | None:
    """The model a REST API request at *path* (from `ai/` on) names, if it names one."""
    model = _model_named(RestRoute(path, True), body)
    return model if isinstance(model, str) else None


def plan_rest(route: RestRoute, body: Any, gateway_chosen: bool) -> Plan:
    """The job a REST API request becomes; *gateway_chosen*: it sent cf-aig-gateway-id."""
    if not route.authorized:
        return Plan("", route.path, "rest", api_answer(AUTHENTICATION))
    model = _model_named(route, body)
    provider = provider_of(model) if isinstance(model, str) else None
    if provider is None:
        detail = (
            f"{model!r} (the REST API takes 'provider/model', for example 'openai/gpt-4.1',"
            " or a Workers AI model '@cf/author/model')"
        )
        return Plan("", route.path, "rest", gateway_answer(UNKNOWN_MODEL, detail, logged=False))
    if provider == "workers-ai" and not gateway_chosen:
        detail = f"Workers AI models ({model}) always need the {GATEWAY_HEADER} header"
        return Plan(provider, route.path, "rest", api_answer(GATEWAY_REQUIRED, detail))
    if route.path == "ai/run" and not isinstance(body.get("input"), dict):
        detail = "the body's input must be a JSON object: {'model': ..., 'input': {...}}"
        return Plan(provider, route.path, "rest", gateway_answer(INPUT_ERROR, detail, logged=False))
    return Plan(provider, route.path, "rest")


def plan_run(body: Any) -> Plan:
    """The job a gateway Run API request (`POST {gateway}/run`) becomes."""
    model = body.get("model") if isinstance(body, dict) else None
    provider = provider_of(model) if isinstance(model, str) else None
    if provider is None or not isinstance(body, dict):
        detail = f"{model!r} (the Run API takes 'provider/model', for example 'google/nano-banana')"
        return Plan("", "run", "run", gateway_answer(UNKNOWN_MODEL, detail, logged=False))
    if not isinstance(body.get("input"), dict):
        detail = "the body's input must be a JSON object: {'model': ..., 'input': {...}}"
        return Plan(provider, "run", "run", gateway_answer(INPUT_ERROR, detail, logged=False))
    pinned = body.get("provider")
    return Plan(pinned if isinstance(pinned, str) and pinned else provider, "run", "run")

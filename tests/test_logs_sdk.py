"""The official cloudflare SDK runs unmodified against the fake Logs API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import cloudflare
import httpx
import pytest
from cloudflare import AsyncCloudflare, Cloudflare
from conftest import gateway_with_calls

from pytest_aigw import LogSettings, MockGateway

pytestmark = pytest.mark.sdk

# Cloudflare's Logs API operations and schemas (components.schemas), kept beside the tests.
SCHEMA_FILE = Path(__file__).parent / "data" / "logs-openapi.json"
SCHEMAS = json.loads(SCHEMA_FILE.read_text())["components"]["schemas"]
MODEL_FILTER = json.dumps([{"key": "model", "operator": "eq", "value": ["gpt-4o"]}])


@pytest.fixture
def gw() -> Iterator[MockGateway]:
    with gateway_with_calls(7) as gateway:
        yield gateway


@pytest.fixture
def cf() -> Iterator[Cloudflare]:
    with Cloudflare(api_token="test-token", max_retries=0) as client:
        yield client


def test_list_auto_paginates_to_the_end_newest_first(gw: MockGateway, cf: Cloudflare) -> None:
    pager = cf.ai_gateway.logs.list(gw.gateway_id, account_id=gw.account_id, per_page=3)
    assert [log.id for log in pager] == list(reversed(gw.log_ids))


def test_filters_go_through_extra_query_and_the_typed_form_is_ignored(
    gw: MockGateway, cf: Cloudflare
) -> None:
    logs = cf.ai_gateway.logs
    filtered = logs.list(
        gw.gateway_id, account_id=gw.account_id, extra_query={"filters": MODEL_FILTER}
    )
    assert {log.model for log in filtered} == {"gpt-4o"}
    assert len(list(filtered)) == 3
    typed = logs.list(
        gw.gateway_id,
        account_id=gw.account_id,
        filters=[{"key": "model", "operator": "eq", "value": ["gpt-4o"]}],
    )
    assert len(list(typed)) == 7  # the dotted form is ignored, as the real API ignores it


def test_get_edit_request_response_and_delete(gw: MockGateway, cf: Cloudflare) -> None:
    logs = cf.ai_gateway.logs
    first = gw.log_ids[0]
    log = logs.get(first, account_id=gw.account_id, gateway_id=gw.gateway_id)
    assert (log.id, log.model, log.provider) == (first, "gpt-4o-mini", "openai")
    # The SDK types metadata as a string; non-strict validation keeps the object as sent.
    assert log.metadata == {"user": "u0"}  # type: ignore[comparison-overlap]
    assert isinstance(log.created_at, datetime)
    assert (
        logs.edit(first, account_id=gw.account_id, gateway_id=gw.gateway_id, feedback=1, score=90)
        == {}
    )
    # feedback and score are not in the SDK's model: pydantic keeps them as extras.
    # (`to_dict()` would warn here: the SDK types metadata as a string.)
    assert logs.get(first, account_id=gw.account_id, gateway_id=gw.gateway_id).model_extra == {
        "model_type": "chat",
        "event_id": first,  # no client event id: the gateway's own, the log id
        "wholesale": False,
        "byok": False,
        "authentication": False,
        "user_agent": "python-httpx/" + httpx.__version__,
        "feedback": 1,
        "score": 90,
    }
    request: Any = logs.request(first, account_id=gw.account_id, gateway_id=gw.gateway_id)
    response: Any = logs.response(first, account_id=gw.account_id, gateway_id=gw.gateway_id)
    assert (request["n"], response["object"]) == (0, "chat.completion")
    deleted = logs.delete(
        gw.gateway_id, account_id=gw.account_id, extra_query={"filters": MODEL_FILTER}
    )
    assert deleted.success is True
    assert len(gw.log_store) == 4


def test_api_errors_raise_the_sdks_exceptions_and_change_nothing(
    gw: MockGateway, cf: Cloudflare
) -> None:
    with pytest.raises(cloudflare.BadRequestError) as bad:
        cf.ai_gateway.logs.edit(
            gw.log_ids[0], account_id=gw.account_id, gateway_id=gw.gateway_id, score=150
        )
    assert bad.value.status_code == 400
    assert "score" not in (
        cf.ai_gateway.logs.get(
            gw.log_ids[0], account_id=gw.account_id, gateway_id=gw.gateway_id
        ).model_extra
        or {}
    )
    with pytest.raises(cloudflare.NotFoundError):
        cf.ai_gateway.logs.get(
            "01JNOTALOGID0000000000000", account_id=gw.account_id, gateway_id=gw.gateway_id
        )


def test_legacy_email_and_key_and_string_metadata() -> None:
    settings = LogSettings(metadata_as="string")
    with MockGateway(log_settings=settings) as gw:
        httpx.post(gw.url("openai") + "/chat/completions", headers={"cf-aig-metadata": '{"a":1}'})
        legacy = Cloudflare(api_email="me@example.com", api_key="k", max_retries=0)
        log = legacy.ai_gateway.logs.get(
            gw.log_ids[0], account_id=gw.account_id, gateway_id=gw.gateway_id
        )
    assert log.metadata == '{"a":1}'


def test_the_async_client_works_too(gw: MockGateway) -> None:
    async def run() -> list[str]:
        async with AsyncCloudflare(api_token="t", max_retries=0) as client:
            pager = client.ai_gateway.logs.list(gw.gateway_id, account_id=gw.account_id, per_page=2)
            return [log.id async for log in pager]

    assert asyncio.run(run()) == list(reversed(gw.log_ids))


# --- the bodies match the published schemas ------------------------------------------------


def conforms(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Problems of *value* against the OpenAPI subset the logs schemas use."""
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null where not nullable"]
    kind = schema.get("type")
    checks = {
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
    }
    if kind in checks and not checks[kind](value):
        return [f"{where}: expected {kind}, got {value!r}"]
    problems = []
    if schema.get("format") == "date-time":
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    for name in schema.get("required", []):
        if name not in value:
            problems.append(f"{where}: missing {name}")
    for name, sub in schema.get("properties", {}).items():
        if isinstance(value, dict) and name in value:
            problems += conforms(value[name], sub, f"{where}.{name}")
    if kind == "array" and "items" in schema:
        for n, item in enumerate(value):
            problems += conforms(item, schema["items"], f"{where}[{n}]")
    return problems


def test_list_and_detail_bodies_conform_to_the_published_schemas() -> None:
    with MockGateway(log_settings=LogSettings(metadata_as="string")) as gw, httpx.Client() as c:
        c.post(gw.url("openai") + "/chat/completions", headers={"cf-aig-metadata": '{"a":1}'})
        base = f"{gw.api_url}/accounts/{gw.account_id}/ai-gateway/gateways/{gw.gateway_id}/logs"
        auth = {"authorization": "Bearer t"}
        listed = c.get(base, headers=auth).json()
        detail = c.get(f"{base}/{gw.log_ids[0]}", headers=auth).json()
        bad = c.get(base, params={"per_page": "99"}, headers=auth).json()
        missing = c.get(f"{base}/nope", headers=auth).json()
    problems = [
        *conforms(listed["result"][0], SCHEMAS["AigLogListItem"], "list item"),
        *conforms(listed["result_info"], SCHEMAS["AigLogListResultInfo"], "result_info"),
        *conforms(detail["result"], SCHEMAS["AigLogDetail"], "detail"),
        *conforms(bad, SCHEMAS["AigError400"], "400"),
        *conforms(missing, SCHEMAS["AigError404"], "404"),
    ]
    assert problems == []

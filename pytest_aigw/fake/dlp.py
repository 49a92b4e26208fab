"""DLP: what the gateway's Data Loss Prevention policies find in requests and responses.

A test declares a policy's matches with `aigw.dlp(...)`: what it checks (the request,
the response, or both), its action (block or flag), the DLP profiles that match, and
which requests they match in (the request matchers of `respond`). A match adds the
`cf-aig-dlp` header, `{"findings": [...], "action": "FLAG" | "BLOCK"}`, to the answer;
a block replaces the answer with the gateway's 400 (code 2029 for the request, 2030
for the response).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .arguments import check, fail
from .errors import GatewayFault
from .matchers import Asked, Matchers, matchers

__all__ = [
    "DLP_HEADER",
    "REQUEST_BLOCKED",
    "RESPONSE_BLOCKED",
    "DlpPolicy",
    "DlpResult",
    "dlp_rule",
    "scan",
]

Side = Literal["request", "response"]
CHECKS = ("request", "response", "both")
ACTIONS = ("block", "flag")
DLP_HEADER = "cf-aig-dlp"
REQUEST_BLOCKED = GatewayFault(400, 2029, "Request content blocked due to DLP policy violations")
RESPONSE_BLOCKED = GatewayFault(400, 2030, "Response content blocked due to DLP policy violations")
_IDS = uuid.UUID("6f1e2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b")  # namespace of the ids made up here


@dataclass(frozen=True)
class DlpPolicy:
    """One declared policy: in requests that match, *profiles* find sensitive data."""

    number: int
    check: Literal["request", "response", "both"]
    action: Literal["block", "flag"]
    profiles: tuple[str, ...]
    policy_id: str
    matchers: Matchers
    text: str

    def covers(self, side: Side) -> bool:
        return self.check in (side, "both")

    def findings(self, side: Side) -> list[dict[str, Any]]:
        """One finding per profile, shaped as the `cf-aig-dlp` header lists them."""
        return [
            {
                "profile": {
                    "context": {},
                    "entry_ids": [str(uuid.uuid5(_IDS, f"entry:{profile}"))],
                    "profile_id": profile,
                },
                "policy_ids": [self.policy_id],
                "check": side.upper(),
            }
            for profile in self.profiles
        ]


@dataclass(frozen=True)
class DlpResult:
    """What the policies found on one side of one request."""

    side: Side
    findings: tuple[dict[str, Any], ...]
    blocked: bool

    @property
    def fault(self) -> GatewayFault | None:
        if not self.blocked:
            return None
        return REQUEST_BLOCKED if self.side == "request" else RESPONSE_BLOCKED


def scan(policies: Sequence[DlpPolicy], asked: Asked, side: Side) -> DlpResult | None:
    """The policies covering *side* that match *asked*, or None when none does."""
    found = [p for p in policies if p.covers(side) and not p.matchers.mismatches(asked)]
    if not found:
        return None
    findings = tuple(finding for policy in found for finding in policy.findings(side))
    return DlpResult(side, findings, any(policy.action == "block" for policy in found))


def header_value(results: Sequence[DlpResult]) -> str:
    """The `cf-aig-dlp` header for everything found on one request."""
    action = "BLOCK" if any(result.blocked for result in results) else "FLAG"
    findings = [finding for result in results for finding in result.findings]
    return json.dumps({"findings": findings, "action": action}, separators=(",", ":"))


def log_fields(results: Sequence[DlpResult]) -> dict[str, Any]:
    """The DLP fields of the request's log (names chosen: Cloudflare documents none)."""
    findings = [finding for result in results for finding in result.findings]
    checks = sorted({result.side.upper() for result in results})
    return {
        "dlp_action": "BLOCK" if any(result.blocked for result in results) else "FLAG",
        "dlp_check": checks[0] if len(checks) == 1 else "BOTH",
        "dlp_policy_ids": _unique(p for f in findings for p in f["policy_ids"]),
        "dlp_profile_ids": _unique(f["profile"]["profile_id"] for f in findings),
        "dlp_entry_ids": _unique(e for f in findings for e in f["profile"]["entry_ids"]),
    }


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


def dlp_rule(
    check_: object,
    *,
    action: object,
    profiles: object,
    policy: object,
    **matcher_args: Any,
) -> Any:
    """Check `aigw.dlp(...)` arguments; return a builder taking the policy's number."""
    chosen = matchers(**matcher_args)
    check("check", check_, check_ in CHECKS, "'request', 'response' or 'both'")
    check("action", action, action in ACTIONS, "'block' or 'flag'")
    check(
        "policy",
        policy,
        policy is None or (isinstance(policy, str) and bool(policy.strip())),
        "a policy id (a non-empty string), or None for one made up",
    )
    found = _profiles(profiles)
    shown = [f"check={check_!r}", f"action={action!r}"]
    if profiles is not None:
        shown.append(f"profiles={list(found)!r}")
    if policy is not None:
        shown.append(f"policy={policy!r}")
    shown += [f"{k}={v!r}" for k, v in chosen.described().items() if v is not None]
    text = f"aigw.dlp({', '.join(shown)})"

    def make(number: int) -> DlpPolicy:
        policy_id = policy if isinstance(policy, str) else f"dlp_policy_{number}"
        ids = found or (str(uuid.uuid5(_IDS, f"profile:{policy_id}")),)
        return DlpPolicy(number, check_, action, ids, policy_id, chosen, text)  # type: ignore[arg-type]

    return make


def _profiles(profiles: object) -> tuple[str, ...]:
    if profiles is None:
        return ()
    expected = "a list of DLP profile ids (non-empty strings), or None for one made up"
    if isinstance(profiles, str) or not isinstance(profiles, list | tuple) or not profiles:
        fail("profiles", profiles, expected)
    for profile in profiles:
        check("profiles", profiles, isinstance(profile, str) and bool(profile.strip()), expected)
    return tuple(profiles)

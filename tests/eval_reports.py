"""Synthetic eval reports carrying every field of the JSON report's shape (schema 2).

Used by the HTML and markdown report tests and by bench/bench_eval_html.py. Texts hold
markup and quotes on purpose: a report renders them as text, never as markup.
"""

from __future__ import annotations

import random
from typing import Any

HOSTILE = "<script>alert('x')</script> & \"quoted\" <b>bold</b>"
LONG_REPLY = "\n".join(f"line {n}: the answer goes on, {HOSTILE}" for n in range(40))


def log_id(rng: random.Random) -> str:
    return "01J" + "".join(rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(23))


def synthetic_case(index: int, rng: random.Random) -> dict[str, Any]:
    trials: list[dict[str, Any]] = []
    for number in range(1, 4):
        outcome = "passed" if rng.random() < 0.8 - (index % 7) * 0.1 else "failed"
        trials.append(
            {
                "trial": number,
                "outcome": outcome,
                "duration": round(rng.uniform(0.05, 2), 6),
                "log_ids": [log_id(rng)],
            }
        )
    passed = sum(trial["outcome"] == "passed" for trial in trials)
    ids = [i for trial in trials for i in trial["log_ids"]]
    verdict = {3: "stable_pass", 0: "stable_fail"}.get(passed, "flaky")
    logs: list[dict[str, Any]] = [
        {
            "log_id": i,
            "feedback": 1.0,
            "score": float(rng.randint(0, 100)),
            "submitted": True,
            "verified": rng.random() < 0.95,
            "error": None,
            "tokens_in": rng.randint(20, 400),
            "tokens_out": rng.randint(5, 300),
            "cost_usd": round(rng.uniform(0.00001, 0.002), 8),
            "latency_ms": round(rng.uniform(80, 3000), 1),
            "judge": False,
            "scores": {"relevance": float(rng.randint(0, 100))},
        }
        for i in ids
    ]
    status = rng.choice(["same", "same", "same", "regression", "fix", "new"])
    return {
        "nodeid": f"tests/test_answers.py::test_answer[case-{index}]",
        "outcome": "passed" if passed >= 2 else "failed",
        "duration": round(sum(trial["duration"] for trial in trials), 6),
        "log_ids": ids,
        "logs": logs,
        "tokens_in": sum(log["tokens_in"] for log in logs),
        "tokens_out": sum(log["tokens_out"] for log in logs),
        "cost_usd": round(sum(log["cost_usd"] for log in logs), 8),
        "latency_ms": round(sum(log["latency_ms"] for log in logs) / len(logs), 1),
        "trials": trials,
        "pass_rate": passed / 3,
        "min_pass_rate": 0.6,
        "verdict": verdict,
        "scores": {"relevance": float(rng.randint(0, 100)), "tone": float(rng.randint(0, 100))},
        "judge_log_ids": [log_id(rng)],
        "baseline": {
            "status": status,
            "outcome": None if status == "new" else rng.choice(["passed", "failed"]),
            "score_delta": None if status == "new" else round(rng.uniform(-30, 30), 1),
            "cost_delta_usd": None if status == "new" else round(rng.uniform(-1e-3, 1e-3), 8),
        },
        "exchanges": [
            {
                "log_id": ids[0],
                "method": "POST",
                "url": "https://gateway.ai.cloudflare.com/v1/acc/gw/openai/chat/completions",
                "model": "gpt-4o-mini",
                "prompt": f"Question {index}: {HOSTILE}",
                "reply": LONG_REPLY if index % 5 == 0 else f"Answer {index}",
                "tool_calls": ['get_weather({"city": "Paris"})'] if index % 3 == 0 else [],
                "status": 200,
                "judge": False,
                "dashboard_url": "https://dash.cloudflare.com/acc/ai/ai-gateway/gw/logs/" + ids[0],
            },
            {
                "log_id": None,
                "method": "POST",
                "url": "https://gateway.ai.cloudflare.com/v1/acc/gw/openai/chat/completions",
                "model": None,
                "prompt": "Judge: is the answer right?",
                "reply": "yes",
                "tool_calls": [],
                "status": 200,
                "judge": True,
                "dashboard_url": "javascript:alert(1)",
            },
        ],
    }


def synthetic_report(cases: int, seed: int = 19) -> dict[str, Any]:
    """A report of *cases* cases with trials, cost, named scores, a baseline and exchanges."""
    rng = random.Random(seed)
    items = [synthetic_case(index, rng) for index in range(cases)]
    logs = [log for case in items for log in case["logs"]]
    judged = [case for case in items if case["outcome"] in ("passed", "failed")]
    passed = sum(case["outcome"] == "passed" for case in items)
    statuses = {
        key: [c["nodeid"] for c in items if c["baseline"]["status"] == key]
        for key in ("regression", "fix", "new")
    }
    return {
        "summary": {
            "schema": 2,
            "cases": len(items),
            "passed": passed,
            "failed": len(items) - passed,
            "skipped": 0,
            "pass_rate": passed / len(judged) if judged else None,
            "min_pass_rate": 0.5,
            "gate_met": bool(judged) and passed / len(judged) >= 0.5,
            "mean_score": sum(log["score"] for log in logs) / len(logs) if logs else None,
            "scored_logs": len(logs),
            "feedback_submitted": len(logs),
            "feedback_verified": sum(log["verified"] for log in logs),
            "logs": len(logs),
            "tokens_in": sum(c["tokens_in"] for c in items),
            "tokens_out": sum(c["tokens_out"] for c in items),
            "cost_usd": round(sum(c["cost_usd"] for c in items), 8),
            "latency_ms": round(sum(log["latency_ms"] for log in logs) / max(len(logs), 1), 1),
            "max_cost_usd": 5.0,
            "stopped_by_cost_cap": False,
            "skipped_by_cost_cap": 0,
            "trials": 3 * len(items),
            **{v: sum(c["verdict"] == v for c in items) for v in ("stable_pass", "flaky")},
            "stable_fail": sum(c["verdict"] == "stable_fail" for c in items),
            "baseline": {
                "path": "baseline/eval <old>.json",
                "regressions": statuses["regression"],
                "fixes": statuses["fix"],
                "new": statuses["new"],
                "removed": ["tests/test_answers.py::test_gone[<removed>]"],
                "fail_on_regression": True,
            },
        },
        "cases": items,
    }

"""The human-readable summary `rag eval` prints (the --json shape is EvalReport.to_dict)."""

from __future__ import annotations

from typing import Any

_ROWS = [
    ("retrieval", "recall@1", "recall@1"),
    ("retrieval", "recall@5", "recall@5"),
    ("retrieval", "mrr", "MRR"),
    ("retrieval", "ndcg@10", "nDCG@10"),
    ("answer", "accuracy", "answer accuracy"),
    ("answer", "abstain_rate", "abstain rate"),
    ("answer", "citation_precision", "citation precision"),
    ("latency_s", "p50", "latency p50 (s)"),
    ("latency_s", "p95", "latency p95 (s)"),
]


def format_report(report: dict[str, Any]) -> str:
    index = report["index"]
    lines = [
        f"{report['dataset']} {report['split']}, {report['mode']}: {report['n']} questions, "
        f"{index['passages']} passages ({index['embedded']} embedded now, "
        f"{index['seconds']} s); {report['elapsed_s']} s in all",
    ]
    for group, key, label in _ROWS:
        value = (report.get(group) or {}).get(key)
        shown = "n/a" if value is None else f"{value:.3f}"
        lines.append(f"  {label:<20} {shown}")
    return "\n".join(lines)

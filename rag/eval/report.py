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
    ("answer", "unanswerable_abstained", "unanswerable: abstained"),
    ("answer", "wrong_abstentions", "wrong abstentions"),
    ("answer", "pdf_page", "right PDF page"),
    ("answer", "language", "answer language"),
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
        if value is not None or group != "answer" or key in ("accuracy", "abstain_rate"):
            lines.append(f"  {label:<24} {shown}")
    kinds = report.get("kinds")
    if kinds:
        lines.append("")
        lines.append("  " + "  ".join(f"{h:>{w}}" for h, w in _KIND_COLUMNS))
        for kind, row in kinds.items():
            cells = [kind, str(row["n"])] + [_cell(row.get(key)) for key in _KIND_KEYS]
            widths = [w for _, w in _KIND_COLUMNS]
            lines.append("  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)))
    return "\n".join(lines)


_KIND_COLUMNS = [
    ("kind", 12),
    ("n", 4),
    ("R@5", 5),
    ("right", 5),
    ("abstain", 7),
    ("cit.prec", 8),
    ("page", 5),
    ("lang", 5),
]
_KIND_KEYS = ["recall@5", "accuracy", "abstain_rate", "citation_precision", "pdf_page", "language"]


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"

"""``DIR/report.html``: what a run kept and removed, and why — a funnel of documents through the steps, removals by
reason, and a few removed documents per reason (from the rejects sink, when the run wrote one).

A single self-contained HTML file: no scripts, no external assets, readable offline.
"""

from __future__ import annotations

import html
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from refinedweb.io import atomic_write_text

SAMPLES_PER_REASON = 3
SAMPLE_CHARS = 400

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}.bar{background:#4a7;height:.8em;display:inline-block}
.drop{background:#c66}pre{white-space:pre-wrap;background:#f6f6f6;padding:.6em;font-size:12px}
h3{margin-top:1.6em}.muted{color:#777}
"""


def _rejected_samples(rejects_dir: Path, seed: int = 0) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Reservoir-sample a few rejected documents per (step, reason), deterministically."""
    from refinedweb.data.readers import read_documents

    rng = random.Random(seed)
    seen: dict[tuple[str, str], int] = defaultdict(int)
    samples: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    if not rejects_dir.exists():
        return samples
    for path in sorted(rejects_dir.glob("*.jsonl*")):
        for doc in read_documents(str(path)):
            key = (doc.metadata.get("step", "?"), doc.metadata.get("reason", "?"))
            seen[key] += 1
            entry = {"id": doc.id, "url": doc.url, "text": doc.text[:SAMPLE_CHARS]}
            if len(samples[key]) < SAMPLES_PER_REASON:
                samples[key].append(entry)
            else:
                slot = rng.randrange(seen[key])
                if slot < SAMPLES_PER_REASON:
                    samples[key][slot] = entry
    return samples


def write_report(output: Path) -> Path:
    output = Path(output)
    stats = json.loads((output / "stats.json").read_text(encoding="utf-8"))
    steps = stats["steps"]
    samples = _rejected_samples(output / "rejects")
    start = max(1, steps[0]["total"]) if steps else 1
    esc = html.escape
    parts = [f"<!doctype html><meta charset=utf-8><title>refinedweb report</title><style>{_STYLE}</style>",
             f"<h1>refinedweb run: {esc(str(output))}</h1>", "<h2>Funnel</h2>",
             "<table><tr><th>step</th><th>in</th><th>kept</th><th>removed</th><th>kept of first step</th><th></th></tr>"]
    for step in steps:
        removed = sum(step["dropped"].values())
        share = step["kept"] / start
        parts.append(
            f"<tr><td>{esc(step['name'])}</td><td>{step['total']:,}</td><td>{step['kept']:,}</td><td>{removed:,}</td>"
            f"<td>{share:.1%}</td><td><span class=bar style='width:{share * 300:.0f}px'></span></td></tr>"
        )
    parts.append("</table><h2>Removals by step and reason</h2>")
    for step in steps:
        if not step["dropped"]:
            continue
        parts.append(f"<h3>{esc(step['name'])}</h3><table><tr><th>reason</th><th>documents</th><th></th></tr>")
        top = max(step["dropped"].values())
        for reason, count in sorted(step["dropped"].items(), key=lambda kv: -kv[1]):
            parts.append(f"<tr><td>{esc(reason)}</td><td>{count:,}</td>"
                         f"<td><span class='bar drop' style='width:{count / top * 300:.0f}px'></span></td></tr>")
        parts.append("</table>")
        for reason in step["dropped"]:
            for sample in samples.get((step["name"], reason), []):
                parts.append(f"<p class=muted>{esc(reason)} · {esc(sample['url'] or sample['id'])}</p>"
                             f"<pre>{esc(sample['text'])}</pre>")
    if not samples:
        parts.append("<p class=muted>Run with --rejects to see samples of removed documents here.</p>")
    path = output / "report.html"
    atomic_write_text(path, "\n".join(parts))
    return path

"""The chart: req/s per page at each size, each bar marked at its target ratio."""

from __future__ import annotations

from pathlib import Path

from bench.targets import page_target


def draw_chart(results: dict, path: Path) -> Path | None:
    """Bar chart of req/s per page at each size, each bar marked at its target."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart (pip install -r bench/requirements.txt)")
        return None
    sizes = results["sizes"]
    pages = list(dict.fromkeys(p for size in sizes.values() for p in size["pages"]))
    width = 0.8 / len(sizes)
    fig, ax = plt.subplots(figsize=(11, 4.8), dpi=110)
    tallest = 0.0
    for i, (label, size) in enumerate(sizes.items()):
        shown = [(x, p) for x, p in enumerate(pages) if p in size["pages"]]  # 10M: home only
        xs = [x + (i - (len(sizes) - 1) / 2) * width for x, _ in shown]
        values = [size["pages"][p]["rps"] for _, p in shown]
        tallest = max([tallest, *values])
        bars = ax.bar(xs, values, width, label=f"{label} posts")
        ax.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=6, padding=2)
        # Each bar's target: its page's ratio of bare Flask as measured in that size's rounds.
        marks = [page_target(results["database"], p) * size["hello"]["rps"] for _, p in shown]
        ax.hlines(
            marks,
            [x - width / 2 for x in xs],
            [x + width / 2 for x in xs],
            colors="black",
            linestyles="dashed",
            linewidth=1,
            label="target: its ratio of bare Flask in the same rounds" if i == 0 else None,
        )
        tallest = max([tallest, *marks])
    ax.set_ylim(0, tallest * 1.15)
    ax.set_xticks(range(len(pages)), pages, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("requests/s (median of rounds)")
    ax.set_title(f"microblog pages, {results['database']}, gunicorn 2 sync workers")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path

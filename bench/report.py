"""Turn a run's measurements into targets, a Markdown report, a JSON file and a chart."""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path

TARGET_RATIO = 0.10  # of bare Flask's req/s, at 100k posts
GROWTH = 0.8  # req/s at 1M posts over req/s at 10k
MAX_STATEMENTS = 4
MAX_PROVIDER_REQUESTS = 2
MAX_RSS_MB = 120
MAX_SEARCH_MS = 50  # the database's time for a search's posts query, at the largest size
RATIO_PAGES = ("home", "explore", "profile", "thread", "notifications", "front")
PEER = (
    "The Mega-Tutorial's final microblog, measured on this kind of machine with the same "
    "settings: bare Flask ≈ 9,400 req/s; its Explore ≈ 130 req/s (0.014×); its home "
    "timeline 9.8 req/s at 10k posts, 2.0 at 100k, 0.2 at 1M."
)


def size_label(posts: int) -> str:
    for scale, suffix in ((1_000_000, "M"), (1_000, "k")):
        if posts >= scale:
            return f"{posts / scale:g}{suffix}"
    return str(posts)


def summarise(rounds: list[dict]) -> dict:
    """The median round's req/s and latencies, every round's req/s, and all errors."""
    return {
        "rps": round(statistics.median(r["rps"] for r in rounds), 1),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in rounds), 2),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in rounds), 2),
        "errors": sum(r["errors"] for r in rounds),
        "rounds_rps": [round(r["rps"], 1) for r in rounds],
    }


def add_ratios(results: dict) -> None:
    """Each page's req/s over bare Flask's, measured in the same rounds."""
    for size in results["sizes"].values():
        size["hello"] = summarise(size["hello_rounds"])
        for page in size["pages"].values():
            page["ratio"] = round(page["rps"] / size["hello"]["rps"], 4)


def targets(results: dict) -> list[dict]:
    """Say which targets hold, which do not, and which this run did not measure."""
    sizes = results["sizes"]
    found: list[dict] = []

    def add(name: str, holds: bool | None, detail: str) -> None:
        found.append({"target": name, "holds": holds, "detail": detail})

    speed = f"{', '.join(RATIO_PAGES)} ≥ {TARGET_RATIO:.2f}× bare Flask at 100k posts"
    if "100k" in sizes:
        measured = sizes["100k"]["pages"]
        ratios = {p: measured[p]["ratio"] for p in RATIO_PAGES if p in measured}
        add(
            speed,
            all(r >= TARGET_RATIO for r in ratios.values()),
            ", ".join(f"{p} {r:.3f}×" for p, r in ratios.items()),
        )
    else:
        add(speed, None, "add 100k to --posts")

    growth_target = f"each page at 1M posts ≥ {GROWTH}× its req/s at 10k"
    if "10k" in sizes and "1M" in sizes:
        growth = {
            p: sizes["1M"]["pages"][p]["rps"] / sizes["10k"]["pages"][p]["rps"]
            for p in sizes["10k"]["pages"]
        }
        add(
            growth_target,
            all(g >= GROWTH for g in growth.values()),
            ", ".join(f"{p} {g:.2f}×" for p, g in growth.items()),
        )
    else:
        add(growth_target, None, 'make bench BENCH_ARGS="--posts 10k,100k,1m"')

    largest = list(sizes)[-1] if sizes else None
    searches = {
        page: p["query_ms"]
        for page, p in (sizes[largest]["pages"].items() if largest else [])
        if page.startswith("search")
    }
    add(
        f"search: the database query ≤ {MAX_SEARCH_MS} ms at the largest size ({largest})",
        all(ms <= MAX_SEARCH_MS for ms in searches.values()) if searches else None,
        ", ".join(f"{page} {ms:.2f} ms" for page, ms in searches.items()) or "not measured",
    )

    counts = {
        (label, page, per): n
        for label, s in sizes.items()
        for page, p in s["pages"].items()
        for per, n in p["statements"].items()
    }
    worst = max(counts.values(), default=0)
    # Fewer statements on a bigger page is fine: the visitor may be among the posts' authors,
    # and then Flask-Login finds them in the session without a query.
    grows = sorted(
        f"{label} {page}"
        for label, s in sizes.items()
        for page, p in s["pages"].items()
        if list(p["statements"].values())[-1] > list(p["statements"].values())[0]
    )
    detail = f"at most {worst} statements"
    if grows:
        detail += "; more statements at 50 posts a page than at 5 on: " + ", ".join(grows)
    add(
        f"SQL statements per page ≤ {MAX_STATEMENTS}, no more for 50 posts a page than for 5",
        worst <= MAX_STATEMENTS and not grows,
        detail,
    )

    signin = results.get("signin")
    if signin:
        per = signin["per_signin"]
        endpoints = ", ".join(f"{k} {v:g}" for k, v in per["app_by_endpoint"].items())
        add(
            f"provider HTTP requests per sign-in after warm-up ≤ {MAX_PROVIDER_REQUESTS}",
            signin["signins"] > 0
            and signin["failures"] == 0
            and per["app"] <= MAX_PROVIDER_REQUESTS,
            f"{per['app']:g} from the app ({endpoints}); {signin['failures']} failed sign-ins; "
            f"plus {per['browser']:g} from the browser (the authorize page and its form)",
        )
    else:
        add(
            f"provider HTTP requests per sign-in after warm-up ≤ {MAX_PROVIDER_REQUESTS}",
            None,
            "skipped (--no-signin)",
        )

    rss = {f"{label}": max(s["worker_rss_mb"], default=0) for label, s in sizes.items()}
    if signin:
        rss["sign-in server"] = max(signin["worker_rss_mb"], default=0)
    add(
        f"worker resident memory ≤ {MAX_RSS_MB} MB after the run",
        bool(rss) and max(rss.values()) <= MAX_RSS_MB,
        ", ".join(f"{k}: {v:.0f} MB" for k, v in rss.items()),
    )

    add(*plan_verdict(sizes))
    return found


def plan_verdict(sizes: dict) -> tuple[str, bool | None, str]:
    """Judge the plans: a full scan fails; a sort of the posts fails only if the query gets
    slower with the posts. A flag alone proves nothing: SQLite bounds an IN ... ORDER BY ...
    LIMIT sort by the limit and stops reading each author's index early, and a LATERAL page per
    author sorts (authors × page) rows whatever the size of the table."""
    name = "query plans: no full scan, no sort of all the posts"
    hard, soft, searches = [], set(), set()
    for label, s in sizes.items():
        for page, p in s["pages"].items():
            for plan in p["plans"]:
                for alarm in plan["alarms"]:
                    if plan["posts_query"] and ("TEMP B-TREE" in alarm or "sorts" in alarm):
                        # A search sorts at most its 1,000 newest matches (search.CANDIDATES),
                        # but finding them takes longer as matches grow: the search target
                        # judges its time, not this rule.
                        (searches if page.startswith("search") else soft).add(page)
                    else:
                        hard.append(f"{label} {page}: {alarm}")
    labels = list(sizes)
    growth = []
    for page in sorted(soft):
        first, last = (sizes[labels[i]]["pages"][page]["query_ms"] for i in (0, -1))
        growth.append((page, first, last))
    detail = "; ".join(hard)
    if searches:
        detail += ("; " if detail else "") + (
            f"{', '.join(sorted(searches))} sort at most 1,000 matches (the search target "
            "judges their time)"
        )
    if growth:
        times = ", ".join(f"{p} {a:.2f} → {b:.2f} ms" for p, a, b in growth)
        detail += ("; " if detail else "") + (
            f"sorts on {', '.join(sorted(soft))}; posts query {labels[0]} → {labels[-1]}: {times}"
        )
    if hard:
        return name, False, detail
    if not growth:
        return name, True, detail or "no flag in any plan"
    if len(labels) < 2:
        return name, None, detail + " (one size: cannot tell whether it grows)"
    return name, all(b <= 2 * max(a, 0.05) for _, a, b in growth), detail + " (must not double)"


def write(results: dict, out: Path) -> str:
    """Add ratios and targets; write the JSON, the Markdown and the chart; return the Markdown."""
    add_ratios(results)
    results["targets"] = targets(results)
    out.mkdir(parents=True, exist_ok=True)
    stamp = results["date"][:16].replace(":", "")
    json_path = out / f"{stamp}-{results['database']}.json"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    chart = draw_chart(results, out / "latest.png")
    markdown = to_markdown(results, chart)
    (out / f"{stamp}-{results['database']}.md").write_text(markdown)
    shutil.copyfile(out / f"{stamp}-{results['database']}.md", out / "latest.md")
    return (
        markdown
        + f"\nWrote {json_path}, {json_path.with_suffix('.md')}, {out}/latest.md"
        + (f", {chart}" if chart else "")
        + "\n"
    )


def to_markdown(results: dict, chart: Path | None) -> str:
    s = results["settings"]
    lines = [
        "# microblog benchmark",
        "",
        f"{results['date']} · {results['database']} · {results['load_generator']} · "
        f"{results['machine']['cpus']} CPUs · Python {results['machine']['python']} · "
        f"run took {results.get('elapsed_s', 0):.0f} s",
        "",
        f"Each page is served by `gunicorn` ({s['gunicorn']}) and loaded with {s['connections']} "
        f"connections for {s['duration_s']:g} s, {s['rounds']} rounds, round robin with bare Flask "
        "(bench/hello.py, same gunicorn settings): req/s is the median round, p50/p99 the median "
        "of the rounds' latencies, × is req/s over bare Flask's in the same rounds. The visitor is "
        "signed in as a user who follows 50 (a session cookie made by Flask-Login's `login_user` "
        "and the app's session serializer). SQL statements are counted in-process with the same "
        "cookie at 5, 20 and 50 posts a page (SQL 5/20/50); query ms is the database's median "
        "time for the statement that loads the page's posts, run in-process.",
        "",
        "| posts | page | req/s | × bare Flask | p50 ms | p99 ms | SQL (5/20/50) | query ms |",
        "|---|---|--:|--:|--:|--:|---|--:|",
    ]
    for label, size in results["sizes"].items():
        h = size["hello"]
        lines.append(
            f"| {label} | bare Flask “hello” | {h['rps']:,.0f} | 1 | {h['p50_ms']:.2f} | "
            f"{h['p99_ms']:.2f} | – | – |"
        )
        for name, p in size["pages"].items():
            statements = "/".join(str(n) for n in p["statements"].values())
            errors = f" ({p['errors']} errors)" if p["errors"] else ""
            lines.append(
                f"| {label} | {name} | {p['rps']:,.0f}{errors} | {p['ratio']:.3f} | "
                f"{p['p50_ms']:.2f} | {p['p99_ms']:.2f} | {statements} | {p['query_ms']:.2f} |"
            )
    cookies = [
        f"{label} {name}"
        for label, size in results["sizes"].items()
        for name, p in size["pages"].items()
        if p.get("set_cookie")
    ]
    if cookies:
        lines += [
            "",
            "⚠ These pages set a cookie on every request of the signed-in visitor "
            "(wrk does not keep it): " + ", ".join(cookies),
        ]
    lines += ["", PEER, ""]
    if chart:
        lines += [f"![Requests per second per page and size]({chart.name})", ""]
    lines += ["## Targets", ""]
    for t in results["targets"]:
        mark = {True: "holds", False: "**does not hold**", None: "not measured"}[t["holds"]]
        lines.append(f"- {t['target']}: {mark} — {t['detail']}")
    lines += ["", "## Sign-in", ""]
    lines += signin_lines(results.get("signin"))
    lines += ["", "## Seeding and memory", ""]
    for label, size in results["sizes"].items():
        lines.append(
            f"- {label} posts: seeded in {size['seed_s']:g} s; workers after the run: "
            + ", ".join(f"{m:.0f} MB" for m in size["worker_rss_mb"])
        )
    lines += ["", "## Query plans", ""]
    lines += plan_lines(results)
    return "\n".join(lines) + "\n"


def signin_lines(signin: dict | None) -> list[str]:
    if not signin:
        return ["Not measured (--no-signin)."]
    per, first = signin["per_signin"], signin["first_signin"]
    fmt = lambda d: ", ".join(f"{k} {v:g}" for k, v in d.items()) or "none"  # noqa: E731
    return [
        f"Setup: {signin['setup']}: `{signin['command']}`; {signin['client_threads']} browsers "
        "(requests sessions) each run GET /login, POST /login/dev, the provider's authorize page "
        "and form, and the callback.",
        "",
        f"- **{signin['signins_per_s']:g} sign-ins/s** ({signin['signins']} in the measured "
        f"rounds, {signin['failures']} failed; median {signin['p50_ms']} ms each)",
        f"- provider requests per sign-in after warm-up: {per['app']:g} from the app "
        f"({fmt(per['app_by_endpoint'])}), {per['browser']:g} from the browser "
        f"({fmt(per['browser_by_endpoint'])})",
        f"- the first sign-in: {first['app']:g} from the app ({fmt(first['app_by_endpoint'])})",
        f"- warm-up: {signin['warmup']['signins']} sign-ins; discovery fetched "
        f"{signin['warmup']['discovery_fetches']} times and keys {signin['warmup']['key_fetches']} "
        "times in the whole run (once per worker, more where its threads raced)",
        "- workers after the run: " + ", ".join(f"{m:.0f} MB" for m in signin["worker_rss_mb"]),
    ] + [
        f"- failed {n}× (warm-up included): {reason}"
        for reason, n in signin["failure_reasons"].items()
    ]


def plan_lines(results: dict) -> list[str]:
    kind = "EXPLAIN QUERY PLAN" if results["database"] == "sqlite" else "EXPLAIN ANALYZE"
    lines = [f"{kind} for each page's statements (primary-key lookups left out).", ""]
    for label, size in results["sizes"].items():
        for name, page in size["pages"].items():
            for plan in page["plans"]:
                what = "posts query" if plan["posts_query"] else "query"
                alarm = " — ⚠ " + "; ".join(plan["alarms"]) if plan["alarms"] else ""
                lines += [
                    f"**{label} · {name} · {what}**{alarm}",
                    "",
                    "```sql",
                    plan["sql"],
                    "```",
                    "```",
                    *plan["plan"],
                    "```",
                    "",
                ]
    return lines


def draw_chart(results: dict, path: Path) -> Path | None:
    """Bar chart of req/s per page at each size, each bar marked at 0.10× bare Flask."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart (pip install -r bench/requirements.txt)")
        return None
    sizes = results["sizes"]
    pages = list(next(iter(sizes.values()))["pages"])
    width = 0.8 / len(sizes)
    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=110)
    for i, (label, size) in enumerate(sizes.items()):
        xs = [x + (i - (len(sizes) - 1) / 2) * width for x in range(len(pages))]
        values = [size["pages"][p]["rps"] for p in pages]
        bars = ax.bar(xs, values, width, label=f"{label} posts")
        ax.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=7, padding=2)
        # The target on each bar: 0.10× bare Flask as measured in that size's own rounds.
        target = TARGET_RATIO * size["hello"]["rps"]
        ax.hlines(
            [target] * len(xs),
            [x - width / 2 for x in xs],
            [x + width / 2 for x in xs],
            colors="black",
            linestyles="dashed",
            linewidth=1,
            label=f"{TARGET_RATIO:.2f}× bare Flask in the same rounds" if i == 0 else None,
        )
    tallest = max(s["pages"][p]["rps"] for s in sizes.values() for p in pages)
    hello = max(s["hello"]["rps"] for s in sizes.values())
    ax.set_ylim(0, max(tallest, TARGET_RATIO * hello) * 1.15)
    ax.set_xticks(range(len(pages)), pages)
    ax.set_ylabel("requests/s (median of rounds)")
    ax.set_title(f"microblog pages, {results['database']}, gunicorn 2 sync workers")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path

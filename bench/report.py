"""Turn a run's measurements into targets, a Markdown report, a JSON file and a chart."""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path
from typing import Any

from bench import heavy_hook, profiling
from bench.chart import draw_chart
from bench.options import size_label as size_label  # where bench/heavy.py may look for it
from bench.targets import targets

PEER = (
    "The Mega-Tutorial's final microblog, measured on this kind of machine with the same "
    "settings: bare Flask ≈ 9,400 req/s; its Explore ≈ 130 req/s (0.014×); its home "
    "timeline 9.8 req/s at 10k posts, 2.0 at 100k, 0.2 at 1M."
)


def summarise(rounds: list[dict]) -> dict:
    """The median round's req/s and latencies, every round's req/s, and all errors."""
    return {
        "rps": round(statistics.median(r["rps"] for r in rounds), 1),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in rounds), 2),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in rounds), 2),
        "errors": sum(r["errors"] for r in rounds),
        "rounds_rps": [round(r["rps"], 1) for r in rounds],
        # CPU per request: much steadier than req/s on a machine that others load too.
        "worker_cpu_ms": _median([r.get("worker_cpu_ms") for r in rounds]),
        "db_cpu_ms": _median([r.get("db_cpu_ms") for r in rounds]),
    }


def _median(values: list[Any]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 3) if known else None


def add_ratios(results: dict) -> None:
    """Each page's req/s over bare Flask's, measured in the same rounds."""
    for size in results["sizes"].values():
        size["hello"] = summarise(size["hello_rounds"])
        for page in size["pages"].values():
            page["ratio"] = round(page["rps"] / size["hello"]["rps"], 4)


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
        "of the rounds' latencies, × is req/s over bare Flask's in the same rounds. The load "
        f"cycles over {s.get('readers', 1)} signed-in readers who follow 50 each (session cookies "
        "made by Flask-Login's `login_user` and the app's session serializer; API tokens for "
        f"the API), and Explore over its first {s.get('explore_pages', 1)} pages; the front page "
        "is one visitor's. CPU ms are per request, from /proc over each round: the gunicorn "
        "workers' (worker) and the PostgreSQL backends' that serve them (db); × by CPU is bare "
        "Flask's worker CPU per request over the page's worker + db CPU, a ratio that other "
        "jobs on the machine move less than req/s (the targets are judged on req/s). SQL "
        "statements are counted in-process at 5, 20 and 50 posts a page (SQL 5/20/50); query "
        "ms is the database's median time for the statement that loads the page's posts, run "
        "in-process.",
        "",
        "| posts | page | req/s | × bare Flask | p50 ms | p99 ms | worker CPU ms | db CPU ms "
        "| × by CPU | SQL (5/20/50) | query ms |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|",
    ]
    for label, size in results["sizes"].items():
        h = size["hello"]
        lines.append(
            f"| {label} | bare Flask “hello” | {h['rps']:,.0f} | 1 | {h['p50_ms']:.2f} | "
            f"{h['p99_ms']:.2f} | {_ms(h.get('worker_cpu_ms'))} | – | 1 | – | – |"
        )
        for name, p in size["pages"].items():
            statements = "/".join(str(n) for n in p["statements"].values())
            errors = f" ({p['errors']} errors)" if p["errors"] else ""
            lines.append(
                f"| {label} | {name} | {p['rps']:,.0f}{errors} | {p['ratio']:.3f} | "
                f"{p['p50_ms']:.2f} | {p['p99_ms']:.2f} | {_ms(p.get('worker_cpu_ms'))} | "
                f"{_ms(p.get('db_cpu_ms'))} | {_ratio(cpu_ratio(h, p))} | {statements} | "
                f"{_ms(p['query_ms'])} |"
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
    profiled = [(label, z["profile"]) for label, z in results["sizes"].items() if z.get("profile")]
    for label, profile in profiled or [("", None)]:
        lines += ["", f"## Where the home page's time goes ({label or 'no'} profile)", ""]
        lines += profiling.lines(profile)
    lines += ["", "## Heavy readers", ""]
    lines += heavy_lines(results.get("heavy"))
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


def cpu_ratio(hello: dict[str, Any], page: dict[str, Any]) -> float | None:
    """Bare Flask's CPU per request over the page's (its worker's and the database's)."""
    spent = (page.get("worker_cpu_ms") or 0) + (page.get("db_cpu_ms") or 0)
    return hello["worker_cpu_ms"] / spent if hello.get("worker_cpu_ms") and spent else None


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def heavy_lines(heavy: dict[str, Any] | None) -> list[str]:
    """bench/heavy.py's readers, their req/s and each one's ratio to the baseline reader."""
    if not heavy:
        return ["Not measured (--no-heavy)."]
    if "skipped" in heavy or "failed" in heavy:
        return [f"Not measured: {heavy.get('skipped') or heavy['failed']}."]
    ratios = heavy_hook.ratios(heavy) or {}
    lines = [
        str(heavy.get("setup", "bench/heavy.py")),
        "",
        "| reader | req/s | × the baseline reader | timeline query ms | before issue 13 |",
        "|---|--:|--:|--:|--:|",
    ]
    baseline = heavy.get("baseline", heavy_hook.BASELINE)
    for name, reader in (heavy.get("readers") or {}).items():
        ratio = "1 (baseline)" if name == baseline else _ratio(ratios.get(name))
        rps = reader.get("rps")
        lines.append(
            f"| {name} | {'–' if rps is None else f'{rps:,.0f}'} | {ratio} | "
            f"{_ms(reader.get('query_ms'))} | {_ms(reader.get('query_ms_before'))} |"
        )
    return lines


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

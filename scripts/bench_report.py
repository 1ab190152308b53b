"""Turn a benchmark run (scripts/bench.py) into docs/benchmarks.md, docs/benchmarks.json and docs/benchmarks.png."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from pathlib import Path

# Everything below this line of docs/benchmarks.md is written by hand (what each change bought) and
# kept when the report is regenerated.
NOTES_MARKER = "<!-- everything below is written by hand and kept when `make bench` rewrites this file -->"

LIST_RPS_TARGET = 1300
LIST_P99_TARGET_MS = 60
GATEWAY_RATIO_TARGET = 0.9
LOGIN_P50_TARGET_MS = 300
WORKER_MEMORY_TARGET_MB = 120
# Issue 14: the list against the bare DRF floor, the list's 304 against the full list, latency at a constant rate.
LIST_FLOOR_RATIO_TARGET = 1.5
LIST_304_RATIO_TARGET = 2.0
FIXED_RATE_P99_TARGET_MS = 20
STACK_MEMORY_TARGET_MB = 600


def machine_description() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30

    def version(command: list[str]) -> str:
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return "not found"
        # first line, without the banner some tools append (wrk: "[epoll] Copyright ...")
        return (result.stdout or result.stderr).strip().splitlines()[0].split(" [", 1)[0]

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "nginx": version(["nginx", "-v"]),
        "wrk": version(["wrk", "--version"]),
        "hey": "hey (Debian)"
        if subprocess.run(["sh", "-c", "command -v hey"], capture_output=True).returncode == 0
        else "not found",
        "postgresql": version(["psql", "--version"]),
    }


def summarise(result: dict) -> dict:
    runs = result["runs"]
    return {
        "key": result["scenario"]["key"],
        "title": result["scenario"]["title"],
        "rps": statistics.mean(run["rps"] for run in runs),
        "rps_runs": [round(run["rps"]) for run in runs],
        # Set for runs made by turns (bench.py measure_by_turns): which round each run was in.
        "rounds": [run["round"] for run in runs] if all("round" in run for run in runs) else None,
        "p50_ms": statistics.mean(run["p50_us"] for run in runs) / 1000,
        "p90_ms": statistics.mean(run["p90_us"] for run in runs) / 1000,
        "p99_ms": statistics.mean(run["p99_us"] for run in runs) / 1000,
        "errors": sum(run["errors"] for run in runs),
        "requests": sum(run["requests"] for run in runs),
    }


def largest_worker_mb(memory: dict[str, list[dict]]) -> float:
    """The largest peak resident size among the gunicorn processes (masters and workers)."""
    services = ("auth", "todo")
    sizes = [entry["peak_mb"] for role, entries in memory.items() if role.startswith(services) for entry in entries]
    return max(sizes, default=0.0)


def targets(summary: dict[str, dict], report: dict) -> list[tuple[str, str, bool | None]]:
    """Each target as (what, measured, met); met is None when the scenario did not run."""
    hasher = report["settings"]["hasher"]

    def get(key: str) -> dict | None:
        return summary.get(key)

    rows: list[tuple[str, str, bool | None]] = []
    listing, direct, detail, not_modified, login = (
        get(k) for k in ("list", "list_direct", "detail", "detail_304", "login")
    )
    if listing:
        rows.append(
            (
                f"authenticated list through the gateway ≥ {LIST_RPS_TARGET} req/s, "
                f"p99 ≤ {LIST_P99_TARGET_MS} ms, no errors",
                f"{listing['rps']:.0f} req/s, p99 {listing['p99_ms']:.1f} ms, {listing['errors']} errors",
                listing["rps"] >= LIST_RPS_TARGET
                and listing["p99_ms"] <= LIST_P99_TARGET_MS
                and listing["errors"] == 0,
            )
        )
    if listing and direct:
        ratio = listing["rps"] / direct["rps"]
        rows.append(
            (
                f"gateway costs ≤ 10% (list via gateway / direct ≥ {GATEWAY_RATIO_TARGET})",
                f"{ratio:.2f}",
                ratio >= GATEWAY_RATIO_TARGET,
            )
        )
    list_304, rendered = get("list_304"), get("list_rendered")
    # Each list against the floor it ran by turns with (bench.py INTERLEAVED_SCENARIOS).
    for name, row, floor in (
        ("page cache warm", listing, get("floor")),
        ("rendered each time (page cache off)", rendered, get("floor_rendered")),
    ):
        if row and floor:
            ratio = row["rps"] / floor["rps"]
            rows.append(
                (
                    f"authenticated list through the gateway, {name}, ≥ {LIST_FLOOR_RATIO_TARGET} times the bare "
                    "DRF floor",
                    f"{ratio:.2f} ({row['rps']:.0f} vs {floor['rps']:.0f} req/s)",
                    ratio >= LIST_FLOOR_RATIO_TARGET,
                )
            )
    if list_304:
        # Against the list as rendered: the warm list is served from the page cache, which a 304 cannot beat by much.
        what = f"the list's 304 (If-None-Match) ≥ {LIST_304_RATIO_TARGET} times the list rendered each time"
        if rendered:
            ratio = list_304["rps"] / rendered["rps"]
            rows.append(
                (
                    what,
                    f"{ratio:.2f} ({list_304['rps']:.0f} vs {rendered['rps']:.0f} req/s)",
                    ratio >= LIST_304_RATIO_TARGET,
                )
            )
        else:
            rows.append((what, "list_rendered did not run", None))
    fixed = {row["key"]: row for row in report.get("fixed_rate") or []}
    for key, name in (("list", "page cache warm"), ("list_rendered", "rendered each time")):
        if key in fixed:
            row = fixed[key]
            rows.append(
                (
                    f"the list ({name}) at a constant {row['offered_rps']} req/s: p99 ≤ {FIXED_RATE_P99_TARGET_MS} ms, "
                    "no errors",
                    f"p99 {row.get('p99_ms', 0):.1f} ms, {row['errors']} errors",
                    row.get("p99_ms", 1e9) <= FIXED_RATE_P99_TARGET_MS and row["errors"] == 0,
                )
            )
    if detail and not_modified:
        rows.append(
            (
                "conditional GET (304) cheaper than a full GET",
                f"{not_modified['rps']:.0f} vs {detail['rps']:.0f} req/s, "
                f"p50 {not_modified['p50_ms']:.1f} vs {detail['p50_ms']:.1f} ms",
                not_modified["rps"] > detail["rps"],
            )
        )
    if login:
        quiet_login = get("login_2c")
        measured = f"p50 {login['p50_ms']:.1f} ms at 50 connections"
        if quiet_login:
            measured += f"; {quiet_login['p50_ms']:.1f} ms at 2 connections"
        rows.append(
            (
                f"login p50 ≤ {LOGIN_P50_TARGET_MS} ms at OWASP's minimum hash cost or above ({hasher})",
                measured,
                login["p50_ms"] <= LOGIN_P50_TARGET_MS,
            )
        )
    worst_worker = largest_worker_mb(report["memory"])
    rows.append(
        (
            f"every gunicorn worker < {WORKER_MEMORY_TARGET_MB} MB peak",
            f"largest peak resident size {worst_worker:.1f} MB",
            0 < worst_worker < WORKER_MEMORY_TARGET_MB,
        )
    )
    stack_total = report.get("stack_memory", {}).get("peak_total_pss_mb", 0.0)
    rows.append(
        (
            f"whole stack < {STACK_MEMORY_TARGET_MB} MB (highest sum of every process's PSS, sampled twice a second)",
            f"{stack_total:.1f} MB",
            0 < stack_total < STACK_MEMORY_TARGET_MB,
        )
    )
    return rows


# Which floor each list scenario ran by turns with: the stack with the page cache off (list_rendered, list_304) had
# its own, floor_rendered; the one with the cache on, floor.
FLOOR_BESIDE = {"list_rendered": "floor_rendered", "list_304": "floor_rendered"}


# Ratios of two scenarios measured on one stack: (label, numerator, denominator).
SIDE_BY_SIDE_PAIRS = [
    ("list through gateway, page cache warm / bare DRF floor", "list", "floor"),
    ("list through gateway, rendered each time / bare DRF floor", "list_rendered", "floor_rendered"),
    ("list direct / bare DRF floor", "list_direct", "floor"),
    ("list 304 / bare DRF floor", "list_304", "floor_rendered"),
    ("list 304 / list rendered each time", "list_304", "list_rendered"),
    ("list through gateway / list direct", "list", "list_direct"),
    ("list / ceiling (nginx /healthz)", "list", "healthz"),
    ("304 / full GET of one todo", "detail_304", "detail"),
    ("refresh / login", "refresh", "login"),
]
# The same, by label: the two scenarios behind each ratio, for its round-by-round values.
SIDE_BY_SIDE_BY_LABEL = {label: (a, b) for label, a, b in SIDE_BY_SIDE_PAIRS}


def ratios(summary: dict[str, dict]) -> list[tuple[str, float]]:
    """Ratios of scenarios measured side by side (by turns, on one stack); a pair from the two stacks of the list's
    phases is read through the floor each ran beside: (a / a's floor) / (b / b's floor), labelled so."""
    across = [
        ("list 304 / list with its page cache warm (each against the floor beside it)", "list_304", "list"),
        ("list, page cache warm / list rendered each time (each against the floor beside it)", "list", "list_rendered"),
    ]

    def rate(key: str) -> float:
        return summary[key]["rps"] if key in summary else 0.0

    # A scenario that completed no request in its run (possible in a QUICK run on a loaded machine) has no ratio.
    found = [(label, rate(a) / rate(b)) for label, a, b in SIDE_BY_SIDE_PAIRS if rate(a) and rate(b)]
    for label, a, b in across:
        floor_a, floor_b = FLOOR_BESIDE.get(a, "floor"), FLOOR_BESIDE.get(b, "floor")
        if rate(a) and rate(b) and rate(floor_a) and rate(floor_b):
            found.append((label, (rate(a) / rate(floor_a)) / (rate(b) / rate(floor_b))))
    return found


def round_ratios(summary: dict[str, dict], a: str, b: str) -> list[float]:
    """a / b round by round, for two scenarios run by turns in the same rounds; empty otherwise."""
    rounds_a, rounds_b = summary[a].get("rounds"), summary[b].get("rounds")
    if not rounds_a or rounds_a != rounds_b:
        return []
    return [run_a / run_b for run_a, run_b in zip(summary[a]["rps_runs"], summary[b]["rps_runs"], strict=True) if run_b]


def ratio_line(summary: dict[str, dict], label: str, value: float, pair: tuple[str, str] | None) -> str:
    """One ratio; for a pair run by turns, each round's own ratio too: one stalled run moves the mean of four."""
    line = f"- {label}: **{value:.2f}**"
    each = round_ratios(summary, *pair) if pair else []
    if len(each) > 1:
        line += f" (round by round: {' / '.join(f'{one:.2f}' for one in each)}; median {statistics.median(each):.2f})"
    return line


def write_chart(summary: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(summary.values())
    labels = [row["key"] for row in rows]
    figure, (throughput, latency) = plt.subplots(2, 1, figsize=(11, 8), constrained_layout=True)
    throughput.bar(labels, [row["rps"] for row in rows], color="#3b6ea8")
    throughput.axhline(
        LIST_RPS_TARGET, color="#c0392b", linestyle="--", linewidth=1, label=f"list target {LIST_RPS_TARGET}"
    )
    # log scale: nginx alone answers ~50 times faster than any Django endpoint
    throughput.set_yscale("log")
    throughput.set_ylabel("requests per second (log scale)")
    throughput.set_title("Throughput per scenario (wrk, 50 connections; login_2c: 2)")
    throughput.legend()
    width = 0.27
    positions = range(len(rows))
    for offset, (name, colour) in enumerate((("p50_ms", "#7fb3d5"), ("p90_ms", "#2e86c1"), ("p99_ms", "#1b4f72"))):
        latency.bar(
            [p + (offset - 1) * width for p in positions],
            [row[name] for row in rows],
            width,
            label=name[:3],
            color=colour,
        )
    latency.set_xticks(list(positions), labels)
    latency.set_yscale("log")
    latency.set_ylabel("latency (ms, log scale)")
    latency.set_title("Latency percentiles per scenario")
    latency.legend()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def scaling_rows(report: dict) -> list[dict]:
    """Each scaling scenario's throughput with one instance per service and with several, and their ratio."""
    scaling = report.get("scaling")
    if not scaling:
        return []
    single = {result["scenario"]["key"]: summarise(result) for result in report["results"]}
    rows = []
    for result in scaling["results"]:
        scaled = summarise(result)
        base = single.get(scaled["key"])
        if base and base["rps"]:
            rows.append(
                scaled
                | {"instances": scaling["instances"], "rps_single": base["rps"], "factor": scaled["rps"] / base["rps"]}
            )
    return rows


def tracing_rows(report: dict) -> list[dict]:
    """Each tracing scenario's throughput with tracing off and on, and their ratio."""
    tracing = report.get("tracing")
    if not tracing:
        return []
    untraced = {result["scenario"]["key"]: summarise(result) for result in report["results"]}
    rows = []
    for result in tracing["results"]:
        traced = summarise(result)
        base = untraced.get(traced["key"])
        if base and base["rps"]:
            rows.append(
                traced | {"rps_off": base["rps"], "p99_off_ms": base["p99_ms"], "factor": traced["rps"] / base["rps"]}
            )
    return rows


# What each of the list's scenarios stands for, in a sentence, printed under the results for those that ran.
LIST_MEANINGS = {
    "list": "`list` asks for the same page again and again, so after the first request each worker sends the bytes it "
    "rendered last time (its rendered-page cache, keyed by the owner's list stamp) after the token check's one query: "
    "what a client re-reading a list that has not changed costs when it does not send If-None-Match.",
    "list_rendered": "`list_rendered` is the same request with the page cache off (`TODO_LIST_PAGE_CACHE_BYTES=0`; "
    "run first, by turns with `list_304` and `floor_rendered`, then the stack is restarted with the cache on for the "
    "other scenarios, on the same rows and beside the same floor process), so every request runs the page's query "
    "and renders it: what a list that just changed, or a page not asked for before, costs.",
    "list_304": "`list_304` sends the page's ETag back as If-None-Match and gets a 304 without a body after the token "
    "check's one query: what a polling client that has the page already costs. It is answered before the page cache "
    "is asked, so it runs by turns with `list_rendered`, its target's other half; the warm list already skips the "
    "work a 304 saves.",
    "floor": "`floor` is a bare DRF ListAPIView (no middleware, authentication or pagination, one query) beside the "
    "stack: the framework's floor every list figure is read against. `floor_rendered` is the same floor run by turns "
    "with the list rendered each time, on the stack with the page cache off.",
    "by_turns": "The list's scenarios run by turns (`list`, `list_direct`, `floor`; and, on the stack with the page "
    "cache off, `list_rendered`, `list_304`, `floor_rendered`): round after round of shorter runs, one of each, the "
    "order rotating, so that the machine's drift over minutes falls on each alike and the ratios compare like with "
    "like. A ratio between the two stacks is read through the floor each ran beside. A ratio of two scenarios run by "
    "turns is followed by its value in each round and their median: on this shared machine one run in four can stall "
    "by a third, which moves the mean of the rates but not the median of the rounds.",
}


SCALING_NOTE = """\
Why the factor is at most 1 here: the stack's processes and wrk share the same 2 cores, and one instance
per service already runs two gunicorn workers per service, enough to keep both cores busy. The list and
create scenarios are bound by CPU (Python in the workers, nginx, PostgreSQL, wrk itself) and the login
scenario by the Argon2id hash, CPU and memory too; a second instance adds processes that compete for the
same cores, with their own connections and caches, so throughput stays level or drops. More instances
pay off where they bring more cores (a bigger machine, pods spread over nodes); on one machine their
value is availability: a killed or restarting instance costs no request (`make test-faults`)."""


def markdown(report: dict, summary: dict[str, dict], kept_notes: str) -> str:
    settings, machine = report["settings"], report["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (scripts/bench.py); numbers drift between runs on a shared machine, so",
        "compare the ratios as much as the absolute numbers.",
        "",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB,",
        f"  Linux {machine['kernel']};",
        f"  Python {machine['python']}, {machine['nginx']}, {machine['wrk']}, {machine['postgresql']}.",
        f"- Load: wrk `-t{settings['threads']} -c{settings['connections']}`, {settings['warmup_seconds']} s warm-up,",
        f"  then {settings['repeats']} run(s) of {settings['seconds']} s per scenario (the list's scenarios: the same"
        f" time in rounds of shorter runs, by turns)" + (" (QUICK)" if settings["quick"] else "") + ";",
        "  wrk runs on the same 2 cores as the stack.",
        "- Stack: " + ", ".join(f"`{key}={value}`" for key, value in settings["stack_env"].items()) + ".",
        "  **The gateway's rate limits are lifted for this run** (all load comes from one address); the login",
        "  throttles stay on (only failed logins spend them), and every token, isolation and validation check too.",
        f"- Password hasher: {settings['hasher']}.",
        f"- Whole run: {report['elapsed_seconds']} s.",
        "",
        "## Results",
        "",
        "| scenario | req/s (mean of runs) | runs | p50 ms | p90 ms | p99 ms | errors |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for row in summary.values():
        lines.append(
            f"| {row['title']} | {row['rps']:.0f} | {' / '.join(map(str, row['rps_runs']))} | {row['p50_ms']:.1f} | "
            f"{row['p90_ms']:.1f} | {row['p99_ms']:.1f} | {row['errors']} |"
        )
    lines += [
        "",
        "Errors count every response whose status is not the scenario's expected one, plus socket errors",
        "and timeouts.",
        "",
    ]
    # Runs made by turns carry their round (bench.py measure_by_turns).
    by_turns = any("round" in run for result in report["results"] for run in result["runs"])
    meanings = [meaning for key, meaning in LIST_MEANINGS.items() if key in summary or (key == "by_turns" and by_turns)]
    if meanings:
        lines += ["The list's scenarios:", ""] + [f"- {meaning}" for meaning in meanings] + [""]
    lines += [
        "![throughput and latency per scenario](benchmarks.png)",
        "",
        "## Ratios",
        "",
    ]
    lines += [ratio_line(summary, label, value, SIDE_BY_SIDE_BY_LABEL.get(label)) for label, value in ratios(summary)]
    fixed = report.get("fixed_rate") or []
    if fixed:
        lines += [
            "",
            f"## At a constant {fixed[0]['offered_rps']} req/s",
            "",
            "Latency as users feel it, below saturation: hey `-c 8 -q 50` (8 workers of 50 req/s each) for the run's",
            "length, before the saturating wrk runs above. Reported beside them: the figures at saturation are",
            "mostly queueing.",
            "",
            "| scenario | req/s achieved | p50 ms | p90 ms | p99 ms | errors |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for row in fixed:
            lines.append(
                f"| {row['title']} | {row.get('rps', 0):.0f} | {row.get('p50_ms', 0):.1f} | {row.get('p90_ms', 0):.1f} "
                f"| {row.get('p99_ms', 0):.1f} | {row['errors']} |"
            )
    rows = scaling_rows(report)
    if rows:
        instances = rows[0]["instances"]
        lines += [
            "",
            f"## {instances} instances per service",
            "",
            f"The same scenarios with `AUTH_INSTANCES={instances} TODO_INSTANCES={instances}` (each instance its own",
            "gunicorn master with the same workers), through the gateway's least-connections balancing.",
            "",
            "| scenario | req/s, 1 instance | req/s, " + f"{instances} instances | scaling factor | p99 ms | errors |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for row in rows:
            lines.append(
                f"| {row['title']} | {row['rps_single']:.0f} | {row['rps']:.0f} | {row['factor']:.2f} | "
                f"{row['p99_ms']:.1f} | {row['errors']} |"
            )
        lines += ["", SCALING_NOTE]
    traced_rows = tracing_rows(report)
    if traced_rows:
        lines += [
            "",
            "## Tracing on",
            "",
            "The same scenarios with `OTEL_EXPORTER_OTLP_ENDPOINT` set: every request, query and event is a span,",
            "batched and exported over OTLP/HTTP to a local endpoint that discards it (docs/observability.md).",
            "",
            "| scenario | req/s, tracing off | req/s, tracing on | ratio | p99 ms off | p99 ms on | errors |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for row in traced_rows:
            lines.append(
                f"| {row['title']} | {row['rps_off']:.0f} | {row['rps']:.0f} | {row['factor']:.2f} | "
                f"{row['p99_off_ms']:.1f} | {row['p99_ms']:.1f} | {row['errors']} |"
            )
    lines += ["", "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for what, measured, met in targets(summary, report):
        lines.append(f"| {what} | {measured} | {'yes' if met else 'not run' if met is None else '**no**'} |")
    lines += [
        "",
        "## Peak memory per process",
        "",
        "Peak resident set (`VmHWM`) of each process at the end of the run, and each group's share of the",
        "stack's memory (PSS) at the moment the whole stack's PSS peaked. Resident sizes cannot be added up:",
        "gunicorn workers share their master's pages and PostgreSQL backends share the buffer pool; PSS",
        "counts each shared page once, split among the processes that map it.",
        "",
        "| process group | processes | peak resident sizes (MB) | PSS at the stack's peak (MB) |",
        "|---|---:|---|---:|",
    ]
    at_peak = report.get("stack_memory", {}).get("by_role_at_peak_mb", {})
    for role, entries in report["memory"].items():
        peaks = ", ".join(f"{entry['peak_mb']:.0f}" for entry in entries)
        lines.append(f"| {role} | {len(entries)} | {peaks} | {at_peak.get(role, 0.0):.0f} |")
    lines += ["", NOTES_MARKER, kept_notes.strip("\n"), ""]
    return "\n".join(lines)


def write(report: dict, docs: Path) -> None:
    summary = {result["scenario"]["key"]: summarise(result) for result in report["results"]}
    page = docs / "benchmarks.md"
    kept_notes = ""
    if page.exists() and NOTES_MARKER in page.read_text():
        kept_notes = page.read_text().split(NOTES_MARKER, 1)[1]
    (docs / "benchmarks.json").write_text(json.dumps(report | {"summary": summary}, indent=2) + "\n")
    if summary:
        write_chart(summary, docs / "benchmarks.png")
    page.write_text(markdown(report, summary, kept_notes))

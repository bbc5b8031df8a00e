"""Renders benchmarks/results/*.json into the figure tables of docs/benchmarks.md; --check fails on drift.

Each results file owns one block of docs/benchmarks.md, between `<!-- figures: <name> -->` and
`<!-- /figures: <name> -->`; a results file without a block gets a new section at the end. The check
also fails when a measured figure of a results file is written by hand anywhere else in README.md
or docs/ (outside the blocks): prose links to docs/benchmarks.md instead.
Usage: .lab/venv/bin/python benchmarks/report.py [--check] [--root DIR]
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"<!-- figures: (?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- /figures: (?P=name) -->", re.S)
# Keys whose numbers are settings, counts or goals, not measurements.
NOT_MEASURED = {"n", "rows", "jobs", "messages", "events", "rounds", "invocations"}

Row = tuple[str, str, str]


def num(value: float) -> str:
    """A figure as the JSON holds it (so the stray check finds hand copies), ints grouped by thousands."""
    return f"{value:,}" if isinstance(value, int) else str(value)


def spread(q: dict[str, float], unit: str = "ms") -> str:
    text = f"p50 {num(q['p50'])} {unit}, p95 {num(q['p95'])} {unit}"
    return text + (f", max {num(q['max'])} {unit}" if "max" in q else "")


def lab_lifecycle(r: dict[str, Any]) -> Iterator[Row]:
    left = r["left_behind_after_down"]
    tidy = "no port or process left" if not any(left.values()) else f"left behind: {left}"
    yield "`make up` (Postgres + LocalStack healthy)", f"{num(r['make_up_s'])} s", ""
    yield "`make apply` on a fresh LocalStack (all resources)", f"{num(r['make_apply_fresh_s'])} s", ""
    target = f"< {num(r['target_make_up_apply_s'])} s"
    yield "`make up apply` from nothing", f"{num(r['make_up_apply_s'])} s", target
    yield "`make apply` with nothing changed", f"{num(r['make_apply_unchanged_s'])} s", ""
    ping = r["ping_user_request_warm_ms"]
    yield f"warm `GET /ping` through `_user_request_` ({num(ping['n'])} requests)", spread(ping), ""
    yield "`make down`", f"{num(r['make_down_s'])} s, {tidy}", ""


def jobs_api(r: dict[str, Any]) -> Iterator[Row]:
    warm, cold = r["warm"], r["cold"]
    post, noop = warm["post_jobs_ms"], warm["trivial_handler_ms"]
    yield f"warm `POST /jobs` ({num(post['n'])} requests)", spread(post), ""
    yield f"warm trivial handler ({num(noop['n'])} requests)", spread(noop), ""
    yield (
        "warm `POST /jobs` / trivial handler, p50",
        num(warm["ratio_p50"]),
        f"<= {num(warm['target_ratio'])}",
    )

    def median(label: str, runs: dict[str, Any], detail: str = "") -> Row:
        samples = runs["samples"]
        measured = f"median {num(runs['median'])} ms ({num(min(samples))}-{num(max(samples))}{detail})"
        return f"{label} ({len(samples)} cold starts)", measured, ""

    parts = ", ".join(f"{key} {num(value)}" for key, value in cold["floor_breakdown_median_ms"].items())
    yield median("cold init + first `POST /jobs`", cold["jobs_api_init_plus_first_post_ms"])
    yield median("cold floor", cold["floor_ms"], f"; {parts}")
    yield "cold jobs API / floor, medians", num(cold["ratio"]), f"<= {num(cold['target_ratio'])}"


def outbox_latency(r: dict[str, Any]) -> Iterator[Row]:
    done, targets = r["submit_to_completed_ms"], r["targets_ms"]
    yield f"`POST /jobs` ({num(r['jobs'])} jobs)", spread(r["post_ms"]), ""
    yield "submit to `completed`, p50", f"{num(done['p50'])} ms", f"<= {num(targets['completed_p50'])} ms"
    yield "submit to `completed`, p95", f"{num(done['p95'])} ms", f"<= {num(targets['completed_p95'])} ms"
    yield "submit to `completed`, max", f"{num(done['max'])} ms", ""


def relay_throughput(r: dict[str, Any]) -> Iterator[Row]:
    def rate(key: str) -> str:
        run = r[key]
        return f"{num(run['per_s'])} messages/s ({num(run['messages'])} in {num(run['seconds'])} s)"

    targets = r["targets"]
    yield "dispatcher (4 calls at a time)", rate("dispatcher"), ""
    yield "dispatcher, one call at a time", rate("dispatcher_one_call_at_a_time"), ""
    yield "naive relay", rate("naive_relay"), ""
    yield "`SendMessageBatch` ceiling", rate("ceiling_send_message_batch"), ""
    yield (
        "dispatcher / naive relay",
        f"{num(r['dispatcher_vs_naive'])}x",
        f">= {num(targets['dispatcher_vs_naive'])}x",
    )
    one_at_a_time = num(r["dispatcher_one_call_at_a_time_vs_ceiling"])
    ceiling = f"{num(r['dispatcher_vs_ceiling'])} ({one_at_a_time} one call at a time)"
    yield "dispatcher / ceiling", ceiling, f">= {num(targets['dispatcher_vs_ceiling'])}"


def events_api(r: dict[str, Any]) -> Iterator[Row]:
    bulk, latency = r["bulk_vs_single"], r["ingest_to_projection"]
    events, rounds = num(bulk["events"]), num(bulk["rounds"])
    yield f"{events} single `POST /api/v1/events`, median of {rounds}", f"{num(bulk['singles_ms'])} ms", ""
    yield f"one bulk POST of {events} events, median of {rounds}", f"{num(bulk['bulk_ms'])} ms", ""
    yield "singles / bulk", f"{num(bulk['speedup'])}x", f">= {num(bulk['target_speedup'])}x"
    singles, bulked = num(bulk["singles_until_projected_ms"]), num(bulk["bulk_until_projected_ms"])
    yield f"until all {events} cars are projected: singles, bulk", f"{singles} ms, {bulked} ms", ""
    yield f"`POST /api/v1/events` ({num(latency['post_ms']['n'])} events)", spread(latency["post_ms"]), ""
    yield "submit to projected", spread(latency["submit_to_projected_ms"]), ""


def payments(r: dict[str, Any]) -> Iterator[Row]:
    create, trivial = r["create_payment_ms"], r["trivial_invoke_ms"]
    yield f"warm `createPayment` invoke ({num(create['n'])} invocations)", spread(create), ""
    yield f"warm trivial function invoke ({num(trivial['n'])} invocations)", spread(trivial), ""
    yield "`createPayment` / trivial invoke, p50", num(r["ratio_p50"]), f"<= {num(r['target_ratio_p50'])}"
    calls = ", ".join(f"{partner} {num(count)}" for partner, count in sorted(r["sts_calls_before"].items()))
    yield "`AssumeRole` calls while warming", calls, "1 per partner"
    yield "`AssumeRole` calls during the warm invocations", num(r["sts_calls_during_warm_invocations"]), "0"


def hot_reload(r: dict[str, Any]) -> Iterator[Row]:
    for kind, label in (("trivial", "one-module function"), ("lab", "lab-shaped function (ping's imports)")):
        edit, warm = r[kind]["edit_to_new_behaviour_ms"], r[kind]["warm_invoke_ms"]
        yield f"{label}: edit -> the next invoke runs it ({num(edit['n'])} edits)", spread(edit), ""
        yield f"{label}: warm invoke", spread(warm), ""


def soak(r: dict[str, Any]) -> Iterator[Row]:
    jobs = num(r["jobs"])
    pace = (
        f"paced to {num(r['paced_rate_per_s'])} jobs/s"
        if r.get("paced_rate_per_s")
        else "as fast as they can"
    )
    yield f"jobs posted by {num(r['clients'])} clients, {pace}; accepted", f"{jobs}, {num(r['accepted'])}", ""
    yield "lost (accepted, never final)", num(r["lost"]), "0"
    yield "applied exactly once", "yes" if r["exactly_once"] else "no", "yes"
    yield "applied twice, parked", f"{num(r['applied_twice'])}, {num(r['parked'])}", "0, 0"
    kills = f"{num(r['dispatcher_kills'])} dispatcher environments SIGKILLed"
    held = f"the held call's rows: {num(r['killed_batch_entries'])}"
    yield "faults injected", f"{num(r['duplicates_injected'])} duplicated sends; {kills} ({held})", ""
    yield "copies skipped by the worker's inbox", num(r["duplicates_skipped_by_inbox"]), ""
    yield "sustained rate, first POST to last completion", f"{num(r['sustained_jobs_per_s'])} jobs/s", ""
    done = r["submit_to_completed_ms"]
    yield "submit to `completed`", f"{spread(done)}; p99 {num(done['p99'])} ms", ""
    yield "where the time goes: API (POST round trip)", spread(r["api_ms"]), ""
    yield "relay (job committed -> outbox row published)", spread(r["relay_ms"]), ""
    yield "delivery (published -> completed: queue + worker)", spread(r["delivery_ms"]), ""


def p95(step: dict[str, Any]) -> str:
    value = step["latency_ms"]["p95"]
    text = "no answer" if value is None else f"p95 {num(value)} ms"
    failures = [f"{num(step[k])} {k.replace('_', ' ')}" for k in ("bad_answers", "unfinished") if step.get(k)]
    return text + (f" ({', '.join(failures)})" if failures else "")


def sustained_rate(r: dict[str, Any]) -> Iterator[Row]:
    target = f"p95 < {num(r['target_p95_ms'])} ms"
    for name, key in (
        ("the bare API (POST of a trivial function)", "bare_api"),
        ("the lab (submit to `completed`)", "lab"),
    ):
        steps = ", ".join(f"{num(s['rate'])}/s {p95(s)}" for s in r[key]["steps"])
        yield f"{name}: highest rate held", f"{num(r[key]['sustained_per_s'])} /s", target
        yield f"{name}: steps of {num(r['step_seconds'])} s", steps, ""
    yield "lab / bare API", num(r["lab_over_bare"]), ""


def faults(r: dict[str, Any]) -> Iterator[Row]:
    for name, value in r["recovery_s"].items():
        counted = "jobs accepted" in name  # a count the suite records beside the times
        yield name, num(int(value)) if counted else f"{num(value)} s", ""


def flattened(r: dict[str, Any], prefix: str = "") -> Iterator[Row]:
    """Any other results file: one row per value, named by its path in the JSON."""
    for key, value in r.items():
        if key == "measured_at":
            continue
        if isinstance(value, dict):
            yield from flattened(value, f"{prefix}{key}.")
        elif isinstance(value, list):
            yield (
                f"`{prefix}{key}`",
                ", ".join(num(v) if isinstance(v, int | float) else str(v) for v in value),
                "",
            )
        else:
            yield f"`{prefix}{key}`", num(value) if isinstance(value, int | float) else str(value), ""


RENDERERS: dict[str, Callable[[dict[str, Any]], Iterator[Row]]] = {
    "lab_lifecycle": lab_lifecycle,
    "jobs_api": jobs_api,
    "outbox_latency": outbox_latency,
    "relay_throughput": relay_throughput,
    "events_api": events_api,
    "payments": payments,
    "hot_reload": hot_reload,
    "soak": soak,
    "sustained_rate": sustained_rate,
    "faults": faults,
}


def render(name: str, results: dict[str, Any]) -> str:
    """The block's body: blank-line padded, so the markers never touch the table in any renderer."""
    lines = ["", "| what | measured | target |", "|---|---|---|"]
    rows = RENDERERS.get(name, flattened)(results)
    lines += ["|" + "|".join(f" {cell} " if cell else " " for cell in row) + "|" for row in rows]
    source = f"`benchmarks/results/{name}.json`"
    measured_at = results.get("measured_at")
    lines += ["", f"From {source}" + (f", measured {measured_at}." if measured_at else "."), ""]
    return "\n".join(lines) + "\n"


def load_results(root: Path) -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text())
        for path in sorted((root / "benchmarks" / "results").glob("*.json"))
    }


def regenerate(doc: str, results: dict[str, dict[str, Any]]) -> tuple[str, list[str]]:
    """The document with every block rendered afresh, and the names of filled blocks without a results file.

    An empty block is a placeholder for a benchmark not run yet.
    """
    orphans = [m["name"] for m in BLOCK.finditer(doc) if m["name"] not in results and m["body"].strip()]

    def fill(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in results:
            return match[0]
        return f"<!-- figures: {name} -->\n{render(name, results[name])}<!-- /figures: {name} -->"

    doc = BLOCK.sub(fill, doc)
    present = {m["name"] for m in BLOCK.finditer(doc)}
    for name in sorted(set(results) - present):
        section = f"<!-- figures: {name} -->\n{render(name, results[name])}<!-- /figures: {name} -->\n"
        doc = doc.rstrip("\n") + f"\n\n## {name}\n\n{section}"
    return doc, orphans


def measured_figures(value: Any, key: str = "") -> Iterator[str]:
    """The numbers a hand copy would give away: non-integer measurements and rates."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not k.startswith("target") and k not in NOT_MEASURED:
                yield from measured_figures(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from measured_figures(v, key)
    elif isinstance(value, float) and not value.is_integer() and len(re.sub(r"\D|^0+", "", str(value))) > 2:
        yield str(value)  # two digits (0.96, 1.2) would match too much ordinary prose
    elif isinstance(value, int) and not isinstance(value, bool) and key == "per_s":
        yield str(value)
        yield f"{value:,}"


def stray_figures(root: Path, results: dict[str, dict[str, Any]]) -> list[str]:
    figures = {figure: name for name, r in results.items() for figure in measured_figures(r)}
    if not figures:
        return []
    pattern = re.compile(r"(?<![\d.,])(" + "|".join(map(re.escape, figures)) + r")(?!\d|[.,]\d)")
    problems = []
    for path in [root / "README.md", *sorted((root / "docs").glob("**/*.md"))]:
        if not path.exists():
            continue
        text = BLOCK.sub("", path.read_text())
        for number, line in enumerate(text.splitlines(), 1):
            problems += [
                f"{path.relative_to(root)}:{number}: {match[1]} (from {figures[match[1]]}.json) is"
                " copied by hand: generate it or link to docs/benchmarks.md"
                for match in pattern.finditer(line)
            ]
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the docs disagree with the JSON")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    args = parser.parse_args()
    docs = args.root / "docs" / "benchmarks.md"
    results = load_results(args.root)
    current = docs.read_text()
    wanted, orphans = regenerate(current, results)
    problems = [
        f"docs/benchmarks.md: block {name!r} has no benchmarks/results/{name}.json" for name in orphans
    ]
    if args.check:
        if wanted != current:
            diff = difflib.unified_diff(
                current.splitlines(), wanted.splitlines(), "docs/benchmarks.md", "rendered", lineterm="", n=1
            )
            problems.append(
                "docs/benchmarks.md disagrees with benchmarks/results/*.json:\n" + "\n".join(diff)
            )
        problems += stray_figures(args.root, results)
    elif wanted != current:
        docs.write_text(wanted)
        print(f"report: rewrote {docs}")
    for problem in problems:
        print(f"report: {problem}", file=sys.stderr)
    if problems:
        hint = "run `.lab/venv/bin/python benchmarks/report.py` and commit docs/benchmarks.md"
        sys.exit(f"report: {len(problems)} problem(s); {hint}" if args.check else "report: fix the above")


if __name__ == "__main__":
    main()

"""The human-readable table of a run's results."""

from __future__ import annotations

from typing import Any

MODE_NAMES = {
    "want_next": "want_next: SubmitJudgment(want_next), 1 RPC a judgment",
    "two_calls": "two_calls: NextTask + SubmitJudgment, 2 RPCs a judgment",
}


def mode_rows(j: dict[str, Any], e: dict[str, Any]) -> list[tuple[str, str, str]]:
    """One judging mode's rates against the echo. In want_next mode an RPC does a judgment
    and a lease, so the per-RPC ratio compares that with an echo; judgments/s over echo
    RPCs/s is given beside it."""
    # server CPU per RPC is far less sensitive to other work on a shared machine than the
    # rates are: a server starved of CPU serves fewer RPCs, but each costs the same
    j_cpu = 10 * j["server_cpu_percent"] / j["rpcs_per_s"]
    e_cpu = 10 * e["server_cpu_percent"] / e["rpcs_per_s"]
    rows: list[tuple[str, str, str]] = [
        (f"[{MODE_NAMES.get(j.get('mode', 'two_calls'), j.get('mode', ''))}]", "", ""),
        ("judgments/s (committed)", f"{j['judgments_per_s']:,.0f}", ""),
        (
            f"labelwire RPCs/s ({j.get('rpcs_per_judgment', 2.0):.2f} a judgment)",
            f"{j['rpcs_per_s']:,.0f}",
            "",
        ),
        ("ratio labelwire RPCs / echo (whole phase)", f"{j['ratio_to_echo']:.1%}", ">= 50%"),
        (
            "ratio judgments / echo RPCs (whole phase)",
            f"{j.get('judgments_ratio_to_echo', j['judgments_per_s'] / e['rpcs_per_s']):.1%}",
            "",
        ),
        (
            "server CPU ms per RPC, labelwire / echo (echo share)",
            f"{j_cpu:.2f} / {e_cpu:.2f} ({e_cpu / j_cpu:.0%})",
            "",
        ),
        ("server CPU ms per judgment", f"{10 * j['server_cpu_percent'] / j['judgments_per_s']:.2f}", ""),
    ]
    pr = j.get("paired")
    if pr:
        rows.append(
            (
                f"ratio, median of {len(pr['pairs'])} paired {pr['seconds']:.0f}s runs (min-max)",
                f"{pr['median_ratio']:.1%} ({pr['min_ratio']:.0%}-{pr['max_ratio']:.0%})",
                ">= 50%",
            )
        )
        if "median_judgments_ratio" in pr:
            rows.append(("  judgments / echo RPCs, paired median", f"{pr['median_judgments_ratio']:.1%}", ""))
        judged_rates = [p["judgments_per_s"] for p in pr["pairs"]]
        echo_rates = [p["echo_rpcs_per_s"] for p in pr["pairs"]]
        rows.append(
            (
                "  paired runs: judgments/s, echo req/s (min-max)",
                f"{min(judged_rates):,.0f}-{max(judged_rates):,.0f}, {min(echo_rates):,.0f}-{max(echo_rates):,.0f}",
                "",
            )
        )
    for method in ("NextTask", "SubmitJudgment"):
        lat = j["latency"].get(method)
        if lat:
            rows.append((f"{method} p50 / p99 ms", f"{lat['p50_ms']:.1f} / {lat['p99_ms']:.1f}", ""))
    rows += [
        (
            "judgments in window / window s",
            f"{j['judgments']:,} / {j['window_s']:.0f}{' (job done)' if j['job_done'] else ''}",
            "",
        ),
        (
            "no task: NextTask / SubmitJudgment's next",
            f"{j['calls'].get('NextTask (no task)', 0):,} / {j['calls'].get('want_next (no task)', 0):,}",
            "",
        ),
        ("RPC errors", str(j["errors"] or "none"), "none"),
        (
            "server CPU (judging / echo srv)",
            f"{j['server_cpu_percent']:.0f}% / {e['server_cpu_percent']:.0f}%",
            "",
        ),
        (
            "driver CPU (judging / echo)",
            " ".join(f"{x:.0f}%" for x in j["driver_cpu_percent"])
            + " / "
            + " ".join(f"{x:.0f}%" for x in e["driver_cpu_percent"]),
            "",
        ),
        (
            "machine busy (all cores) / load avg, judging",
            f"{j['machine_busy_percent']:.0f}% / {j['loadavg_1m']:.1f}",
            "",
        ),
    ]
    rows += [
        (f"  server thread: {t['role']}", f"{t['cpu_percent']:.0f}%", "")
        for t in j.get("server_threads", [])[:4]
    ]
    return rows


def table(res: dict[str, Any]) -> str:
    """The human-readable results, one metric a row, target beside it."""
    e = res["echo"]
    rows: list[tuple[str, str, str]] = [
        (
            "echo server requests/s (best of runs)",
            f"{e['rpcs_per_s']:,.0f} (" + ", ".join(f"{x:,.0f}" for x in e["runs_rpcs_per_s"]) + ")",
            "",
        ),
    ]
    judged = res.get("by_mode") or {"two_calls": {**res["judgments"], "paired": res.get("paired")}}
    for j in judged.values():
        rows += mode_rows(j, e)
    lat = e["latency"]["Echo"]
    rows.append(("Echo p50 / p99 ms", f"{lat['p50_ms']:.1f} / {lat['p99_ms']:.1f}", ""))
    rows.append(
        (
            "machine busy (all cores) / load avg, echo",
            f"{e['machine_busy_percent']:.0f}% / {e['loadavg_1m']:.1f}",
            "",
        )
    )
    rows += [
        (
            f"AddItems items/s ({res['add_items']['items']:,} items)",
            f"{res['add_items']['items_per_s']:,.0f}",
            ">= 50,000",
        ),
        (
            "  AddItems CPU server / client",
            f"{res['add_items']['server_cpu_percent']:.0f}% / {res['add_items']['client_cpu_percent']:.0f}%",
            "",
        ),
        (
            f"StreamLabels labels/s ({res['stream_labels']['labels']:,} labels)",
            f"{res['stream_labels']['labels_per_s']:,.0f}",
            ">= 50,000",
        ),
        (
            "  StreamLabels CPU server / client",
            f"{res['stream_labels']['server_cpu_percent']:.0f}% / {res['stream_labels']['client_cpu_percent']:.0f}%",
            "",
        ),
        ("server peak RSS MB (before million step)", f"{res['rss_mb_peak_before_million']:.0f}", ""),
    ]
    if "million" in res:
        m = res["million"]
        rows += [
            (f"AddItems items/s ({m['items']:,} items)", f"{m['items_per_s']:,.0f}", ">= 50,000"),
            (
                "  AddItems CPU server / client",
                f"{m['server_cpu_percent']:.0f}% / {m['client_cpu_percent']:.0f}%",
                "",
            ),
            ("  s from last item sent to AddItems response", f"{m['tail_after_last_item_s']:.2f}", ""),
            (
                "  NextTask p50 / p99 / max ms during that AddItems",
                f"{m['write_probe']['p50_ms']:.0f} / {m['write_probe']['p99_ms']:.0f} / {m['write_probe']['max_ms']:.0f}",
                "",
            ),
            ("  GetJob / StartJob latency s", f"{m['get_job_s']:.2f} / {m['start_job_s']:.2f}", ""),
            (
                f"server RSS MB after {m['items']:,} items (peak)",
                f"{m['rss_mb_after']:.0f} ({m['rss_mb_peak']:.0f})",
                "< 300",
            ),
        ]
    rows.append(("server peak RSS MB (whole run)", f"{res['rss_mb_peak']:.0f}", ""))
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    lines = [f"{'metric':<{width}}  {'measured':>{vwidth}}  target", "-" * (width + vwidth + 12)]
    lines += [f"{name:<{width}}  {value:>{vwidth}}  {target}" for name, value, target in rows]
    return "\n".join(lines)

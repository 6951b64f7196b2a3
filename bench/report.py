"""Turns bench/run.py's results into the table (figure, value, target, met?) and results.md.

python bench/report.py [bench/results.json]   # re-render results.md from a run's JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MB = 1_000_000
MIB = 1024 * 1024
X = "\u00d7"  # the multiplication sign, written as an escape for the linter


def _yes(ok: bool | None) -> str:
    if ok is None:
        return "n/a"
    return "yes" if ok else "**no**"


def _row(figure: str, value: str, target: str, met: str) -> dict[str, str]:
    return {"figure": figure, "value": value, "target": target, "met": met}


def _missing(figure: str, target: str, phase: str, errors: dict[str, str]) -> dict[str, str]:
    why = errors.get(phase, "not measured")
    return _row(figure, f"not measured ({why[:120]})", target, "n/a")


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def _mib(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f} MiB ({value * MIB / MB:.1f} MB)"


def table_rows(results: dict[str, Any]) -> list[dict[str, str]]:
    phases = results.get("phases", {})
    errors = results.get("errors", {})
    rows: list[dict[str, str]] = []

    inproc = phases.get("inproc")
    labels = {
        "bearer": ("Bearer", "jwt.decode, same token and checks"),
        "bot": ("Bot, no X-Telegram-User-Id (the bot as itself)", "one HMAC-SHA256 of the token"),
        "bot_user": ("Bot + X-Telegram-User-Id (a known user, caches warm)", "one HMAC-SHA256"),
        "tma": ("tma (a known user, caches warm)", "one HMAC-SHA256 of the same data"),
    }
    for scheme, (name, floor_name) in labels.items():
        figure = f"auth middleware µs/op: {name} vs {floor_name}"
        if not inproc or scheme not in inproc.get("ratio", {}):
            rows.append(_missing(figure, f"≤ 1.5 {X} floor", "inproc", errors))
            continue
        us = inproc["us_per_op"]
        ratio = inproc["ratio"][scheme]
        mw, floor = us[f"{scheme}_middleware"], us[f"{scheme}_floor"]
        value = f"{mw:.2f} µs vs {floor:.2f} µs → {ratio:.2f}{X}"
        rows.append(_row(figure, value, f"≤ 1.5 {X} floor", _yes(ratio <= 1.5)))

    logins = phases.get("logins")
    if logins:
        rows.append(
            _row(
                f"logins/s at concurrency {logins['concurrency']} vs argon2 floor "
                f"({logins['cores']} cores {X} single-thread verifies/s)",
                f"{logins['logins_per_s']:.1f}/s vs {logins['floor_per_s']:.1f}/s → "
                f"{logins['ratio']:.2f}{X} (vs {logins['cores']} hashing threads measured "
                f"together, {logins['parallel_measured_per_s']:.1f}/s: "
                f"{logins['ratio_vs_parallel']:.2f}{X})",
                f"≥ 0.8 {X} floor",
                _yes(logins["ratio"] >= 0.8),
            )
        )
        per = logins.get("cpu_ms_per_login")
        if per:
            rows.append(
                _row(
                    "CPU per login (the same 2 cores run the app, its database and the client)",
                    f"app event loop {per['app event loop']} ms + hashing threads "
                    f"{per['app other threads (hashing)']} ms + embedded DB "
                    f"{per['embedded DB']} ms "
                    f"+ load generator {per['load generator']} ms (one verify alone: "
                    f"{logins['verify_ms_single_thread']} ms)",
                    "reported",
                    "reported",
                )
            )
        rows.append(
            _row(
                "GET /health p99 while the login storm saturates hashing",
                f"{_ms(logins['health_p99_ms'])} (p50 {_ms(logins['health_p50_ms'])}, "
                f"{logins['health_probes']} probes)",
                "≤ 25 ms",
                _yes(logins["health_p99_ms"] <= 25),
            )
        )
    else:
        rows.append(_missing("logins/s vs argon2 floor", f"≥ 0.8 {X} floor", "logins", errors))
        rows.append(_missing("GET /health p99 during login storm", "≤ 25 ms", "logins", errors))

    flood = phases.get("form_flood")
    figure = "GET /health p99 while 4 clients post the largest `a&a&…` login form"
    if flood:
        value = (
            f"{_ms(flood['health_p99_ms'])} (each form answered in p99 "
            f"{_ms(flood['form_p99_ms'])}, {flood['forms']} forms, {flood['statuses']})"
        )
        rows.append(_row(figure, value, "≤ 25 ms", _yes(flood["health_p99_ms"] <= 25)))
    else:
        rows.append(_missing(figure, "≤ 25 ms", "form_flood", errors))

    hook = phases.get("webhook")
    if hook:
        n = hook["count"]
        first = hook["runs"][0]
        rows.append(
            _row(
                f"webhook: {n:,} /start updates from distinct users, concurrency "
                f"{hook['concurrency']}: acknowledged and handled exactly once",
                f"{'yes' if hook['exactly_once'] else 'NO'} in every run (run 1: "
                f"{first['acked_200']} acked 200, {first['replies']} replies to "
                f"{first['distinct_chats']} chats, {first['updates_recorded']} updates recorded, "
                f"{first['users_created']} users; {first['redelivered']} redeliveries acked, "
                "not re-handled)",
                "every update once",
                _yes(hook["exactly_once"]),
            )
        )
        single = hook.get("concurrency_1", {}).get("ack_latency", {})
        alone = (
            f"; one at a time: p50 {_ms(single['p50_ms'])}, p99 {_ms(single['p99_ms'])}"
            if single.get("p99_ms") is not None
            else ""
        )
        rows.append(
            _row(
                f"webhook ack p99 at concurrency {hook['concurrency']}",
                f"{_ms(hook['ack_p99_ms'])} (p50 {_ms(hook['ack_p50_ms'])}{alone})",
                "≤ 50 ms",
                _yes(hook["ack_p99_ms"] <= 50),
            )
        )
        per = hook.get("cpu_ms_per_update", {})
        cost = (
            f"; CPU per update: app {per['app event loop']} ms, embedded DB "
            f"{per['embedded DB']} ms, fake Bot API {per['fake Bot API']} ms, load generator "
            f"{per['load generator']} ms"
            if per
            else ""
        )
        rows.append(
            _row(
                "webhook updates/s",
                f"{hook['acks_per_s']:.0f} acked/s; {hook['handled_per_s']:.0f} "
                f"handled/s (first POST → last reply){cost}",
                "reported",
                "reported",
            )
        )
    else:
        rows.append(_missing("webhook: exactly once, ack p99, updates/s", "", "webhook", errors))

    tp = phases.get("throughput")
    names = {
        "health": "GET /health",
        "me_bearer": "GET /api/auth/me (Bearer)",
        "me_bot_user": "GET /api/auth/me (Bot + X-Telegram-User-Id)",
    }
    for key, name in names.items():
        if not tp:
            rows.append(_missing(f"{name} req/s", "reported", "throughput", errors))
            continue
        t = tp[key]
        bad = f", {t['non_2xx']} non-2xx" if t["non_2xx"] else ""
        rows.append(
            _row(
                f"{name} at concurrency {tp['concurrency']}",
                f"{t['rps']:,.0f} req/s, p50 {_ms(t['p50_ms'])}, p99 {_ms(t['p99_ms'])}{bad}",
                "reported",
                "reported",
            )
        )

    cold = phases.get("cold_start")
    if cold:
        db = results.get("machine", {}).get("database", "")
        rows.append(
            _row(
                f"cold start: process start → /ready = 200 ({db})",
                f"{cold['median_s']:.2f} s",
                "≤ 3 s",
                _yes(cold["median_s"] <= 3),
            )
        )
        rows.append(
            _row(
                "memory: app process RSS, idle",
                _mib(cold["idle_rss_median_mib"]),
                "≤ 150 MB",
                _yes(cold["idle_rss_median_mib"] * MIB <= 150 * MB),
            )
        )
    else:
        rows.append(_missing("cold start", "≤ 3 s", "cold_start", errors))
    mem = phases.get("memory")
    if mem:
        rows.append(
            _row(
                f"memory: app process RSS after {mem['users_inserted']:,} registered "
                "users (each served once)",
                _mib(mem["rss_after_mib"]),
                "reported",
                "reported",
            )
        )
    else:
        rows.append(_missing("memory after 10,000 users", "reported", "memory", errors))
    return rows


def render_markdown(results: dict[str, Any]) -> str:
    m = results.get("machine", {})
    phases = results.get("phases", {})
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python bench/run.py`); see bench/README.md for the method.",
        "",
        "## Machine",
        "",
        f"- date: {m.get('date_utc')}",
        f"- CPU: {m.get('cpu')}, {m.get('cores')} cores; {m.get('memory_gib')} GiB RAM; "
        f"Linux {m.get('kernel')}",
        f"- Python {m.get('python')}; "
        + ", ".join(f"{k} {v}" for k, v in (m.get("packages") or {}).items()),
        f"- code: git {m.get('git_head')}{' + uncommitted changes' if m.get('git_dirty') else ''}",
        f"- database: {m.get('database')}; argon2id {m.get('argon2')}; "
        f"service LOG_LEVEL {m.get('log_level')}",
        f"- load generator: {m.get('load_generator')} for the fixed-request rows; "
        "bench/loadgen.py (aiohttp, own process) for logins, webhook and the memory sweep",
        f"- load average at start / end: {_loadavg(m.get('loadavg_at_start'))} / "
        f"{_loadavg(m.get('loadavg_at_end'))} (the machine is shared: figures are medians "
        f"of {results.get('runs')} runs, ratios are taken within a run)",
        f"- whole run: {results.get('total_seconds')} s"
        + (" (--quick: a smoke test, not for quoting)" if results.get("quick") else ""),
        "",
        "## Results",
        "",
        "| figure | value | target | met? |",
        "| --- | --- | --- | --- |",
    ]
    for row in results.get("table", []):
        lines.append(f"| {row['figure']} | {row['value']} | {row['target']} | {row['met']} |")
    lines += ["", "## Details", ""]
    inproc = phases.get("inproc")
    if inproc:
        us = inproc["us_per_op"]
        lines += [
            "Auth middleware, in-process (µs/op, median of "
            f"{inproc['repeats']} interleaved repeats):",
            "",
            "| step | Bearer | Bot | Bot + user | tma |",
            "| --- | --- | --- | --- | --- |",
            f"| library floor | {us['bearer_floor']} | {us['bot_floor']} | {us['bot_floor']} | "
            f"{us['tma_floor']} |",
            "| service call (`AccessTokens.verify` / — / — / `InitDataVerifier.verify`) | "
            f"{us['bearer_service']} | — | — | {us['tma_verify']} |",
            f"| auth middleware | {us['bearer_middleware']} | {us['bot_middleware']} | "
            f"{us['bot_user_middleware']} | {us['tma_middleware']} |",
            "| middleware minus the service call (or the floor) | "
            f"{inproc['middleware_overhead_us']['bearer']} | "
            f"{inproc['middleware_overhead_us']['bot']} | "
            f"{inproc['middleware_overhead_us']['bot_user']} | "
            f"{inproc['middleware_overhead_us']['tma']} |",
            "",
            f"A pass-through middleware (`return await handler(request)`) costs "
            f"{us['passthrough_middleware']} µs; the app's whole middleware chain with Bearer "
            f"costs {us['bearer_full_chain']} µs. tma init data: {inproc['init_data_bytes']} "
            "bytes.",
            "",
        ]
    logins = phases.get("logins")
    if logins:
        lines += [
            "Login storm, per run:",
            "",
            "| run | logins/s | 1-thread verifies/s | floor | ratio | measured "
            f"{logins['cores']}-thread verifies/s | /health p50 / p99 / max | statuses |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for i, r in enumerate(logins["runs"], 1):
            p = r["health_probe"]
            lines.append(
                f"| {i} | {r['logins_per_s']} | {r['argon2']['single_thread_per_s']} | "
                f"{r['floor_per_s']} | {r['ratio']} | {r['argon2']['parallel_per_s']} | "
                f"{p['p50_ms']} / {p['p99_ms']} / {p['max_ms']} ms | {r['statuses']} |"
            )
        lines.append("")
    hook = phases.get("webhook")
    if hook:
        lines += [
            "Webhook, per run:",
            "",
            "| run | acked 200 | replies | distinct chats | recorded | users | "
            "redeliveries acked | ack p50 / p99 / max | acked/s | handled/s |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for i, r in enumerate(hook["runs"], 1):
            a = r["ack_latency"]
            lines.append(
                f"| {i} | {r['acked_200']} | {r['replies']} | {r['distinct_chats']} | "
                f"{r['updates_recorded']} | {r['users_created']} | "
                f"{r['redelivered_acked_200']}/{r['redelivered']} | "
                f"{a['p50_ms']} / {a['p99_ms']} / {a['max_ms']} ms | {r['acks_per_s']} | "
                f"{r['handled_per_s']} |"
            )
        lines.append("")
    tp = phases.get("throughput")
    if tp:
        lines += [
            f"Throughput ({tp['tool']}, concurrency {tp['concurrency']}, "
            f"{tp['duration_s']} s per run), per run req/s (p50 / p99 ms):",
            "",
        ]
        for key in ("health", "me_bearer", "me_bot_user"):
            runs = ", ".join(
                f"{r['rps']:,.0f} ({r['p50_ms']:.2f} / {r['p99_ms']:.2f})" for r in tp[key]["runs"]
            )
            lines.append(f"- {key}: {runs}")
        lines.append("")
    cold = phases.get("cold_start")
    if cold:
        lines += [
            f"Cold starts: {', '.join(f'{s:.2f} s' for s in cold['seconds'])}; idle RSS "
            f"{', '.join(f'{v} MiB' for v in cold['idle_rss_mib'])} (the nx-27017 child, "
            f"not counted: {', '.join(f'{v} MiB' for v in cold['nx_child_idle_rss_mib'])})."
        ]
        lines.append("")
    mem = phases.get("memory")
    if mem:
        lines += [
            f"Memory: {mem['users_inserted']:,} users {mem['how']} "
            f"({mem['sweep']['rps']:,.0f} req/s, statuses {mem['sweep']['statuses']}); "
            f"{mem['users_in_db']:,} users in the database in all. The nx-27017 child "
            f"then held {mem['nx_child_rss_mib']} MiB (not counted)."
        ]
        lines.append("")
    cpu_rows = _cpu_rows(phases)
    if cpu_rows:
        lines += [
            "Where the CPU went (CPU seconds per phase run; 'others' is the rest of the "
            "machine, i.e. other users of a shared box, in cores busy on average; 'loop waits' "
            "is the share of wall time the app's event-loop thread was runnable but waiting "
            "for a CPU):",
            "",
            "| phase run | units | wall s | app (loop + other threads) | nx-27017 | fake Bot API "
            "| load gen | others (cores) | app CPU per unit (loop + other) | DB CPU per unit "
            "| loop waits |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            *cpu_rows,
            "",
        ]
    timeline = results.get("rss_timeline_mib", {})
    if timeline:
        lines += [
            "App process RSS through the run (MiB): "
            + "; ".join(f"{k}: {v}" for k, v in timeline.items())
            + ".",
            "",
        ]
    if results.get("errors"):
        lines += [
            "Phases that failed: " + "; ".join(f"{k}: {v}" for k, v in results["errors"].items()),
            "",
        ]
    return "\n".join(lines)


def _cpu_rows(phases: dict[str, Any]) -> list[str]:
    """One table row per measured run that carries a CpuMeter result."""
    items: list[tuple[str, int, dict[str, Any]]] = []
    tp = phases.get("throughput")
    if tp:
        for key in ("health", "me_bearer", "me_bot_user"):
            for i, r in enumerate(tp[key]["runs"], 1):
                if "cpu" in r:
                    items.append((f"{key} {i}", r["requests"], r["cpu"]))
    logins = phases.get("logins")
    if logins:
        for i, r in enumerate(logins["runs"], 1):
            if "cpu" in r:
                n = r.get("requests_total", sum(r["statuses"].values()))
                items.append((f"login storm {i}", n, r["cpu"]))
    hook = phases.get("webhook")
    if hook:
        for i, r in enumerate(hook["runs"], 1):
            if "cpu" in r:
                items.append((f"webhook {i}", r["count"] + r["redelivered"], r["cpu"]))
    mem = phases.get("memory")
    if mem and "cpu" in mem["sweep"]:
        items.append(("memory sweep", mem["sweep"]["requests"], mem["sweep"]["cpu"]))
    rows = []
    for name, units, cpu in items:
        used = cpu["cpu_s"]
        loop = cpu.get("event_loop_thread", {})
        n = max(units, 1)
        app, app_loop = (
            used.get("app", 0),
            min(used.get("app: event loop thread", 0), used.get("app", 0)),
        )
        app_other = max(0.0, used.get("app: other threads (argon2)", 0))  # /proc rounding
        per_db = used.get("nx-27017", 0) / n * 1000
        rows.append(
            f"| {name} | {units:,} requests | {cpu['wall_s']} | {app} ({app_loop} + "
            f"{app_other}) | {used.get('nx-27017')} | {used.get('fake Bot API')} | "
            f"{used.get('load generator')} | {cpu['others_busy_cores']} | "
            f"{app / n * 1000:.2f} ms ({app_loop / n * 1000:.2f} + {app_other / n * 1000:.2f}) | "
            f"{per_db:.2f} ms | {loop.get('waiting_for_cpu_share', 0):.0%} |"
        )
    return rows


def _loadavg(value: Any) -> str:
    if not value:
        return "n/a"
    return ", ".join(f"{v:.2f}" for v in value)


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("results.json"))
    results = json.loads(path.read_text())
    results["table"] = table_rows(results)
    path.write_text(json.dumps(results, indent=2) + "\n")
    path.with_suffix(".md").write_text(render_markdown(results))
    print(f"wrote {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()

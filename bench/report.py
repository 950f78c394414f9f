"""The results: latest.json (every figure, the machine and the configuration) and latest.md
(each target of issue 4 with the figure, the target and whether it was met)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.report_digests import digest_rows
from bench.report_latency import latency_rows

Row = tuple[str, str, str, str]  # what, figure, target, verdict


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")


def _get(results: dict[str, Any], *keys: str) -> Any:
    node: Any = results
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _verdict(ok: bool | None, shortfall: str = "") -> str:
    if ok is None:
        return "not measured"
    return "met" if ok else f"**missed**{' (' + shortfall + ')' if shortfall else ''}"


def target_rows(results: dict[str, Any], backlog: int) -> list[Row]:
    rows: list[Row] = []
    sdk = results.get("sdk_ceiling", {})
    e2e = results.get("e2e", {})
    for kind in ("email", "sms", "push", "mix"):
        got, ceiling = _get(e2e, kind, "deliveries_per_s"), _get(sdk, kind, "messages_per_s")
        if got is None or not ceiling:
            continue
        ratio = got / ceiling
        rows.append(
            (
                f"e2e {kind} vs bare-SDK ceiling",
                f"{got:.0f} / {ceiling:.0f} /s = {ratio:.0%}",
                ">= 70 %",
                _verdict(ratio >= 0.7, f"{0.7 - ratio:.0%} short"),
            )
        )
    mix = _get(e2e, "mix", "deliveries_per_s")
    if mix is not None:
        rows.append(
            (
                "e2e mix deliveries/s",
                f"{mix:.0f}",
                ">= 500",
                _verdict(mix >= 500, f"{mix / 500:.0%} of it"),
            )
        )
    for kind, base in results.get("baseline", {}).items():
        if not isinstance(base, dict) or kind not in e2e:
            continue
        ratio = e2e[kind]["deliveries_per_s"] / max(base["deliveries_per_s"], 1e-9)
        rows.append(
            (
                f"e2e {kind} vs one-task-per-delivery baseline",
                f"{e2e[kind]['deliveries_per_s']:.0f} / {base['deliveries_per_s']:.0f} /s "
                f"= {ratio:.1f}x",
                ">= 5x",
                _verdict(ratio >= 5, f"{ratio:.1f}x"),
            )
        )
    p99 = _get(results, "api", "rate_100", "latency_ms", "p99")
    if p99 is not None:
        rows.append(
            ("single create p99 at 100 req/s", f"{p99:.0f} ms", "<= 50 ms", _verdict(p99 <= 50))
        )
    rows += _bulk_target_rows(results)
    rows += latency_rows(results)
    rows += digest_rows(results)
    crit = _get(results, "critical", "configured", "all", "p95")
    if crit is not None:
        rows.append(
            (
                f"critical p95 accept -> provider, {backlog:,} backlog",
                f"{crit:.0f} ms",
                "< 1,000 ms (50k backlog)",
                _verdict(crit < 1000, f"{crit / 1000:.1f} s"),
            )
        )
    urgent = _get(results, "critical", "with_urgent_worker", "all", "p95")
    if urgent is not None:
        rows.append(
            (
                "  same, + a dedicated -Q urgent worker",
                f"{urgent:.0f} ms",
                "< 1,000 ms",
                _verdict(urgent < 1000),
            )
        )
    soak = results.get("soak")
    rows.append(
        (
            "worker memory over a long soak",
            soak["verdict_text"] if soak else "soak mode only (python -m bench --soak)",
            "flat over 1M deliveries",
            _verdict(soak["flat"]) if soak else "not measured",
        )
    )
    return rows


def _bulk_target_rows(results: dict[str, Any]) -> list[Row]:
    target = ">= 5,000 recipients/s"
    bulk = results.get("bulk")
    if not bulk:
        # Results written before the bulk phase existed kept a note under api.
        note = _get(results, "api", "bulk", "note") or "not run (phase bulk)"
        return [("bulk accept", note, target, "not measured")]
    rows: list[Row] = []
    for n, data in bulk.get("list", {}).items():
        rate = data["accept_recipients_per_s"]
        rows.append(
            (
                f"bulk accept, list of {int(n):,}",
                f"{rate:,.0f} recipients/s ({data['accept_s']:.2f} s)",
                target,
                _verdict(rate >= 5000, f"{rate / 5000:.0%} of it"),
            )
        )
    lin = bulk.get("linearity") or {}
    if lin.get("cpu_app"):
        small, large = lin["sizes"]
        rows.append(
            (
                f"cost linear in recipients ({large:,} vs {small:,})",
                f"per-recipient cost ratio: CPU {lin['cpu_app']}x (accept {lin['cpu_accept']}x); "
                f"wall time: accept {lin['wall_accept']}x, expansion {lin['wall_expansion']}x, "
                f"all sent {lin['wall_all_sent']}x",
                "~1x (CPU <= 1.25x)",
                _verdict(lin["cpu_app"] <= 1.25, f"{lin['cpu_app']}x"),
            )
        )
    return rows


def info_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        *_ceiling_rows(results),
        *_pipeline_rows(results),
        *_latency_rows(results),
        *_bulk_rows(results),
        *_batch_rows(results),
    ]


def _batch_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    batch = results.get("batch")
    if not batch:
        return []
    alone, mixed = batch["alone"], batch["with_singles"]
    cpu = alone["cpu_ms_per_item"]
    return [
        (
            f"batch API ({batch['items_per_batch']:,}-item batches, {batch['clients']} clients)",
            f"{alone['items_per_s']:,} items/s accepted; CPU per item web {cpu['web']} ms, "
            f"Postgres {cpu['postgres']} ms, workers {cpu['workers']} ms; machine "
            f"{alone['cores']['machine']:.2f} cores busy, {alone['cores']['foreign']:.2f} "
            "of them not ours",
        ),
        (
            f"single creates at {mixed['single_rate_per_s']:g}/s beside batches",
            f"p50 {mixed['single_latency_ms'].get('p50')} ms, p99 "
            f"{mixed['single_latency_ms'].get('p99')} ms; batches meanwhile "
            f"{mixed['items_per_s']:,} items/s",
        ),
    ]


def _bulk_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    bulk = results.get("bulk") or {}
    found = [(f"list of {int(n):,}", d) for n, d in bulk.get("list", {}).items()]
    if "topic" in bulk:
        found.append((f"topic of {bulk['topic']['recipients']:,}", bulk["topic"]))
    channels = "+".join(bulk.get("channels", []))
    rows = []
    for what, d in found:
        expected = d["recipients"] * bulk["deliveries_per_recipient"]
        rows.append(
            (
                f"bulk {what} ({channels})",
                f"accept {d['accept_s']:.2f} s ({d['accept_recipients_per_s']:,}/s); expanded "
                f"after {d['expanded_after_s']} s ({d['expand_recipients_per_s']} recipients/s); "
                f"{d['deliveries_sent']:,}/{expected:,} deliveries sent after "
                f"{d['all_sent_after_s']} s ({d['sent_deliveries_per_s']}/s); "
                f"{d['cpu_ms_per_recipient']['app']:.2f} ms CPU/recipient (web+workers+beat); "
                f"machine {d['cores']['machine']:.2f} cores busy, "
                f"{d['cores']['foreign']:.2f} of them not ours",
            )
        )
    return rows


def _ceiling_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        (f"stand-in ceiling {provider} (trivial client)", f"{data['requests_per_s']:.0f} req/s")
        for provider, data in results.get("standin_ceiling", {}).items()
    ]
    for kind in ("email", "sms", "push", "mix"):
        value = _get(results, "sdk_ceiling", kind, "messages_per_s")
        if value is not None:
            rows.append((f"bare-SDK ceiling {kind}", f"{value:.0f} msg/s"))
    return rows


def _pipeline_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for group in ("e2e", "baseline"):
        for kind, data in results.get(group, {}).items():
            if not isinstance(data, dict):
                continue
            rate, standin = data["deliveries_per_s"], data["standin_accepted_per_s"]
            cpu, foreign = data["cpu_ms_per_delivery"], data["cores"]["foreign"]
            rows.append(
                (
                    f"{group} {kind}",
                    f"{rate:.0f} deliveries/s (stand-ins {standin:.0f}/s); "
                    f"{cpu:.2f} ms CPU/delivery (web+workers+beat); "
                    f"machine {data['cores']['machine']:.2f} cores busy, "
                    f"{foreign:.2f} of them not ours",
                )
            )
    drain = _get(results, "critical", "configured", "backlog_drain_per_s")
    if drain:
        rows.append(("backlog drain, workers only (no API load)", f"{drain:.0f} deliveries/s"))
    scale = results.get("scaleout")
    if scale:
        one = scale["one_worker"]["deliveries_per_s"]
        two = scale["configured"].get("deliveries_per_s") or 0
        rows.append(("scale-out mix: 1 worker process vs configured", f"{one:.0f} vs {two:.0f} /s"))
    for role, mem in results.get("memory", {}).items():
        peak, total = mem["peak_process_mb"], mem["peak_total_mb"]
        rows.append((f"peak RSS {role}", f"{peak:.0f} MB per process, {total:.0f} MB total"))
    return rows


def _latency_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    api = results.get("api", {})
    for key in ("rate_50", "rate_100", "max_rate"):
        if key in api:
            lat = api[key]["latency_ms"]
            what = (
                "max create rate (closed loop)" if key == "max_rate" else f"create at {key[5:]}/s"
            )
            rows.append(
                (
                    what,
                    f"{api[key]['achieved_per_s']:.0f} req/s; "
                    f"p50 {lat.get('p50')} ms, p99 {lat.get('p99')} ms",
                )
            )
    receipt = _get(results, "receipt", "all")
    if receipt:
        rows.append(
            (
                "accept -> provider (mix, steady)",
                " / ".join(f"{q} {receipt.get(q)}" for q in ("p50", "p95", "p99")) + " ms",
            )
        )
    return rows


def markdown(document: dict[str, Any]) -> str:
    results = document["results"]
    cfg = document["config"]
    dirty = " (dirty)" if document["machine"]["dirty"] else ""
    lines = [
        f"# Notify benchmark ({cfg['mode']}) — {document['finished']}",
        "",
        f"{document['machine']['cores']} cores, {document['machine']['cpu']}; provider latency "
        f"{cfg['latency_ms']} ms; layout: {results.get('e2e', {}).get('layout', '?')}; "
        f"code: {cfg.get('code') or document['machine']['commit'] + dirty}; "
        f"run took {document['duration_s'] / 60:.1f} min.",
        "",
        "| target | figure | target value | verdict |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in target_rows(results, cfg["backlog"])]
    lines += ["", "| measurement | figure |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in info_rows(results)]
    return "\n".join(lines) + "\n"

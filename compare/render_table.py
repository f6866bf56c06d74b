#!/usr/bin/env python3
"""Render compare's JSON results as the README's comparison section (markdown on stdout).

Usage: python3 compare/render_table.py [compare-results.json]

Python 3 standard library only. Machine facts (cores, memory, kernel, disk) are read from
the machine this script runs on, so run it where `compare` ran; crate versions come from
compare/Cargo.lock.
"""

import datetime
import json
import os
import platform
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

COLUMNS = [
    ("stratacache", "stratacache `Cache`"),
    ("stratacache-disk", "stratacache `DiskStore`"),
    ("foyer", "foyer (durable settings)"),
    ("foyer-defaults", "foyer (defaults)"),
    ("redb", "redb"),
    ("fjall", "fjall"),
    ("redis", "Redis (AOF everysec)"),
]


def lock_versions():
    versions = {}
    text = open(os.path.join(HERE, "Cargo.lock")).read()
    for block in text.split("[[package]]"):
        name = re.search(r'^name = "([^"]+)"', block, re.M)
        version = re.search(r'^version = "([^"]+)"', block, re.M)
        if name and version:
            versions.setdefault(name.group(1), version.group(1))
    return versions


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    cores = os.cpu_count()
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = "%.0f GiB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    disk = "unknown disk"
    src = run(["findmnt", "-n", "-o", "SOURCE", "--target", HERE])
    dev = os.path.basename(src) if src.startswith("/dev/") else ""
    if dev:
        base = re.sub(r"p?\d+$", "", dev) if not os.path.exists("/sys/block/" + dev) else dev
        kind = "virtual disk" if base.startswith("vd") else "disk"
        try:
            rot = open("/sys/block/%s/queue/rotational" % base).read().strip()
            if not base.startswith("vd"):
                kind = "SSD" if rot == "0" else "rotational disk"
        except OSError:
            pass
        disk = "%s (%s)" % (kind, base)
    return "%s cores (%s), %s memory, Linux %s, %s" % (cores, cpu or "unknown CPU", mem, platform.release(), disk)


def fmt_rate(v):
    if v >= 100:
        return "{:,.0f}".format(v)
    return "{:.1f}".format(v)


def fmt_us(v):
    return "{:,.0f}".format(v) if v >= 100 else "{:.1f}".format(v)


def fmt_ms(s):
    ms = s * 1e3
    return "{:,.0f} ms".format(ms) if ms >= 100 else "{:.1f} ms".format(ms)


ROWS = [
    ("insert, everything durable (values/s)", lambda r: fmt_rate(r["insert_ops_per_sec"])),
    ("insert (MiB/s)", lambda r: fmt_rate(r["insert_mib_per_sec"])),
    ("Zipf(0.9) reads (reads/s)", lambda r: fmt_rate(r["read_ops_per_sec"])),
    ("read latency p50 / p99 (µs)", lambda r: "%s / %s" % (fmt_us(r["read_p50_us"]), fmt_us(r["read_p99_us"]))),
    ("hit rate", lambda r: "%.3f" % r["hit_rate"]),
    ("disk-tier hit rate (of reads that missed memory)",
     lambda r: "%.3f" % r["disk_tier_hit_rate"] if r.get("disk_tier_hit_rate") is not None else "-"),
    ("disk-tier hits served per second (disk-tier hits / time spent on them)",
     lambda r: fmt_rate(r["disk_tier_hits_per_sec"]) if r.get("disk_tier_hits_per_sec") else "-"),
    ("disk-tier hit latency p50 / p99 (µs)",
     lambda r: "%s / %s" % (fmt_us(r["disk_tier_p50_us"]), fmt_us(r["disk_tier_p99_us"]))
     if r.get("disk_tier_p50_us") is not None else "-"),
    ("disk bytes per value byte (allocated)", lambda r: "%.3f" % r["disk_bytes_per_value_byte"]),
    ("open after clean close", lambda r: fmt_ms(r["restart_open_seconds"])),
    ("entries surviving restart", lambda r: "{:,} / {:,}".format(r["restart_survived"], r["entries"])),
    ("open after SIGKILL", lambda r: fmt_ms(r["kill_open_seconds"])),
    ("acknowledged entries surviving SIGKILL",
     lambda r: "{:,} / {:,}".format(r["kill_survived"], r["kill_acknowledged"])),
]


def table(results, size):
    by = {r["engine"]: r for r in results if r["value_size"] == size}
    cols = [(k, t) for k, t in COLUMNS if k in by]
    if not cols:
        return "", by
    n = next(iter(by.values()))["entries"]
    reads = next(iter(by.values()))["reads"]
    out = ["**%s values, %s entries, %s reads**\n" % (human(size), "{:,}".format(n), "{:,}".format(reads))]
    out.append("| | " + " | ".join(t for _, t in cols) + " |")
    out.append("|---|" + "---:|" * len(cols))
    for label, f in ROWS:
        cells = []
        for k, _ in cols:
            r = by[k]
            cells.append("error: %s" % r["error"] if r.get("error") else f(r))
        out.append("| %s | %s |" % (label, " | ".join(cells)))
    return "\n".join(out) + "\n", by


def human(size):
    return "%d KiB" % (size >> 10) if size < (1 << 20) else "%d MiB" % (size >> 20)


def ok(flag):
    return "**met**" if flag else "**not met**"


def targets(by4, by256):
    lines = []
    s4, f4 = by4.get("stratacache"), by4.get("foyer")
    fd4 = by4.get("foyer-defaults")
    if s4 and f4 and not s4.get("error") and not f4.get("error"):
        # "Disk-tier hit rate", read as the rate at which the disk tier serves hits.
        sr, fr = s4.get("disk_tier_hits_per_sec"), f4.get("disk_tier_hits_per_sec")
        if sr and fr:
            extra = ""
            if fd4 and fd4.get("disk_tier_hits_per_sec"):
                extra = "; against foyer's defaults (%s/s): %.2fx" % (
                    fmt_rate(fd4["disk_tier_hits_per_sec"]), sr / fd4["disk_tier_hits_per_sec"])
            lines.append(
                "- Disk-tier hit rate ≥ 5x foyer's at 4 KiB, as hits served per second: %s. stratacache "
                "%s/s (p50 %s µs), foyer with durable settings %s/s (p50 %s µs): %.2fx%s." % (
                    ok(sr / fr >= 5), fmt_rate(sr), fmt_us(s4["disk_tier_p50_us"]), fmt_rate(fr),
                    fmt_us(f4["disk_tier_p50_us"]), sr / fr, extra))
        # The same words read as a fraction of the reads that reached the disk tier.
        sh, fh = s4["disk_tier_hit_rate"], f4["disk_tier_hit_rate"]
        ratio = sh / fh if fh else float("inf")
        lines.append(
            "- The same target read as the fraction of memory misses the disk tier answers: %s. "
            "stratacache %.3f, foyer with durable settings %.3f (%.2fx); 5x would need foyer at or "
            "below 0.2, and the fraction cannot pass 1." % (ok(ratio >= 5), sh, fh, ratio))
    for size, by in ((4096, by4), (256 << 10, by256)):
        s, f = by.get("stratacache"), by.get("foyer")
        d = by.get("stratacache-disk")
        if s and f and not s.get("error") and not f.get("error"):
            ratio = s["insert_ops_per_sec"] / f["insert_ops_per_sec"]
            dtxt = ""
            if d and not d.get("error"):
                dtxt = " (`DiskStore` alone: %.2fx)" % (d["insert_ops_per_sec"] / f["insert_ops_per_sec"])
            lines.append(
                "- Insert throughput with everything persisted ≥ 1x foyer's at %s: %s. %s against %s values/s, "
                "%.2fx%s." % (human(size), ok(ratio >= 1), fmt_rate(s["insert_ops_per_sec"]),
                              fmt_rate(f["insert_ops_per_sec"]), ratio, dtxt))
    kill = []
    for size, by in ((4096, by4), (256 << 10, by256)):
        for k in ("stratacache", "stratacache-disk"):
            r = by.get(k)
            if r and not r.get("error"):
                kill.append((human(size), k, r["kill_survived"], r["kill_acknowledged"]))
    if kill:
        all_ok = all(s == a and a > 0 for _, _, s, a in kill)
        lines.append("- 100%% of flushed entries survive SIGKILL: %s. %s." % (
            ok(all_ok), "; ".join("%s `%s` %s of %s" % (sz, k, "{:,}".format(s), "{:,}".format(a))
                                  for sz, k, s, a in kill)))
    d4, d256 = by4.get("stratacache-disk"), by256.get("stratacache-disk")
    if d4 and d256 and not d4.get("error") and not d256.get("error"):
        a, b = d4["restart_open_seconds"], d256["restart_open_seconds"]
        flat = max(a, b) <= 5 * min(a, b) + 0.005
        lines.append(
            "- Restart open time flat in entry count: %s. `DiskStore` opens %s entries in %s and %s entries in %s "
            "(after SIGKILL: %s and %s)." % (
                ok(flat), "{:,}".format(d4["entries"]), fmt_ms(a), "{:,}".format(d256["entries"]), fmt_ms(b),
                fmt_ms(d4["kill_open_seconds"]), fmt_ms(d256["kill_open_seconds"])))
    parts, all_below = [], True
    for size, by in ((4096, by4), (256 << 10, by256)):
        s = by.get("stratacache")
        if not s or s.get("error"):
            continue
        for other in ("foyer", "redb"):
            o = by.get(other)
            if o and not o.get("error"):
                below = s["disk_bytes_per_value_byte"] < o["disk_bytes_per_value_byte"]
                all_below &= below
                parts.append("%s: %.3f against %s %.3f" % (
                    human(size), s["disk_bytes_per_value_byte"], other, o["disk_bytes_per_value_byte"]))
    if parts:
        lines.append("- Disk bytes per stored byte below foyer's and redb's at 4 KiB and 256 KiB: %s. %s." % (
            ok(all_below), "; ".join(parts)))
    return "\n".join(lines) + "\n"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "compare-results.json"
    data = json.load(open(path))
    results = data["results"]
    v = lock_versions()
    when = datetime.datetime.fromtimestamp(data["unix_time"], datetime.timezone.utc).strftime("%Y-%m-%d")
    rustc = run(["rustc", "--version"]).split(" (")[0]
    redis_server = data.get("redis_server_version") or "redis-server unknown"
    print("Measured on %s on %s; %s; %s." % (when, machine(), rustc or "rustc unknown", redis_server))
    print("Crates (compare/Cargo.lock): stratacache %s, foyer %s, redb %s, fjall %s, redis %s." % (
        v.get("stratacache", "?"), v.get("foyer", "?"), v.get("redb", "?"), v.get("fjall", "?"),
        v.get("redis", "?")))
    print("Values: %s; memory tier %.0f%% of the data; disk capacity 2x the data.\n" % (
        data.get("value_kind", "?"), data["args"]["mem_fraction"] * 100))
    t4, by4 = table(results, 4096)
    t256, by256 = table(results, 256 << 10)
    print(t4)
    print(t256)
    print("Targets:\n")
    print(targets(by4, by256))


if __name__ == "__main__":
    main()

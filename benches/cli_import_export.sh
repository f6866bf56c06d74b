#!/usr/bin/env bash
# CLI throughput against the plain tools, in one run on one disk:
#
#   import  vs  cp -r of the source tree (then sync)
#   export  vs  cp -r of the copy back    (then sync)
#   verify  vs  cat segments/* > /dev/null
#
# Targets: import >= 0.5x cp, export >= 0.5x cp, verify >= 0.5x cat (ratio = time of the
# plain tool / time of stratacache). Data: 2,000 OCR-like files of 50-500 KiB (~550 MB)
# made from /usr/share/common-licenses with line shuffles and word substitutions (fixed
# seed), as .txt, .tsv and .hocr in nested directories. Caches cannot be dropped here, so
# every step runs once, warm-ish: the files were just written and sit in the page cache.
#
# Usage: benches/cli_import_export.sh [--small] [--runs N] [--keep] [--workdir DIR]
#   --small    200 files (~55 MB)
#   --runs N   run every step N times and report the median (default 1); this disk is
#              virtual and noisy, so single runs can be off by 50% either way
#   --keep     leave the work directory behind
#   --workdir  where to put the trees and the store (default: a new directory in $TMPDIR)
set -euo pipefail
cd "$(dirname "$0")/.."

files=2000
runs=1
keep=0
workdir=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --small) files=200 ;;
        --runs) runs="$2"; shift ;;
        --keep) keep=1 ;;
        --workdir) workdir="$2"; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

cargo build --release --quiet --bin stratacache
bin="$PWD/target/release/stratacache"
if [[ -z "$workdir" ]]; then
    workdir="$(mktemp -d "${TMPDIR:-/tmp}/stratacache-cli-bench.XXXXXX")"
fi
mkdir -p "$workdir"
if [[ $keep -eq 0 ]]; then
    trap 'rm -rf "$workdir"' EXIT
fi
src="$workdir/src" copy="$workdir/copy" back="$workdir/back"
store="$workdir/store" out="$workdir/out"
rm -rf "$src" "$copy" "$back" "$store" "$out"

echo "generating $files files in $src ..."
python3 - "$src" "$files" <<'PY'
import glob, os, random, sys

root, count = sys.argv[1], int(sys.argv[2])
rng = random.Random(20240611)
lines = []
for path in sorted(glob.glob("/usr/share/common-licenses/*")):
    if os.path.isfile(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            lines += [l.strip() for l in f if l.strip()]
words = sorted({w for l in lines for w in l.split()})
ocr_slips = str.maketrans("lIoOeS", "1l0Dc5")

def mutate(line):
    """A line as OCR might return it: a substituted word, sometimes a misread letter."""
    parts = line.split()
    if parts and rng.random() < 0.5:
        parts[rng.randrange(len(parts))] = rng.choice(words)
    if parts and rng.random() < 0.2:
        i = rng.randrange(len(parts))
        parts[i] = parts[i].translate(ocr_slips)
    return " ".join(parts)

# A pool of varied lines; each file samples (shuffles) from it.
pool = [mutate(rng.choice(lines)) for _ in range(200_000)]

def as_txt(body):
    return "\n".join(body) + "\n"

def as_tsv(body):
    rows = ["level\tpage_num\tblock_num\tline_num\tleft\ttop\twidth\theight\tconf\ttext"]
    for n, line in enumerate(body):
        rows.append(f"4\t1\t{n // 40}\t{n % 40}\t{rng.randrange(90, 140)}\t{120 + 28 * (n % 40)}"
                    f"\t{len(line) * 11}\t26\t{rng.uniform(60, 97):.2f}\t{line}")
    return "\n".join(rows) + "\n"

def as_hocr(body):
    spans = [f"<span class='ocr_line' id='line_{n}' title='bbox {rng.randrange(90, 140)} "
             f"{120 + 28 * n} {1500 + rng.randrange(60)} {146 + 28 * n}'>{line}</span>"
             for n, line in enumerate(body)]
    return ("<html><body><div class='ocr_page' title='bbox 0 0 2480 3508'>\n"
            + "\n".join(spans) + "\n</div></body></html>\n")

formats = [("txt", as_txt), ("tsv", as_tsv), ("hocr", as_hocr)]
total = 0
for i in range(count):
    target = rng.randrange(50 << 10, 500 << 10)
    ext, render = formats[i % 3]
    body, size = [], 0
    while size < target * 0.8:
        line = rng.choice(pool)
        body.append(line)
        size += len(line) + 1
    data = render(body).encode()[:target]
    path = os.path.join(root, f"book-{i // 100:03d}", f"chapter-{i // 20 % 5}", f"page-{i:05d}.{ext}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    total += len(data)
print(f"generated {count} files, {total / 1e6:.1f} MB")
PY
sync
bytes=$(du -sb "$src" | cut -f1)

# Runs "$@" once and prints the seconds it took.
seconds() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
with_sync() { "$@" && sync; }
# step CLEAN cmd...: the median seconds of $runs runs of cmd, removing CLEAN (if not
# empty) before each run; what the last run made is kept for the next steps.
step() {
    local clean="$1"
    shift
    for ((r = 0; r < runs; r++)); do
        if [[ -n "$clean" ]]; then rm -rf "$clean" && sync; fi
        seconds "$@"
    done | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
}

t_cp=$(step "$copy" with_sync cp -r "$src" "$copy")
t_import=$(step "$store" with_sync "$bin" --dir "$store" import "$src")
t_export=$(step "$out" with_sync "$bin" --dir "$store" export "$out")
t_cp_back=$(step "$back" with_sync cp -r "$copy" "$back")
t_cat=$(step "" sh -c "cat '$store'/segments/* > /dev/null")
t_verify=$(step "" "$bin" --dir "$store" verify)

diff -r "$src" "$out" >/dev/null || { echo "export differs from the source" >&2; exit 1; }
seg_bytes=$(cat "$store"/segments/* | wc -c)

report() { # name seconds bytes baseline-name baseline-seconds target
    awk -v n="$1" -v t="$2" -v b="$3" -v bn="$4" -v bt="$5" -v goal="$6" 'BEGIN {
        ratio = bt / t
        printf "%-8s %7.2fs %8.1f MB/s   %-7s %7.2fs %8.1f MB/s   ratio %.2fx (target >= %.1fx) %s\n",
            n, t, b / t / 1e6, bn, bt, b / bt / 1e6, ratio, goal, (ratio >= goal ? "ok" : "MISSED")
    }'
}
echo
echo "data: $files files ($runs run(s) per step, median), $(awk -v b="$bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }');" \
    "segments: $(awk -v b="$seg_bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }') (lz4)"
report import "$t_import" "$bytes" "cp -r" "$t_cp" 0.5
report export "$t_export" "$bytes" "cp -r" "$t_cp_back" 0.5
report verify "$t_verify" "$seg_bytes" "cat" "$t_cat" 0.5

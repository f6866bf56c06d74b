#!/usr/bin/env bash
# stratacache serve against redis-server, with redis-benchmark, in one run on one machine:
#
#   GET, data within the memory tier   vs redis-server (appendonly yes, appendfsync everysec)
#                                          without and with -P 16       target >= 0.8x
#   GET, data 4x the memory tier        vs the same redis-server       target >= 0.6x
#   SET, default durability             vs appendfsync everysec         target >= 0.7x
#   SET, --durability always            vs appendfsync always           target >= 1x
#   restart with N keys of 4 KiB: time until PING answers (redis: AOF load)  target < 100 ms
#   RssAnon with those N keys (memory tier 256 MiB)                      target <= 0.2x
#
# 4 KiB values, 50 clients, unix sockets. Rounds are interleaved (redis, then stratacache,
# per measurement) and the median of each is reported; the machine is shared and noisy.
# redis-benchmark's own values are 4096 'x' bytes (stratacache compresses them); the data
# of the disk-tier GET and of the restart/RSS runs is incompressible (random, base64).
#
# Usage: benches/server.sh [--smoke] [--rounds N] [--keys N] [--out FILE]
#   --smoke    tiny sizes, one round: checks the script works (CI)
#   --rounds   rounds per measurement (default 3)
#   --keys     keys of the restart/RSS run (default 1000000, i.e. 4 GB per server)
#   --out      also write the results as JSON here
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 keys=1000000 smoke=0 out=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --smoke) smoke=1 rounds=1 keys=5000 ;;
        --rounds) rounds="$2"; shift ;;
        --keys) keys="$2"; shift ;;
        --out) out="$2"; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
for tool in redis-server redis-benchmark redis-cli python3 awk; do
    command -v "$tool" >/dev/null || { echo "benches/server.sh needs $tool" >&2; exit 2; }
done

if [[ $smoke -eq 1 ]]; then
    get_n=5000 getp_n=20000 set_n=5000 always_n=500 mem_keys=2000 disk_keys=4000
    mem_tier=1MiB
else
    get_n=200000 getp_n=1000000 set_n=100000 always_n=20000 mem_keys=20000 disk_keys=65536
    mem_tier=64MiB
fi

cargo build --release --quiet --bin stratacache
bin="$PWD/target/release/stratacache"
work="$(mktemp -d "${TMPDIR:-/tmp}/stratacache-server-bench.XXXXXX")"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# wait_ping SOCKET: until the server answers PING; prints the milliseconds it took.
wait_ping() {
    local sock="$1" t0
    t0=$(date +%s%N)
    until [[ -S "$sock" ]] && [[ "$(redis-cli -s "$sock" PING 2>/dev/null)" == "PONG" ]]; do
        sleep 0.001
    done
    echo $(( ($(date +%s%N) - t0) / 1000000 ))
}

start_redis() { # NAME FSYNC
    mkdir -p "$work/$1"
    redis-server --port 0 --unixsocket "$work/$1.sock" --appendonly yes --appendfsync "$2" \
        --save "" --dir "$work/$1" --logfile "$work/$1.log" &
    pids+=($!)
    wait_ping "$work/$1.sock" >/dev/null
}

start_sc() { # NAME ARGS...
    local name="$1"; shift
    "$bin" --dir "$work/$name" serve "$@" 2>>"$work/$name.log" &
    pids+=($!)
    wait_ping "$work/$name/stratacache.sock" >/dev/null
}

sc_sock() { echo "$work/$1/stratacache.sock"; }

# fill SOCKET N: keys key:%012d (redis-benchmark's -r names) = 4 KiB of random base64.
fill() {
    python3 - "$2" <<'PY' | redis-cli -s "$1" --pipe >/dev/null
import base64, os, sys
n = int(sys.argv[1]); out = sys.stdout.buffer
for i in range(n):
    key = b"key:%012d" % i
    value = base64.b64encode(os.urandom(3072))
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value))
PY
}

# rps SOCKET ARGS...: requests per second of one redis-benchmark test.
rps() {
    local sock="$1"; shift
    redis-benchmark -s "$sock" -c 50 -d 4096 -q "$@" 2>/dev/null | tr '\r' '\n' \
        | grep 'requests per second' | tail -1 | sed -E 's/.*: ([0-9.]+) requests.*/\1/'
}

div() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > 0 ? a / b : 0) }'; }

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

results=()
# measure NAME REDIS_SOCK SC_SOCK ARGS...: interleaved rounds; records the medians.
measure() {
    local name="$1" rsock="$2" ssock="$3"; shift 3
    local r=() s=()
    for ((i = 0; i < rounds; i++)); do
        r+=("$(rps "$rsock" "$@")")
        s+=("$(rps "$ssock" "$@")")
    done
    local rm sm
    rm=$(median "${r[@]}") sm=$(median "${s[@]}")
    results+=("$name|$rm|$sm")
    printf '%-44s redis %10.0f/s  stratacache %10.0f/s  ratio %.2f   (rounds: redis %s; stratacache %s)\n' \
        "$name" "$rm" "$sm" "$(div "$sm" "$rm")" "${r[*]}" "${s[*]}"
}

echo "== throughput (work dir $work)"
start_redis redis everysec
start_sc mem --memory 256MiB
start_sc disk --memory "$mem_tier"
fill "$work/redis.sock" "$disk_keys"
fill "$(sc_sock mem)" "$mem_keys"
fill "$(sc_sock disk)" "$disk_keys"
measure "GET, in the memory tier" "$work/redis.sock" "$(sc_sock mem)" -t get -n "$get_n" -r "$mem_keys"
measure "GET, in the memory tier, -P 16" "$work/redis.sock" "$(sc_sock mem)" -t get -n "$getp_n" -r "$mem_keys" -P 16
measure "GET, data 4x the memory tier ($mem_tier)" "$work/redis.sock" "$(sc_sock disk)" -t get -n "$get_n" -r "$disk_keys"
measure "SET, checkpoint vs everysec" "$work/redis.sock" "$(sc_sock mem)" -t set -n "$set_n" -r 100000
start_redis always always
start_sc durable --memory 256MiB --durability always
measure "SET, always vs appendfsync always" "$work/always.sock" "$(sc_sock durable)" -t set -n "$always_n" -r 100000

echo "== restart and memory with $keys keys of 4 KiB"
start_redis big everysec
start_sc bigsc --memory 256MiB
fill "$work/big.sock" "$keys"
fill "$(sc_sock bigsc)" "$keys"
redis_pid=$(redis-cli -s "$work/big.sock" INFO server | tr -d '\r' | awk -F: '/^process_id/ {print $2}')
sc_pid=$(redis-cli -s "$(sc_sock bigsc)" INFO server | tr -d '\r' | awk -F: '/^process_id/ {print $2}')
anon() { awk '/^RssAnon/ {print $2 * 1024}' "/proc/$1/status"; }
redis_anon=$(anon "$redis_pid") sc_anon=$(anon "$sc_pid")
printf '%-44s redis %10.1f MiB  stratacache %10.1f MiB  ratio %.3f\n' "RssAnon with the data" \
    "$(div "$redis_anon" 1048576)" "$(div "$sc_anon" 1048576)" "$(div "$sc_anon" "$redis_anon")"
redis-cli -s "$work/big.sock" SHUTDOWN >/dev/null 2>&1 || true
redis-cli -s "$(sc_sock bigsc)" SHUTDOWN >/dev/null 2>&1 || true
while kill -0 "$redis_pid" 2>/dev/null || kill -0 "$sc_pid" 2>/dev/null; do sleep 0.05; done
redis-server --port 0 --unixsocket "$work/big.sock" --appendonly yes --appendfsync everysec \
    --save "" --dir "$work/big" --logfile "$work/big.log" &
pids+=($!)
redis_ready=$(wait_ping "$work/big.sock")
"$bin" --dir "$work/bigsc" serve --memory 256MiB 2>>"$work/bigsc.log" &
pids+=($!)
sc_ready=$(wait_ping "$(sc_sock bigsc)")
printf '%-44s redis %10d ms   stratacache %10d ms\n' "ready to serve after a restart" "$redis_ready" "$sc_ready"
got=$(redis-cli -s "$(sc_sock bigsc)" DBSIZE)
[[ "$got" -eq "$keys" ]] || { echo "after the restart stratacache holds $got keys, not $keys" >&2; exit 1; }

if [[ -n "$out" ]]; then
    python3 - "$out" "$redis_anon" "$sc_anon" "$redis_ready" "$sc_ready" "$keys" "${results[@]}" <<'PY'
import json, sys
out, ranon, sanon, rready, sready, keys, *rows = sys.argv[1:]
data = {"throughput": [], "keys": int(keys),
        "rss_anon_bytes": {"redis": int(float(ranon)), "stratacache": int(float(sanon))},
        "ready_ms": {"redis": int(rready), "stratacache": int(sready)}}
for row in rows:
    name, r, s = row.split("|")
    data["throughput"].append({"test": name, "redis_rps": float(r), "stratacache_rps": float(s),
                               "ratio": float(s) / float(r)})
json.dump(data, open(out, "w"), indent=2)
PY
fi

#!/usr/bin/env bash
# Benchmarks sepbeat on one synthetic capture (see README, "Benchmarks").
#
# Environment:
#   BENCH_SIZE_MB   approximate capture size in MB (default 1000)
#   BENCH_FILES     number of files for the split/parallel check (default 4)
#   BENCH_RUNS      alternating runs of the floor and analyze, medians compared (default 3)
#   BENCH_DIR       work folder (default: a new temporary folder, removed at the end)
#   BENCH_TSHARK    0 to skip tshark even when installed
#   BENCH_KEEP      1 to keep the work folder
set -euo pipefail

size_mb=${BENCH_SIZE_MB:-1000}
files=${BENCH_FILES:-4}
runs=${BENCH_RUNS:-3}
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
    echo "benchmark: BENCH_RUNS must be a positive whole number (got '$runs')" >&2
    exit 2
fi
if ! [[ "$size_mb" =~ ^[1-9][0-9]{0,5}$ ]]; then
    echo "benchmark: BENCH_SIZE_MB must be a whole number of MB from 1 to 999999 (got '$size_mb')" >&2
    exit 2
fi
# simulate's --split takes 1-256 files.
if ! [[ "$files" =~ ^[1-9][0-9]{0,2}$ ]] || (( files > 256 )); then
    echo "benchmark: BENCH_FILES must be a whole number from 1 to 256 (got '$files')" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)

if [[ ! -x /usr/bin/time ]]; then
    echo "benchmark: /usr/bin/time is needed for peak memory (apt-get install -y time)" >&2
    exit 2
fi

echo "== building (release)"
# SwiftPM's own messages (a build folder in use by another process, say) can end without a newline: awk ends
# each line, so the script's next line starts on its own.
(cd "$root" && swift build -c release --product sepbeat 2>&1 >/dev/null \
    && swift build -c release --product sepbeat-bench 2>&1 >/dev/null) | awk '{ print; fflush() }' >&2
bin="$root/.build/release"

work=${BENCH_DIR:-$(mktemp -d -t sepbeat-bench.XXXXXX)}
mkdir -p "$work"
if [[ -z "${BENCH_DIR:-}" && "${BENCH_KEEP:-0}" != 1 ]]; then trap 'rm -rf "$work"' EXIT; fi

# About 0.21 MB per client-hour at the default mix: a 4-hour capture, clients scaled to the size.
clients=$(( size_mb * 118 / 100 ))
(( clients < 10 )) && clients=10
sim=(--clients "$clients" --duration 4h --seed 42 --full-share 0.1
     --fault missed=2 --fault late=2 --fault accelerated=1 --fault failover=1 --fault http-503=1 --fault old-tls=1)

# Runs a command under /usr/bin/time -v; sets $secs (wall clock) and $rss_kb (peak resident set).
measure() {
    local log="$work/time.log"
    /usr/bin/time -v -o "$log" "$@"
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
        for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.3f", s }' "$log")
    rss_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$log")
}
# The median of the numbers given (the lower middle one for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# /usr/bin/time gives KiB; printed in decimal MB (1 MB = 1,000,000 bytes), as every size here.
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }'; }
# "met" or "not met" for value $1 against bound $3 with operator $2 (<= or >= or <).
verdict() { awk -v v="$1" -v op="$2" -v b="$3" 'BEGIN { if (v == "" || v == "n/a") { print "n/a"; exit }
    ok = (op == "<=") ? v <= b : (op == ">=") ? v >= b : v < b; print ok ? "met" : "not met" }'; }

echo "== simulate: $clients clients, 4 h (about $size_mb MB) into $work"
measure "$bin/sepbeat" simulate -q -o "$work/fleet.pcap" "${sim[@]}"
sim_secs=$secs; sim_rss=$rss_kb
bytes=$(stat -c %s "$work/fleet.pcap")
"$bin/sepbeat" simulate -q -o "$work/part.pcap" --split "$files" "${sim[@]}"
parts=()
for i in $(seq 1 "$files"); do parts+=("$work/part-$i.pcap"); done

# The floor and analyze alternate, $runs times each, and the medians are compared: on a shared machine one
# run of either can be slowed by other work (or by the page cache still filling after the capture was written).
echo "== floor and analyze, $runs alternating runs each: sepbeat-bench read, sepbeat analyze"
read_times=(); analyze_times=(); read_rss=0; analyze_rss=0
for _ in $(seq 1 "$runs"); do
    measure "$bin/sepbeat-bench" read "$work/fleet.pcap" > "$work/read.txt"
    read_times+=("$secs"); (( rss_kb > read_rss )) && read_rss=$rss_kb
    set +e
    measure "$bin/sepbeat" analyze -q -F json -o "$work/merged.json" "$work/fleet.pcap"
    set -e
    analyze_times+=("$secs"); (( rss_kb > analyze_rss )) && analyze_rss=$rss_kb
done
read_secs=$(median "${read_times[@]}")
analyze_secs=$(median "${analyze_times[@]}")

# Memory against the capture's length: the same fleet over 1 hour instead of 4. What analyze holds per GB
# more of capture is what it keeps of finished connections and check-ins (open connections are about
# the same at any length), so it shows how far memory is from following the open connections alone.
echo "== memory against length: the same fleet over 1 h"
short_sim=("${sim[@]}")
short_sim[3]=1h
"$bin/sepbeat" simulate -q -o "$work/hour.pcap" "${short_sim[@]}"
short_bytes=$(stat -c %s "$work/hour.pcap")
set +e
measure "$bin/sepbeat" analyze -q -F json -o "$work/hour.json" "$work/hour.pcap"
set -e
short_rss=$rss_kb
rm -f "$work/hour.pcap" "$work/hour.pcap.truth.json" "$work/hour.json"

echo "== traffic layers: sepbeat-bench traffic"
"$bin/sepbeat-bench" traffic "$work/fleet.pcap" > "$work/traffic.txt"

echo "== heartbeat layer: sepbeat-bench heartbeat"
"$bin/sepbeat-bench" heartbeat "$work/fleet.pcap" > "$work/heartbeat.txt"

tshark_secs=""
if command -v tshark >/dev/null && [[ "${BENCH_TSHARK:-1}" != 0 ]]; then
    echo "== tshark (same HTTP and TLS fields)"
    measure tshark -r "$work/fleet.pcap" -d tcp.port==8014,http -T fields -e http.request.method \
        -e http.request.uri -e http.response.code -e tls.handshake.type -e tls.handshake.extensions_server_name \
        > "$work/tshark.txt" 2>/dev/null
    tshark_secs=$secs; tshark_rss=$rss_kb
fi

echo "== $files files: analyze of the split files against the merged file"
set +e
"$bin/sepbeat" analyze -q -F json -o "$work/split.json" "${parts[@]}"
set -e
if command -v jq >/dev/null; then
    jq -S 'del(.captures)' "$work/merged.json" > "$work/merged.cmp"
    jq -S 'del(.captures)' "$work/split.json" > "$work/split.cmp"
else
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("captures",None); print(json.dumps(d,sort_keys=True,indent=1))' "$work/merged.json" > "$work/merged.cmp"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("captures",None); print(json.dumps(d,sort_keys=True,indent=1))' "$work/split.json" > "$work/split.cmp"
fi
if cmp -s "$work/merged.cmp" "$work/split.cmp"; then same=yes; else same=no; fi
# Exits 1 after printing `fallback=REASON` when the files cannot be read apart: reported below, not fatal here.
set +e
measure "$bin/sepbeat-bench" parallel "${parts[@]}" > "$work/parallel.txt"
set -e
parallel_rss=$rss_kb

get() { awk -F= -v k="$2" '$1 == k { print $2 }' "$1"; }
echo
echo "Benchmark results"
printf '  capture            %s bytes (%s MB), %s packets\n' "$bytes" "$(awk -v b="$bytes" 'BEGIN{printf "%.0f", b/1e6}')" "$(get "$work/read.txt" packets)"
printf '  simulate           %8.3f s  %7s MB/s   peak RSS %7s MB\n' "$sim_secs" "$(awk -v b="$bytes" -v s="$sim_secs" 'BEGIN{printf "%.0f", b/1e6/s}')" "$(mb "$sim_rss")"
printf '  read (floor)       %8.3f s  %7s MB/s   peak RSS %7s MB\n' "$read_secs" "$(awk -v b="$bytes" -v s="$read_secs" 'BEGIN{printf "%.0f", b/1e6/s}')" "$(mb "$read_rss")"
printf '  analyze            %8.3f s  %7s MB/s   peak RSS %7s MB\n' "$analyze_secs" "$(awk -v b="$bytes" -v s="$analyze_secs" 'BEGIN{printf "%.0f", b/1e6/s}')" "$(mb "$analyze_rss")"
if (( runs == 1 )); then
    printf '  (one run each: floor %s s; analyze %s s)\n' "${read_times[*]}" "${analyze_times[*]}"
else
    printf '  (medians of %s runs each: floor %s s; analyze %s s)\n' "$runs" "${read_times[*]}" "${analyze_times[*]}"
fi
if [[ -n "$tshark_secs" ]]; then
    printf '  tshark             %8.3f s  %7s MB/s   peak RSS %7s MB\n' "$tshark_secs" "$(awk -v b="$bytes" -v s="$tshark_secs" 'BEGIN{printf "%.0f", b/1e6/s}')" "$(mb "$tshark_rss")"
fi
printf '  traffic layers     %s MB/s, %s packets/s; read loop %s MB/s in the same run (time: traffic/read %s)\n' \
    "$(get "$work/traffic.txt" traffic_mb_per_s)" "$(get "$work/traffic.txt" traffic_packets_per_s)" \
    "$(get "$work/traffic.txt" read_mb_per_s)" "$(get "$work/traffic.txt" traffic_over_read)"
heartbeat_format='  heartbeat layer    %s s for %s records, %s check-ins (ingest and finish; %s s on 2 threads'
printf "$heartbeat_format"', speedup %s; same report: %s)\n' \
    "$(get "$work/heartbeat.txt" heartbeat_seconds)" "$(get "$work/heartbeat.txt" records)" \
    "$(get "$work/heartbeat.txt" sessions)" "$(get "$work/heartbeat.txt" heartbeat_2_threads_seconds)" \
    "$(get "$work/heartbeat.txt" speedup)" "$(get "$work/heartbeat.txt" identical)"
printf '  memory per GB      %s MB more peak RSS per GB of capture (1 h: %s MB, %s MB peak; 4 h: %s MB, %s MB peak)\n' \
    "$(awk -v a="$analyze_rss" -v b="$short_rss" -v x="$bytes" -v y="$short_bytes" \
        'BEGIN { if (x > y) printf "%.1f", (a - b) * 1024 / 1e6 / ((x - y) / 1e9); else print "n/a" }')" \
    "$(awk -v b="$short_bytes" 'BEGIN{printf "%.0f", b/1e6}')" "$(mb "$short_rss")" \
    "$(awk -v b="$bytes" 'BEGIN{printf "%.0f", b/1e6}')" "$(mb "$analyze_rss")"
echo
echo "Targets"
# A small capture's floor takes a few hundredths of a second, a few ticks of /usr/bin/time's clock.
if (( bytes < 300000000 )); then
    echo "  (a capture under 300 MB: the floor's time is near the timer's resolution, so these ratios are rough)"
fi
over=$(ratio "$analyze_secs" "$read_secs")
echo "  analyze / floor    $over (target <= 2: $(verdict "$over" "<=" 2))"
if [[ -n "$tshark_secs" ]]; then
    speed=$(ratio "$tshark_secs" "$analyze_secs")
    echo "  tshark / analyze   $speed (target >= 50: $(verdict "$speed" ">=" 50))"
elif [[ "${BENCH_TSHARK:-1}" == 0 ]]; then
    echo "  tshark / analyze   not measured (BENCH_TSHARK=0)"
else
    echo "  tshark / analyze   not measured (tshark is not installed)"
fi
# The memory target is set for a capture of about 1 GB; a smaller one is not judged against it.
if (( bytes >= 900000000 )); then
    echo "  analyze peak RSS   $(mb "$analyze_rss") MB (target < 100 MB at 1 GB: $(verdict "$(mb "$analyze_rss")" "<" 100))"
else
    echo "  analyze peak RSS   $(mb "$analyze_rss") MB (target < 100 MB at 1 GB: n/a for a smaller capture)"
fi
echo
echo "Several files ($files, clients split across them)"
echo "  analyze FILE-1..$files vs merged file, JSON report without 'captures': identical=$same"
fallback=$(get "$work/parallel.txt" fallback)
if [[ -n "$fallback" ]]; then
    echo "  sepbeat-bench parallel: fallback=$fallback (the files cannot be read apart; analyze reads them in order)"
    [[ "$same" == yes ]]
else
    echo "  sepbeat-bench parallel: merged $(get "$work/parallel.txt" merged_seconds) s, one thread per file" \
         "$(get "$work/parallel.txt" parallel_seconds) s (speedup $(get "$work/parallel.txt" speedup)," \
         "peak RSS $(mb "$parallel_rss") MB), identical=$(get "$work/parallel.txt" identical)"
    [[ "$same" == yes && "$(get "$work/parallel.txt" identical)" == yes ]]
fi

#!/bin/sh
# Builds the libFuzzer driver (with AddressSanitizer) and runs one fuzz target.
#
#   Scripts/fuzz.sh                 lists the targets
#   Scripts/fuzz.sh TARGET [SECONDS] [LIBFUZZER OPTIONS...]
#   Scripts/fuzz.sh TARGET 0 FILE...   runs the target once over each FILE (e.g. a finding)
#
# Seeds come from the shared capture corpus ($SEPBEAT_CORPUS, else ../shared/corpus beside the
# repository), chosen by target; findings go to .build/fuzz/findings/TARGET
# and the grown corpus to .build/fuzz/corpus/TARGET. Needs a Swift toolchain with libFuzzer (Linux).
set -eu

# Paths given relative to where the script was run from (FILEs, $SEPBEAT_CORPUS) are read from there.
caller=$(pwd)
cd "$(dirname "$0")/.."
targets="packet fragments http-request http-response http-conversation tls-stream tls-client-hello
tls-server-hello tls-certificate x509 pcapng pcap capture compressed reference-model sylink zeek-log"

if [ $# -eq 0 ]; then
    echo "usage: Scripts/fuzz.sh TARGET [SECONDS] [LIBFUZZER OPTIONS...]"
    echo "targets:"
    for t in $targets; do echo "  $t"; done
    exit 0
fi
target=$1
seconds=${2:-60}
[ $# -ge 2 ] && shift 2 || shift 1
# One name of the list: matched against the list as a whole, two names ('packet fragments') passed.
known=""
for t in $targets; do [ "$t" = "$target" ] && known=yes; done
if [ -z "$known" ]; then
    echo "fuzz.sh: unknown target '$target' (run without arguments for the list)" >&2
    exit 2
fi
case $seconds in
    ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number of seconds, not '$seconds'" >&2; exit 2 ;;
esac
# Leading zeros off, so that 00 is the 0 below (before, it fuzzed without end from no corpus).
seconds=$(echo "$seconds" | sed 's/^0*\(.\)/\1/')
# With 0 seconds, libFuzzer would fuzz without end from no corpus (and write its findings here) unless files are
# given, so 0 means "run these files once" only.
if [ "$seconds" = 0 ] && [ $# -eq 0 ]; then
    echo "fuzz.sh: SECONDS 0 runs the target once over the FILEs given after it, and none were given" >&2
    exit 2
fi

corpus=${SEPBEAT_CORPUS:-}
case $corpus in
    ''|/*) ;;
    *) corpus=$caller/$corpus ;;
esac
if [ -z "$corpus" ]; then
    for c in ../shared/corpus; do
        if [ -d "$c" ]; then corpus=$c; break; fi
    done
fi

[ "$seconds" = 0 ] || case $target in
    pcapng|pcap|capture)
        if [ -z "$corpus" ]; then
            echo "fuzz.sh: no capture corpus at \$SEPBEAT_CORPUS or ../shared/corpus: $target starts from its own" \
                "samples only" >&2
        elif [ ! -d "$corpus" ]; then
            echo "fuzz.sh: the capture corpus $corpus is not a folder: $target starts from its own samples only" >&2
        fi ;;
esac

build=.build/fuzz
# `--sanitize fuzzer` makes SwiftPM link libFuzzer's `main` instead of the module's own. The
# compiler keeps only the last `-sanitize=` flag, and SwiftPM does not keep the order of two
# `--sanitize` options, so both sanitizers go in one flag after SwiftPM's.
SEPBEAT_FUZZ=1 swift build -c release --build-path "$build" --product sepbeat-fuzz \
    --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address >&2
binary=$build/release/sepbeat-fuzz

if [ "$seconds" = 0 ]; then
    for arg in "$@"; do
        shift
        case $arg in
            /*|-*) set -- "$@" "$arg" ;;
            *) set -- "$@" "$caller/$arg" ;;
        esac
    done
    LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/Scripts/fuzz-lsan.supp} SEPBEAT_FUZZ_TARGET=$target \
        exec "$binary" "$@"
fi

# Seeds: capture files for the capture readers, the repository's own files for the rest.
work=$build/corpus/$target
findings=$build/findings/$target
mkdir -p "$work" "$findings"
seeds=""
case $target in
    pcapng) [ -n "$corpus" ] && seeds="$corpus/pcapng" ;;
    pcap) [ -n "$corpus" ] && seeds="$corpus/oracle/http $corpus/oracle/tcp" ;;
    capture) [ -n "$corpus" ] && seeds="$corpus/oracle/http $corpus/oracle/tls $corpus/oracle/tcp" ;;
    reference-model) cp Sources/Heartbeat/Resources/reference-model.json "$work/" ;;
    sylink) for f in $(find Captures Tests -name '*.xml' 2>/dev/null | head -20); do cp "$f" "$work/"; done ;;
esac
# Only small seeds: libFuzzer's default -max_len is taken from the largest one.
seeddir=$build/seeds/$target
rm -rf "$seeddir"
mkdir -p "$seeddir"
for s in $seeds; do
    [ -d "$s" ] && find "$s" -type f -size -64k \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.ntar' \) \
        -exec cp {} "$seeddir/" \;
done

# Foundation's XML parser leaks an error object on each malformed input (suppressed in fuzz-lsan.supp), so the
# leak check after every failing input made sylink run about 50 times slower; its leaks are Foundation's.
leaks=""
[ "$target" = sylink ] && leaks="-detect_leaks=0"

echo "fuzz.sh: $target for ${seconds}s; findings in $findings" >&2
LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/Scripts/fuzz-lsan.supp} \
SEPBEAT_FUZZ_TARGET=$target SEPBEAT_FUZZ_SEEDS=$work exec "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$findings/" -print_final_stats=1 $leaks "$@" "$work" "$seeddir"

#!/bin/sh
# Builds sepbeat with ThreadSanitizer and runs the commands that share work between threads on a
# simulated fleet: one file and several (with --jobs 2), reports so far of a piped capture (--every 1,
# in JSON, text and HTML), audit, validate and flows. Prints each run's warnings; exits 1 if any run had
# one or failed (an exit status other than 0 or 1, 1 being a failing verdict), 0 otherwise.
#
#   Scripts/tsan.sh            (about 4-5 minutes on 2 cores, most of it the build; more on a busy machine)
#
# The build goes to .build/tsan, so it leaves the usual debug and release builds alone. Files are written
# to a temporary folder, removed at the end.
set -eu

cd "$(dirname "$0")/.."
build=.build/tsan
swift build -c debug --build-path "$build" --product sepbeat -Xswiftc -sanitize=thread >&2
binary=$PWD/$build/debug/sepbeat

work=$(mktemp -d -t sepbeat-tsan.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
# Reports would stop at the first warning without halt_on_error=0; exitcode=66 tells a warning from a finding.
export TSAN_OPTIONS="halt_on_error=0 exitcode=66"
"$binary" simulate -q -o fleet.pcap --clients 60 --duration 3h --push-share 0.3 --fault missed --fault late
"$binary" simulate -q -o part.pcap --clients 40 --duration 2h --split 3

failed=0
run() {
    name=$1
    shift
    status=0
    "$@" > /dev/null 2> "$name.err" || status=$?
    warnings=$(grep -c 'WARNING: ThreadSanitizer' "$name.err" || true)
    # 1 is a report's failing verdict, which the simulated faults give; any status but 0 and 1 is a failure.
    case $status in
        0) said="exit status 0" ;;
        1) said="exit status 1: the report's failing verdict, from the simulated faults" ;;
        66) said="exit status 66: ThreadSanitizer" ;;
        *) said="exit status $status: the command failed" ;;
    esac
    echo "$name: $warnings warnings ($said)"
    if [ "$warnings" -gt 0 ] || [ "$status" -gt 1 ]; then
        [ "$warnings" -gt 0 ] || tail -n 5 "$name.err"
        grep -A 12 'WARNING: ThreadSanitizer' "$name.err" | head -40
        failed=1
    fi
}

run analyze-json "$binary" analyze -q -F json -o a.json fleet.pcap
run analyze-files "$binary" analyze -q -F json -o b.json part-1.pcap part-2.pcap part-3.pcap
run analyze-jobs "$binary" analyze -q --jobs 2 -F json -o c.json part-1.pcap part-2.pcap part-3.pcap
for format in json text html; do
    run "every-$format" sh -c "cat fleet.pcap | '$binary' analyze -q --every 1 -F $format -o now.$format -"
done
run audit "$binary" audit -q -o audit.txt fleet.pcap
run validate "$binary" validate -q -o validate.txt fleet.pcap
run flows "$binary" flows -q --http --tls -F json -o flows.json fleet.pcap
exit $failed

#!/bin/sh
# Renders an HTML report to a PNG with headless Chromium, to look at the page as people see it.
#
# Usage: Scripts/screenshot-report.sh REPORT.html [OUT.png] [WIDTH] [HEIGHT]
#        Scripts/screenshot-report.sh CAPTURE.pcap [OUT.png]   (runs 'sepbeat audit --format html' first,
#        with .build/release/sepbeat or .build/debug/sepbeat, building one when neither exists)
#
# Exits non-zero when the report cannot be made or the browser renders nothing.
#
# Needs chromium (Debian: apt-get install -y chromium). Without it the script says so and exits 0,
# so it can run in checks on machines that lack a browser. The page is loaded from a file with
# networking switched off: a self-contained report needs nothing else.
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 REPORT.html|CAPTURE [OUT.png] [WIDTH] [HEIGHT]" >&2
    exit 2
fi
input=$1
out=${2:-${input%.*}.png}
width=${3:-1100}
height=${4:-2400}

browser=""
for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then
        browser=$candidate
        break
    fi
done
if [ -z "$browser" ]; then
    echo "screenshot-report: chromium not found; skipping (install it with: apt-get install -y chromium)"
    exit 0
fi

page=$input
case "$input" in
    *.html|*.htm) ;;
    *)
        # A capture: render it with whichever sepbeat build exists (release first), building one if none does.
        here=$(cd "$(dirname "$0")/.." && pwd)
        sepbeat=""
        for candidate in "$here/.build/release/sepbeat" "$here/.build/debug/sepbeat"; do
            if [ -x "$candidate" ]; then
                sepbeat=$candidate
                break
            fi
        done
        if [ -z "$sepbeat" ]; then
            echo "screenshot-report: no sepbeat build found; running 'swift build'" >&2
            (cd "$here" && swift build) >&2 || {
                echo "screenshot-report: swift build failed; cannot render $input" >&2
                exit 1
            }
            sepbeat=$here/.build/debug/sepbeat
        fi
        page=$(mktemp --suffix=.html)
        trap 'rm -f "$page"' EXIT
        # audit exits 1 for an unhealthy fleet and still writes the report; 2 and above mean no report.
        status=0
        "$sepbeat" audit --quiet --format html -o "$page" "$input" || status=$?
        if [ "$status" -ge 2 ] || [ ! -s "$page" ]; then
            echo "screenshot-report: '$sepbeat audit' failed on $input (exit status $status)" >&2
            exit 1
        fi
        ;;
esac
if [ ! -s "$page" ]; then
    echo "screenshot-report: $page is missing or empty" >&2
    exit 1
fi

abs=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")
profile=$(mktemp -d)
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
    --proxy-server="127.0.0.1:9" --proxy-bypass-list="<-loopback>" \
    --window-size="$width,$height" --screenshot="$out" "file://$abs" >/dev/null 2>&1 || {
    rm -rf "$profile"
    echo "screenshot-report: $browser failed to render $page" >&2
    exit 1
}
rm -rf "$profile"
if [ ! -s "$out" ]; then
    echo "screenshot-report: $browser wrote no image to $out" >&2
    exit 1
fi
echo "screenshot-report: wrote $out"

#!/bin/sh
# Renders an HTML report to a PNG with headless Chromium, to look at the page as people see it.
#
# Usage: Scripts/screenshot-report.sh REPORT.html [OUT.png] [WIDTH] [HEIGHT]
#        Scripts/screenshot-report.sh CAPTURE.pcap [OUT.png]   (runs 'sepbeat audit --format html' first)
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
        here=$(cd "$(dirname "$0")/.." && pwd)
        page=$(mktemp --suffix=.html)
        trap 'rm -f "$page"' EXIT
        "$here/.build/debug/sepbeat" audit --quiet --format html -o "$page" "$input" || true
        ;;
esac

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
echo "screenshot-report: wrote $out"

#!/bin/sh
# Records the sample heartbeat captures into Captures/heartbeat/.
#
# Usage (as root): Scripts/record-captures/record.sh [OUTDIR] [SCENARIO ...]
#
# Creates two network namespaces joined by a veth pair, a throw-away self-signed
# certificate, then lets record.py run the manager and client simulators, tcpdump and
# iptables inside those namespaces. Nothing leaves the namespaces. Everything the
# script creates is removed on exit.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUTDIR=${1:-$ROOT/Captures/heartbeat}
[ $# -gt 0 ] && shift

NS_CLI=sbrec-cli
NS_MGR=sbrec-mgr
IF_CLI=cli0
IF_MGR=mgr0
export NS_CLI NS_MGR IF_CLI

if [ "$(id -u)" != 0 ]; then
    echo "record.sh: must run as root (network namespaces, tcpdump, iptables)" >&2
    exit 2
fi
for tool in ip iptables tcpdump openssl python3 timeout; do
    command -v "$tool" >/dev/null || { echo "record.sh: $tool not found" >&2; exit 2; }
done
if ip netns list | grep -q -e "^$NS_CLI\b" -e "^$NS_MGR\b"; then
    echo "record.sh: namespace $NS_CLI or $NS_MGR already exists; remove it first" >&2
    exit 2
fi

WORK=$(mktemp -d /tmp/sepbeat-record.XXXXXX)
cleanup() {
    ip netns del "$NS_CLI" 2>/dev/null || true
    ip netns del "$NS_MGR" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# Self-signed 2048-bit RSA certificate with a SHA-256 signature, as a manager presents.
openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 3650 \
    -subj "/CN=manager.example.test" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

ip netns add "$NS_CLI"
ip netns add "$NS_MGR"
ip link add "$IF_CLI" netns "$NS_CLI" type veth peer name "$IF_MGR" netns "$NS_MGR"
# Fixed locally administered MAC addresses; no segmentation offload so the capture
# shows wire-sized (<= 1514 byte) frames.
ip -n "$NS_CLI" link set "$IF_CLI" address 02:5e:00:00:00:02 gso_max_segs 1 gso_max_size 1500
ip -n "$NS_MGR" link set "$IF_MGR" address 02:5e:00:00:00:01 gso_max_segs 1 gso_max_size 1500
for ns in "$NS_CLI" "$NS_MGR"; do
    ip -n "$ns" link set lo up
    # No TCP timestamps (as on a default Windows client), so re-timed captures carry no
    # contradicting TSval clocks; client ports in the Windows dynamic range.
    ip netns exec "$ns" sysctl -q -w net.ipv4.tcp_timestamps=0
    ip netns exec "$ns" sysctl -q -w net.ipv4.ip_local_port_range="49152 65535"
done
ip -n "$NS_CLI" link set "$IF_CLI" up
ip -n "$NS_MGR" link set "$IF_MGR" up
for n in 21 22 23 24 25 26 27 28; do
    ip -n "$NS_CLI" addr add "192.0.2.$n/24" dev "$IF_CLI"
done
ip -n "$NS_MGR" addr add 198.51.100.10/24 dev "$IF_MGR"
ip -n "$NS_MGR" addr add 198.51.100.11/24 dev "$IF_MGR"
ip -n "$NS_CLI" route add 198.51.100.0/24 dev "$IF_CLI"
ip -n "$NS_MGR" route add 192.0.2.0/24 dev "$IF_MGR"

mkdir -p "$OUTDIR"
cd "$HERE"
python3 -B record.py "$OUTDIR" "$WORK" "$WORK" "$@"

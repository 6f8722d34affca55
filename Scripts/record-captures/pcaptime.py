"""Minimal classic-pcap reader/writer and the re-timing step for sample captures.

A recorded capture holds several check-ins recorded back to back, a fraction of a
second apart. Each check-in (or, in push mode, each periodic exchange) is a
"window" the client simulator logged with its wall-clock start and end. This
module moves every window to its place on a realistic timeline: all packets of a
window are shifted by the same offset, so the timing inside a window is exactly
what the kernel produced. Windows of several recordings are then merged in time
order into one output file.

Output is classic pcap, microsecond resolution, link type of the input.
"""

import struct

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D


class Pcap:
    """A classic pcap file held in memory: header fields and (ts_ns, orig_len, data) records."""

    def __init__(self, linktype, snaplen, records):
        self.linktype = linktype
        self.snaplen = snaplen
        self.records = records


def read_pcap(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 24:
        raise ValueError(f"{path}: shorter than a pcap header")
    for endian in ("<", ">"):
        magic = struct.unpack(endian + "I", blob[:4])[0]
        if magic in (MAGIC_US, MAGIC_NS):
            break
    else:
        raise ValueError(f"{path}: not a classic pcap file")
    scale = 1000 if magic == MAGIC_US else 1
    _, _, _, _, snaplen, linktype = struct.unpack(endian + "HHiIII", blob[4:24])
    records = []
    pos = 24
    while len(blob) - pos >= 16:
        sec, frac, incl, orig = struct.unpack(endian + "IIII", blob[pos:pos + 16])
        pos += 16
        if incl > len(blob) - pos:
            raise ValueError(f"{path}: truncated record at offset {pos - 16}")
        records.append((sec * 1_000_000_000 + frac * scale, orig, blob[pos:pos + incl]))
        pos += incl
    return Pcap(linktype, snaplen, records)


def write_pcap(path, pcap):
    """Write microsecond classic pcap, little-endian; nanoseconds are rounded down to microseconds."""
    out = bytearray(struct.pack("<IHHiIII", MAGIC_US, 2, 4, 0, 0, pcap.snaplen, pcap.linktype))
    for ts_ns, orig, data in pcap.records:
        sec, rem = divmod(ts_ns, 1_000_000_000)
        out += struct.pack("<IIII", sec, rem // 1000, len(data), orig)
        out += data
    with open(path, "wb") as f:
        f.write(out)


def retime(pcap, windows, trim_after_last_s=None):
    """Shift packets window by window.

    windows: list of (recorded_start_s, recorded_end_s, placed_start_s); the report lists windows
    in order of recorded start.
    A packet belongs to the latest window whose recorded start (less 50 ms of slack) is at or
    before the packet; packets before the first window are dropped. When trim_after_last_s is
    given, packets later than the last window's end plus that many seconds are dropped too.
    Returns (records, report) where report counts kept and dropped packets.
    """
    ws = sorted(windows)
    slack_ns = 50_000_000
    starts = [int(w[0] * 1e9) - slack_ns for w in ws]
    out = []
    dropped_before = dropped_after = 0
    per_window = [0] * len(ws)
    first = [None] * len(ws)
    last = [None] * len(ws)
    last_end_ns = int(ws[-1][1] * 1e9) if ws else 0
    for ts_ns, orig, data in pcap.records:
        idx = -1
        for i, s in enumerate(starts):
            if s <= ts_ns:
                idx = i
            else:
                break
        if idx < 0:
            dropped_before += 1
            continue
        if trim_after_last_s is not None and ts_ns > last_end_ns + int(trim_after_last_s * 1e9):
            dropped_after += 1
            continue
        rec_start, _, placed = ws[idx]
        shift = int(round(placed * 1e6)) * 1000 - int(round(rec_start * 1e6)) * 1000
        out.append((ts_ns + shift, orig, data))
        per_window[idx] += 1
        if first[idx] is None:
            first[idx] = ts_ns + shift
        last[idx] = ts_ns + shift
    report = {
        "packets_in": len(pcap.records),
        "packets_kept": len(out),
        "dropped_before_first_window": dropped_before,
        "dropped_after_last_window": dropped_after,
        "packets_per_window": per_window,
        "first_ns_per_window": first,
        "last_ns_per_window": last,
    }
    return out, report


def merge(record_lists):
    """Merge several record lists in time order (stable for equal timestamps)."""
    merged = [r for lst in record_lists for r in lst]
    merged.sort(key=lambda r: r[0])
    return merged


def tcp_repeats(records):
    """Count TCP data segments whose bytes were all seen before in the same direction (retransmissions).

    Ethernet/IPv4 only; returns {"client_ip:port<->server_ip:port": count} for connections with repeats.
    A segment counts when its whole sequence range lies inside ranges already seen; this catches
    timeout, fast and spurious retransmissions but not partial overlaps.
    """
    seen = {}
    repeats = {}
    for _, _, data in records:
        if len(data) < 14 + 20 or data[12:14] != b"\x08\x00":
            continue
        ihl = (data[14] & 0x0F) * 4
        if data[23] != 6 or len(data) - 14 < ihl + 20:
            continue
        total = int.from_bytes(data[16:18], "big")
        tcp = 14 + ihl
        doff = (data[tcp + 12] >> 4) * 4
        plen = total - ihl - doff
        if plen <= 0:
            continue
        src = "%d.%d.%d.%d:%d" % (*data[26:30], int.from_bytes(data[tcp:tcp + 2], "big"))
        dst = "%d.%d.%d.%d:%d" % (*data[30:34], int.from_bytes(data[tcp + 2:tcp + 4], "big"))
        seq = int.from_bytes(data[tcp + 4:tcp + 8], "big")
        ranges = seen.setdefault((src, dst), [])
        if any(a <= seq and seq + plen <= b for a, b in ranges):
            key = "%s<->%s" % tuple(sorted((src, dst)))
            repeats[key] = repeats.get(key, 0) + 1
        else:
            ranges.append((seq, seq + plen))
    return repeats

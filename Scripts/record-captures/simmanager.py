"""Manager simulator: answers check-in requests over plain HTTP and HTTPS.

Usage (inside the manager namespace):
  simmanager.py --listen ADDR:PORT:MODE [...] --cert C --key K --replies FILE --ready FILE

MODE is http, tls12 or tls10. Replies come from a JSON list consumed in the order
requests arrive (the recording performs one request at a time, so the order is the
plan's order); each entry is {"status": int, "size": int, "kind": "index"|"urls"|"ack"}.
When the list runs out, a 200 index of 4000 bytes is sent. Every connection is
HTTP/1.1 keep-alive; the server closes only after the client does.
"""

import argparse
import json
import random
import socket
import ssl
import sys
import threading

REASONS = {200: "OK", 400: "Bad Request", 503: "Service Unavailable"}


class ReplyQueue:
    def __init__(self, entries):
        self.entries = list(entries)
        self.lock = threading.Lock()
        self.served = 0

    def next(self):
        with self.lock:
            self.served += 1
            if self.entries:
                return self.entries.pop(0)
        return {"status": 200, "size": 4000, "kind": "index", "seed": self.served}


def index_body(size, rng):
    """A made-up index listing: XML-like text padded to exactly `size` bytes."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<Index Version="2">\n']
    n = 0
    while sum(len(p) for p in parts) < size - 200:
        guid = "{%08X-%04X-%04X-%04X-%012X}" % (
            rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(16),
            rng.getrandbits(16), rng.getrandbits(48))
        parts.append(' <Entry Id="%d" Moniker="%s" Rev="%d" Hash="%032X"/>\n'
                     % (n, guid, rng.randrange(100000, 999999), rng.getrandbits(128)))
        n += 1
    head = "".join(parts).encode()
    tail = b"</Index>\n"
    pad = size - len(head) - len(tail)
    if pad >= 7:
        head += b"<!--" + b" " * (pad - 7) + b"-->"
    return (head + tail)[:size]


def urls_body(size, rng):
    lines = []
    total = 0
    while total < size:
        line = "/content/{%08X-%04X-%04X-%04X-%012X}/%d/%08x.dax\n" % (
            rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(16),
            rng.getrandbits(16), rng.getrandbits(48), rng.randrange(100000, 999999),
            rng.getrandbits(32))
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()[:size]


def make_body(entry):
    rng = random.Random(entry.get("seed", 0))
    size = int(entry["size"])
    status = int(entry["status"])
    if status != 200:
        return b"<html><body>%d %s</body></html>\n" % (status, REASONS.get(status, "").encode()), "text/html"
    kind = entry.get("kind", "index")
    if kind == "index":
        return index_body(size, rng), "text/xml"
    if kind == "urls":
        return urls_body(size, rng), "text/plain"
    return b"OK" + bytes(max(0, size - 2)), "application/octet-stream"


def read_request(conn, buf):
    """Read one request; returns (request_line, headers, body, rest) or None at EOF."""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    need = int(headers.get("content-length", "0"))
    while len(rest) < need:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return lines[0], headers, rest[:need], rest[need:]


def serve_connection(conn, queue, log):
    buf = b""
    try:
        while True:
            got = read_request(conn, buf)
            if got is None:
                break
            line, headers, body, buf = got
            entry = queue.next()
            payload, ctype = make_body(entry)
            status = int(entry["status"])
            head = ("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                    "Cache-Control: no-cache\r\nConnection: keep-alive\r\n\r\n"
                    % (status, REASONS.get(status, "Status"), ctype, len(payload)))
            conn.sendall(head.encode() + payload)
            log.write(json.dumps({"request": line[:40], "body": len(body), "status": status,
                                  "reply": len(payload)}) + "\n")
            log.flush()
    except (ConnectionError, ssl.SSLError, OSError) as err:
        log.write(json.dumps({"error": str(err)}) + "\n")
        log.flush()
    finally:
        try:
            conn.close()
        except OSError:
            pass


def tls_context(mode, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    # A client that closes TCP without a TLS close_notify is answered by a plain FIN, not an alert.
    ctx.options |= ssl.OP_IGNORE_UNEXPECTED_EOF
    if mode == "tls10":
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def listener(addr, port, mode, ctx, queue, log):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((addr, port))
    sock.listen(64)

    def loop():
        while True:
            conn, _ = sock.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def handle(c=conn):
                if ctx is not None:
                    try:
                        c = ctx.wrap_socket(c, server_side=True)
                    except (ssl.SSLError, OSError) as err:
                        log.write(json.dumps({"tls_error": str(err)}) + "\n")
                        c.close()
                        return
                serve_connection(c, queue, log)
            threading.Thread(target=handle, daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", action="append", default=[])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--replies")
    ap.add_argument("--ready")
    ap.add_argument("--log", default="/dev/null")
    args = ap.parse_args()
    entries = []
    if args.replies:
        with open(args.replies) as f:
            entries = json.load(f)
    queue = ReplyQueue(entries)
    log = open(args.log, "a")
    for spec in args.listen:
        addr, port, mode = spec.split(":")
        ctx = None if mode == "http" else tls_context(mode, args.cert, args.key)
        listener(addr, int(port), mode, ctx, queue, log)
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("ready\n")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()

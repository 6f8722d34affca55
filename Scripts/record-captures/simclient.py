"""Client simulator: performs the check-ins of a plan over real TCP and TLS.

Usage (inside the client namespace): simclient.py PLAN.json LOG.json

The plan is a list of sessions run one after the other. Each session is one
check-in (pull mode) or one periodic exchange on a long-lived connection (push
mode). The log records, per session, its wall-clock window (so the capture can be
re-timed), which manager answered, each failed attempt, and each request's status.
"""

import json
import random
import socket
import ssl
import sys
import time


KEYLOG = None


def tls_client_context(version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if KEYLOG:
        ctx.keylog_filename = KEYLOG
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version == "tls10":
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def h_value(seed, hex_chars):
    rng = random.Random(seed)
    return "%0*X" % (hex_chars, rng.getrandbits(hex_chars * 4))


def body_bytes(seed, size):
    rng = random.Random(seed)
    return rng.randbytes(size)


def build_request(req, host_header):
    path = "/secars/secars.dll?h=" + h_value(req["h_seed"], req["h_chars"])
    lines = ["%s %s HTTP/1.1" % (req["method"], path), "User-Agent: Smc", "Host: " + host_header]
    body = b""
    if req["method"] == "POST":
        body = body_bytes(req["h_seed"] + 1, req["body"])
        lines.append("Content-Type: application/octet-stream")
        lines.append("Content-Length: %d" % len(body))
    lines.append("Connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_response(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before response headers")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed inside response body")
        rest += chunk
    return status, length


def connect(session, entry):
    """Try the managers in priority order; return (stream, manager) or None.

    Wrapping in TLS hands the file descriptor to the TLS socket, so only the stream is kept.
    """
    for mgr in session["managers"]:
        t = time.time()
        try:
            raw = socket.create_connection((mgr["addr"], mgr["port"]), timeout=session["connect_timeout"],
                                           source_address=(session["source"], 0))
        except ConnectionRefusedError:
            entry["attempts"].append({"manager": mgr["addr"], "port": mgr["port"], "result": "refused",
                                      "t": t})
            continue
        except (socket.timeout, TimeoutError):
            entry["attempts"].append({"manager": mgr["addr"], "port": mgr["port"], "result": "timeout",
                                      "t": t})
            continue
        raw.settimeout(30)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = raw
        if mgr["transport"] == "https":
            stream = tls_client_context(mgr["tls"]).wrap_socket(raw)
            entry["tls_version"] = stream.version()
            entry["cipher"] = stream.cipher()[0]
        entry["attempts"].append({"manager": mgr["addr"], "port": mgr["port"], "result": "connected", "t": t})
        entry["client_port"] = stream.getsockname()[1]
        return stream, mgr
    return None


def close(stream):
    """Pull-mode disconnect: send FIN (no TLS close_notify), wait for the manager's FIN, release the socket.

    Shutting down a TLS socket drops its TLS state, so the reads below see the plain TCP stream.
    """
    try:
        stream.shutdown(socket.SHUT_WR)
        while stream.recv(65536):
            pass
    except OSError:
        pass
    stream.close()


def run(plan):
    log = []
    open_conns = {}
    for session in plan["sessions"]:
        time.sleep(session.get("gap_before", 0.3))
        entry = {"window": session["window"], "attempts": [], "requests": []}
        entry["t_start"] = time.time()
        conn = open_conns.get(session["source"]) if session.get("reuse") else None
        if conn is None:
            conn = connect(session, entry)
        if conn is None:
            entry["outcome"] = "no-manager"
        else:
            stream, mgr = conn
            entry["manager"] = mgr["addr"]
            entry["port"] = mgr["port"]
            host = mgr["addr"] if mgr["port"] in (80, 443) else "%s:%d" % (mgr["addr"], mgr["port"])
            entry["outcome"] = "ok"
            try:
                for req in session["requests"]:
                    data = build_request(req, host)
                    stream.sendall(data)
                    status, length = read_response(stream)
                    entry["requests"].append({"step": req["step"], "method": req["method"],
                                              "request_bytes": len(data), "request_body_bytes": req["body"]
                                              if req["method"] == "POST" else 0,
                                              "status": status, "reply_body_bytes": length})
                    if status != 200:
                        entry["outcome"] = "http-%d" % status
                        break
            except (OSError, ConnectionError) as err:
                entry["outcome"] = "error: %s" % err
            if session.get("keep_open"):
                open_conns[session["source"]] = conn
            else:
                close(stream)
                open_conns.pop(session["source"], None)
        time.sleep(session.get("tail", 0.15))
        entry["t_end"] = time.time()
        log.append(entry)
    time.sleep(plan.get("linger", 0))
    for stream, _ in open_conns.values():
        close(stream)
    return log


def main():
    global KEYLOG
    with open(sys.argv[1]) as f:
        plan = json.load(f)
    KEYLOG = plan.get("keylog")
    log = run(plan)
    with open(sys.argv[2], "w") as f:
        json.dump(log, f, indent=1)


if __name__ == "__main__":
    main()

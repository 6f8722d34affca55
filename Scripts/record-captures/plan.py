"""Check-in plans: what each sample capture contains, decided with a seeded random generator.

A plan is a list of logical check-ins (client, placed start time, kind, faults). This
module turns each one into a client session, the manager replies it needs, and the
ground-truth entry written beside the capture.
"""

import random

MGR1 = "198.51.100.10"
MGR2 = "198.51.100.11"
CLIENTS = ["192.0.2.%d" % n for n in range(21, 29)]
INTERVAL = 300
CONNECT_TIMEOUT = 10
H_CHOICES = [640, 704, 768, 832, 896, 960]

STEP_ORDER = ["select-server", "connect", "index-check", "download-urls", "log-upload", "sensor-upload",
              "disconnect"]


def manager(addr, transport="https", tls="tls12", port=None):
    if port is None:
        port = 443 if transport == "https" else 8014
    return {"addr": addr, "port": port, "transport": transport, "tls": tls}


class Builder:
    """Accumulates sessions, manager replies and truth entries for one recording."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.sessions = []
        self.replies = []
        self.checkins = []
        self.counter = 0

    def _request(self, step, method, content, body=0, h_chars=None):
        self.counter += 1
        return {"step": step, "method": method, "content": content, "body": body,
                "h_seed": self.rng.getrandbits(48), "h_chars": h_chars or self.rng.choice(H_CHOICES)}

    def requests_for(self, kind):
        """Requests of one check-in with the reply each one expects: (request, reply)."""
        r = self.rng
        pairs = [(self._request("index-check", "GET", "index", h_chars=800),
                  {"kind": "index", "size": r.randint(2600, 4000)})]
        if kind == "full":
            pairs.append((self._request("download-urls", "GET", "download-urls"),
                          {"kind": "urls", "size": r.randint(25000, 45000)}))
            records = 100
            log_size = sum(r.randint(900, 1100) for _ in range(records))
            pairs.append((self._request("log-upload", "POST", "logs (%d records)" % records, log_size),
                          {"kind": "ack", "size": r.randint(40, 120)}))
            pairs.append((self._request("log-upload", "POST", "operational state", r.randint(20000, 40000)),
                          {"kind": "ack", "size": r.randint(40, 120)}))
            pairs.append((self._request("sensor-upload", "POST", "LAN sensor", r.randint(10000, 25000)),
                          {"kind": "ack", "size": r.randint(40, 120)}))
            pairs.append((self._request("sensor-upload", "POST", "learned applications",
                                        r.randint(30000, 50000)),
                          {"kind": "ack", "size": r.randint(40, 120)}))
        return pairs

    def add(self, client, placed, kind, managers, mode="pull", errors=None, labels=None,
            reaches_manager=True, reuse=False, keep_open=False, tail=0.15):
        """One check-in (pull) or one periodic exchange (push).

        errors: {request_index: status} replaces the reply of that request; the client stops there.
        reaches_manager: False when no manager will accept the connection (no replies queued).
        """
        wid = "w%04d" % len(self.sessions)
        pairs = self.requests_for(kind)
        errors = errors or {}
        requests = []
        for i, (req, rep) in enumerate(pairs):
            status = errors.get(i, 200)
            rep = dict(rep, status=status, seed=self.rng.getrandbits(32))
            requests.append(req)
            if reaches_manager:
                self.replies.append(rep)
            if status != 200:
                break
        session = {"window": wid, "source": client, "managers": managers, "connect_timeout": CONNECT_TIMEOUT,
                   "requests": requests, "reuse": reuse, "keep_open": keep_open, "tail": tail,
                   "gap_before": 0.3}
        self.sessions.append(session)
        truth = {"window": wid, "client": client, "placed_start": placed, "kind": kind, "mode": mode,
                 "injected_faults": [{"request": i, "step": requests[i]["step"], "status": s}
                                     for i, s in sorted(errors.items()) if i < len(requests)]}
        truth.update(labels or {})
        self.checkins.append(truth)
        return truth


def steps_of(entry, session, mode, first_of_connection):
    """Steps a check-in actually performed, from the client's log."""
    steps = []
    if first_of_connection:
        steps += ["select-server", "connect"]
    for req in entry["requests"]:
        if req["step"] not in steps:
            steps.append(req["step"])
    if mode == "pull" and entry.get("manager"):
        steps.append("disconnect")
    if mode == "pull" and not entry.get("manager"):
        steps = ["select-server"]
    return [s for s in STEP_ORDER if s in steps]

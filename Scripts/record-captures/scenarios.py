"""The sample captures: one function per capture, each returning its recordings and truth header.

Times are placed on a timeline starting at BASE (UTC); every random choice comes from a
seeded generator so a re-run places the same check-ins at the same times with the same
payload sizes (the packets themselves differ: ports, TLS keys and kernel timing are live).
"""

import calendar
import random

from plan import CLIENTS, INTERVAL, MGR1, MGR2, Builder, manager

BASE = calendar.timegm((2025, 3, 3, 8, 0, 0))
DAY = 86400
POST_TAIL = 0.15


def listen(addr, port, mode):
    return "%s:%d:%s" % (addr, port, mode)


def recording(builder, listens, iptables=None, trim_after_last=None, linger=0):
    return {"listen": listens, "iptables": iptables or [], "sessions": builder.sessions,
            "replies": builder.replies, "checkins": builder.checkins, "trim_after_last": trim_after_last,
            "linger": linger}


def mgr_truth(addr, port, priority, state="up", transport="https"):
    return {"address": addr, "port": port, "priority": priority, "transport": transport, "state": state}


def regular_times(rng, start, count, jitter=2.0):
    return [start + k * INTERVAL + (rng.uniform(-jitter, jitter) if k else 0) for k in range(count)]


def simple_pull(seed, day, kinds, transport="https", tls="tls12", tail=POST_TAIL):
    b = Builder(seed)
    start = BASE + day * DAY + b.rng.uniform(5, 30)
    mgr = manager(MGR1, transport, tls)
    for t, kind in zip(regular_times(b.rng, start, len(kinds)), kinds):
        b.add(CLIENTS[0], t, kind, [mgr], tail=tail)
    return b, mgr


def https_idle():
    b, mgr = simple_pull(101, 0, ["idle"] * 6)
    return {"recordings": [recording(b, [listen(MGR1, 443, "tls12")])],
            "truth": {"description": "one pull-mode client, six idle HTTPS check-ins 300 s apart",
                      "transport": "https", "tls": "TLSv1.2", "mode": "pull", "interval_s": INTERVAL,
                      "managers": [mgr_truth(MGR1, 443, 1)],
                      "clients": [{"address": CLIENTS[0], "mode": "pull", "interval_s": INTERVAL}],
                      "faults": []}}


def https_full():
    b, mgr = simple_pull(102, 1, ["idle", "full", "idle", "idle", "full", "idle"])
    return {"recordings": [recording(b, [listen(MGR1, 443, "tls12")])],
            "truth": {"description": "one pull-mode client, HTTPS check-ins 300 s apart, two of them full "
                                     "(download-urls, ~100 KB log upload, op-state and sensor uploads)",
                      "transport": "https", "tls": "TLSv1.2", "mode": "pull", "interval_s": INTERVAL,
                      "managers": [mgr_truth(MGR1, 443, 1)],
                      "clients": [{"address": CLIENTS[0], "mode": "pull", "interval_s": INTERVAL}],
                      "faults": []}}


def http_plain():
    b, mgr = simple_pull(103, 2, ["idle", "idle", "full", "idle", "idle"], transport="http")
    return {"recordings": [recording(b, [listen(MGR1, 8014, "http")])],
            "truth": {"description": "one pull-mode client over plain HTTP on port 8014, one full check-in",
                      "transport": "http", "tls": None, "mode": "pull", "interval_s": INTERVAL,
                      "managers": [mgr_truth(MGR1, 8014, 1, transport="http")],
                      "clients": [{"address": CLIENTS[0], "mode": "pull", "interval_s": INTERVAL}],
                      "faults": []}}


def old_tls():
    b, mgr = simple_pull(107, 6, ["idle"] * 5, tls="tls10")
    return {"recordings": [recording(b, [listen(MGR1, 443, "tls10")])],
            "truth": {"description": "one pull-mode client, idle HTTPS check-ins negotiated with TLS 1.0",
                      "transport": "https", "tls": "TLSv1.0", "mode": "pull", "interval_s": INTERVAL,
                      "managers": [mgr_truth(MGR1, 443, 1)],
                      "clients": [{"address": CLIENTS[0], "mode": "pull", "interval_s": INTERVAL}],
                      "faults": [{"kind": "old-tls", "detail": "manager and client allow only TLS 1.0"}]}}


def push_mode():
    b = Builder(104)
    start = BASE + 3 * DAY + b.rng.uniform(5, 30)
    mgr = manager(MGR1)
    client = CLIENTS[1]
    for k, t in enumerate(regular_times(b.rng, start, 13, jitter=0.5)):
        b.add(client, t, "full" if k == 6 else "idle", [mgr], mode="push", reuse=k > 0, keep_open=True,
              labels={"exchange": k})
    return {"recordings": [recording(b, [listen(MGR1, 443, "tls12")], trim_after_last=0.5, linger=1.5)],
            "truth": {"description": "one push-mode client: a single long-lived HTTPS connection opened at "
                                     "the start, with a periodic exchange every 300 s (exchange 6 is full); "
                                     "the connection is still open when the capture ends",
                      "transport": "https", "tls": "TLSv1.2", "mode": "push", "interval_s": INTERVAL,
                      "push_exchange_interval_s": INTERVAL,
                      "managers": [mgr_truth(MGR1, 443, 1)],
                      "clients": [{"address": client, "mode": "push", "interval_s": INTERVAL}],
                      "faults": [],
                      "notes": "the client's final close happened after the capture window and was trimmed"}}


def failover():
    client = CLIENTS[2]
    pri = [manager(MGR1), manager(MGR2)]
    rng = random.Random(105)
    times = regular_times(rng, BASE + 4 * DAY + rng.uniform(5, 30), 5)
    refused = Builder(1051)
    for t in times[:2]:
        refused.add(client, t, "idle", pri, labels={"injected_fault": "manager1-refuses"})
    dropped = Builder(1052)
    for t in times[2:4]:
        dropped.add(client, t, "idle", pri, labels={"injected_fault": "manager1-drops-syn"})
    back = Builder(1053)
    back.add(client, times[4], "idle", pri, labels={"injected_fault": None})
    drop_rule = ["-A", "INPUT", "-d", MGR1, "-p", "tcp", "--dport", "443", "-j", "DROP"]
    return {"recordings": [recording(refused, [listen(MGR2, 443, "tls12")]),
                           recording(dropped, [listen(MGR2, 443, "tls12")], iptables=[drop_rule]),
                           recording(back, [listen(MGR1, 443, "tls12"), listen(MGR2, 443, "tls12")])],
            "truth": {"description": "client with two managers by priority; check-ins 1-2: manager1 has no "
                                     "listener (SYN answered by RST) and the client moves to manager2; "
                                     "check-ins 3-4: manager1 drops SYNs (iptables) and the client moves to "
                                     "manager2 after a 10 s connect timeout; check-in 5: manager1 is back",
                      "transport": "https", "tls": "TLSv1.2", "mode": "pull", "interval_s": INTERVAL,
                      "connect_timeout_s": 10,
                      "managers": [mgr_truth(MGR1, 443, 1, state="refusing, then dropping SYNs, then up"),
                                   mgr_truth(MGR2, 443, 2)],
                      "clients": [{"address": client, "mode": "pull", "interval_s": INTERVAL}],
                      "faults": [{"kind": "refused", "manager": MGR1, "checkins": [1, 2]},
                                 {"kind": "syn-dropped", "manager": MGR1, "checkins": [3, 4]}]}}


def server_error():
    b = Builder(106)
    client = CLIENTS[3]
    mgr = [manager(MGR1, "http")]
    t = BASE + 5 * DAY + b.rng.uniform(5, 30)
    acc = {"accelerated": True, "reason": "error fetching the index"}
    plan = [(0, "idle", None, {}),
            (INTERVAL, "idle", {0: 503}, {}),
            (35, "idle", {0: 503}, acc),
            (48, "idle", None, acc),
            (INTERVAL, "idle", {0: 400}, {}),
            (22, "idle", {0: 400}, acc),
            (INTERVAL, "full", {2: 503}, {}),
            (INTERVAL, "idle", None, {})]
    for gap, kind, errors, labels in plan:
        t += gap
        b.add(client, t, kind, mgr, errors=errors, labels=labels)
    return {"recordings": [recording(b, [listen(MGR1, 8014, "http")])],
            "truth": {"description": "plain HTTP (port 8014) pull client; the manager answers the index "
                                     "request with 503 (overload) at check-ins 2-3 and 400 (wrong key or "
                                     "format) at 5-6; a retry after an index error comes 22-48 s later "
                                     "(accelerated); check-in 7 has its log upload rejected with 503",
                      "transport": "http", "tls": None, "mode": "pull", "interval_s": INTERVAL,
                      "managers": [mgr_truth(MGR1, 8014, 1, transport="http")],
                      "clients": [{"address": client, "mode": "pull", "interval_s": INTERVAL}],
                      "faults": [{"kind": "http-status", "status": 503, "step": "index-check",
                                  "checkins": [2, 3]},
                                 {"kind": "http-status", "status": 400, "step": "index-check",
                                  "checkins": [5, 6]},
                                 {"kind": "http-status", "status": 503, "step": "log-upload",
                                  "checkins": [7]}]}}


def lossy_link():
    b, mgr = simple_pull(108, 7, ["full", "idle", "full", "full", "idle"], tail=1.5)
    rules = [["-A", "INPUT", "-i", "mgr0", "-p", "tcp", "-m", "statistic", "--mode", "random",
              "--probability", "0.05", "-j", "DROP"],
             ["-A", "OUTPUT", "-o", "mgr0", "-p", "tcp", "-m", "statistic", "--mode", "random",
              "--probability", "0.05", "-j", "DROP"]]
    return {"recordings": [recording(b, [listen(MGR1, 443, "tls12")], iptables=rules)],
            "truth": {"description": "HTTPS pull client on a link losing 5% of TCP packets in each direction "
                                     "(iptables statistic match in the manager namespace): real "
                                     "retransmissions; client-to-manager drops are visible as a packet "
                                     "followed by its retransmission, manager-to-client drops as gaps",
                      "transport": "https", "tls": "TLSv1.2", "mode": "pull", "interval_s": INTERVAL,
                      "managers": [mgr_truth(MGR1, 443, 1)],
                      "clients": [{"address": CLIENTS[0], "mode": "pull", "interval_s": INTERVAL}],
                      "faults": [{"kind": "packet-loss", "probability": 0.05, "directions": "both",
                                  "where": "manager namespace, iptables -m statistic --mode random",
                                  "seeded": False}]}}


def fleet():
    rng = random.Random(109)
    start = BASE + 8 * DAY
    duration = 2 * 3600
    plans = []   # (time, client, kind, labels)
    missed = []
    clients = []
    for n, client in enumerate(CLIENTS[:6]):
        t = start + rng.uniform(3, 290)
        role = ["regular", "one full check-in", "missed check-in", "accelerated after policy change",
                "one late check-in", "started late"][n]
        if n == 5:
            t = start + 2700 + rng.uniform(0, 60)
        clients.append({"address": client, "mode": "pull", "interval_s": INTERVAL, "role": role,
                        "first_checkin_epoch": None})
        k = 0
        while t < start + duration:
            labels = {"reason": "client started"} if n == 5 and k == 0 else {}
            kind = "idle"
            if n == 1 and k == 9:
                kind = "full"
            if n == 2 and k == 11:
                missed.append({"client": client, "expected_epoch": round(t, 6)})
                t += INTERVAL + rng.uniform(-2, 2)
                k += 1
                continue
            if n == 3 and k == 8:
                plans.append((t, client, "full", {"reason": "policy change"}))
                for _ in range(3):
                    t += rng.uniform(5, 60)
                    plans.append((t, client, "idle", {"accelerated": True, "reason": "waiting for content "
                                                                                    "after policy change"}))
                t += INTERVAL + rng.uniform(-2, 2)
                k += 1
                continue
            if n == 4 and k == 14:
                t += 150
                labels = {"late_by_s": 150}
            plans.append((t, client, kind, labels))
            t += INTERVAL + rng.uniform(-2, 2)
            k += 1
    plans.sort(key=lambda p: p[0])
    b = Builder(1090)
    mgr = [manager(MGR1)]
    for t, client, kind, labels in plans:
        b.add(client, t, kind, mgr, labels=labels)
    for c in clients:
        c["first_checkin_epoch"] = round(min(p[0] for p in plans if p[1] == c["address"]), 6)
    return {"recordings": [recording(b, [listen(MGR1, 443, "tls12")])],
            "truth": {"description": "six HTTPS pull clients over two hours: one misses a check-in, one "
                                     "checks in 5-60 s apart after a policy change, one checks in 150 s late "
                                     "once, one starts 45 minutes into the capture",
                      "transport": "https", "tls": "TLSv1.2", "mode": "pull", "interval_s": INTERVAL,
                      "capture_span_s": duration,
                      "managers": [mgr_truth(MGR1, 443, 1)],
                      "clients": clients, "missed_checkins": missed,
                      "faults": [{"kind": "missed-checkin", "client": m["client"],
                                  "expected_epoch": m["expected_epoch"]} for m in missed]}}


SCENARIOS = {
    "https-idle": https_idle,
    "https-full": https_full,
    "http-plain": http_plain,
    "push-mode": push_mode,
    "failover": failover,
    "server-error": server_error,
    "old-tls": old_tls,
    "lossy-link": lossy_link,
    "fleet": fleet,
}

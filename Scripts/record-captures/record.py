"""Records the sample heartbeat captures inside the namespaces record.sh created.

Usage: record.py OUTDIR WORKDIR [SCENARIO ...]   (run as root, from record.sh)

Each scenario is one or more recordings. A recording starts a manager simulator in
the manager namespace, optional iptables rules there, tcpdump in the client
namespace, and the client simulator with a plan of sessions run back to back. The
raw capture is then re-timed (pcaptime.py) so each session sits at its planned
time, recordings are merged, and the ground truth is written beside the capture.
"""

import json
import os
import platform
import signal
import ssl
import subprocess
import sys
import time

import pcaptime
import plan as planning
import scenarios

HERE = os.path.dirname(os.path.abspath(__file__))
NS_CLI = os.environ.get("NS_CLI", "sbrec-cli")
NS_MGR = os.environ.get("NS_MGR", "sbrec-mgr")
IF_CLI = os.environ.get("IF_CLI", "cli0")


def netns(ns, *cmd):
    return ["ip", "netns", "exec", ns] + list(cmd)


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


class Procs:
    """Processes this script started, stopped by their own ids."""

    def __init__(self):
        self.procs = []

    def start(self, cmd, **kw):
        p = subprocess.Popen(cmd, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p)


def iptables_counters():
    out = run(netns(NS_MGR, "iptables", "-nvxL"))
    rules = []
    chain = None
    for line in out.splitlines():
        if line.startswith("Chain "):
            chain = line.split()[1]
        elif line.strip() and not line.strip().startswith("pkts"):
            f = line.split()
            rules.append({"chain": chain, "packets": int(f[0]), "rule": " ".join(f[2:])})
    return rules


def record_one(rec, workdir, tag, certdir, procs):
    """Run one recording; return (raw pcap path, client log, iptables counters)."""
    replies = os.path.join(workdir, tag + ".replies.json")
    plan = os.path.join(workdir, tag + ".plan.json")
    log = os.path.join(workdir, tag + ".log.json")
    raw = os.path.join(workdir, tag + ".raw.pcap")
    ready = os.path.join(workdir, tag + ".ready")
    with open(replies, "w") as f:
        json.dump(rec["replies"], f)
    with open(plan, "w") as f:
        json.dump({"sessions": rec["sessions"], "linger": rec.get("linger", 0),
                   "keylog": os.path.join(workdir, tag + ".keylog")}, f, indent=1)
    cmd = [sys.executable, "-W", "ignore::DeprecationWarning", os.path.join(HERE, "simmanager.py"),
           "--cert", certdir + "/cert.pem", "--key", certdir + "/key.pem", "--replies", replies, "--ready", ready,
           "--log", os.path.join(workdir, tag + ".manager.log")]
    for spec in rec["listen"]:
        cmd += ["--listen", spec]
    mgr = procs.start(netns(NS_MGR, *cmd))
    for _ in range(100):
        if os.path.exists(ready):
            break
        time.sleep(0.05)
    else:
        raise RuntimeError("manager simulator did not start")
    for rule in rec.get("iptables", []):
        run(netns(NS_MGR, "iptables", *rule))
    dump = procs.start(netns(NS_CLI, "timeout", "-s", "INT", "1800", "tcpdump", "-i", IF_CLI, "-w", raw,
                             "-Z", "root", "--immediate-mode", "-B", "65536", "-s", "0", "-n", "tcp"),
                       stderr=subprocess.PIPE, text=True)
    dump.stderr.readline()  # "listening on ..." once the capture runs
    time.sleep(0.3)
    subprocess.run(netns(NS_CLI, sys.executable, "-W", "ignore::DeprecationWarning",
                          os.path.join(HERE, "simclient.py"), plan, log), check=True)
    time.sleep(1.0)
    counters = iptables_counters() if rec.get("iptables") else []
    procs.stop(dump, signal.SIGINT)
    summary = dump.stderr.read()
    if "0 packets dropped by kernel" not in summary:
        raise RuntimeError("tcpdump lost packets: " + " ".join(summary.split()))
    procs.stop(mgr)
    run(netns(NS_MGR, "iptables", "-F"))
    with open(log) as f:
        return raw, json.load(f), counters, os.path.join(workdir, tag + ".keylog")


def versions():
    py = sys.version.split()[0]
    tcpdump = subprocess.run(["tcpdump", "--version"], capture_output=True, text=True).stdout.splitlines()
    return {"kernel": platform.release(), "openssl": ssl.OPENSSL_VERSION, "python": py,
            "tcpdump": tcpdump[0] if tcpdump else "unknown",
            "libpcap": tcpdump[1] if len(tcpdump) > 1 else "unknown"}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + (".%06dZ" % round((t % 1) * 1e6)).replace(
        ".1000000Z", ".999999Z")


def build_truth(name, scen, results, outname):
    """Join the plan, the client logs and the re-timing report into the ground truth."""
    checkins = []
    for rec, (log, report, windows) in zip(scen["recordings"], results):
        by_window = {e["window"]: e for e in log}
        order = sorted(range(len(windows)), key=lambda i: windows[i][0])
        first_ns = {windows[i][3]: report["first_ns_per_window"][k] for k, i in enumerate(order)}
        npk = {windows[i][3]: report["packets_per_window"][k] for k, i in enumerate(order)}
        seen_conn = set()
        for planned, session in zip(rec["checkins"], rec["sessions"]):
            entry = by_window[session["window"]]
            placed = planned["placed_start"]
            shift = placed - entry["t_start"]
            first_of_conn = not session.get("reuse") or session["source"] not in seen_conn
            seen_conn.add(session["source"])
            mode = planned["mode"]
            out = {k: v for k, v in planned.items() if k not in ("window", "placed_start")}
            out["start"] = iso(placed)
            out["start_epoch"] = round(placed, 6)
            fn = first_ns.get(session["window"])
            out["first_packet_epoch"] = None if fn is None else round(fn / 1e9, 6)
            out["packets"] = npk.get(session["window"], 0)
            out["duration_s"] = round(entry["t_end"] - entry["t_start"], 6)
            out["manager"] = entry.get("manager")
            out["port"] = entry.get("port")
            out["client_port"] = entry.get("client_port")
            if "tls_version" in entry:
                out["tls_version"] = entry["tls_version"]
                out["cipher"] = entry["cipher"]
            out["connection_attempts"] = [
                {"manager": a["manager"], "port": a["port"], "result": a["result"],
                 "time_epoch": round(a["t"] + shift, 6)} for a in entry["attempts"]]
            out["failover"] = any(a["result"] != "connected" for a in entry["attempts"]) and \
                entry.get("manager") is not None
            out["steps"] = planning.steps_of(entry, session, mode, first_of_conn)
            out["requests"] = entry["requests"]
            for req, sreq in zip(out["requests"], session["requests"]):
                req["content"] = sreq["content"]
                req["h_hex_chars"] = sreq["h_chars"]
            out["outcome"] = entry["outcome"]
            if mode == "push":
                out["connection_stays_open"] = True
            checkins.append(out)
    checkins.sort(key=lambda c: c["start_epoch"])
    for n, c in enumerate(checkins, 1):
        c["seq"] = n
    truth = {"capture": outname, "simulation": True,
             "format": "classic pcap, microsecond timestamps, little-endian, link type 1 (Ethernet)",
             "timeline": "packets are real kernel TCP/TLS output; each check-in (push: each exchange) was "
                         "recorded back to back and shifted as a whole to start_epoch; timing inside a "
                         "check-in is as recorded",
             "capture_point": "client side of the veth link between client and manager namespaces",
             "recorded_with": versions()}
    truth.update(scen["truth"])
    truth["checkins"] = checkins
    truth["retiming"] = [{"packets_in": r["packets_in"], "packets_kept": r["packets_kept"],
                          "dropped_before_first_window": r["dropped_before_first_window"],
                          "dropped_after_last_window": r["dropped_after_last_window"]}
                         for _, r, _ in results]
    return truth


def record_scenario(name, outdir, workdir, certdir, procs):
    scen = scenarios.SCENARIOS[name]()
    lists = []
    results = []
    keylog = b""
    linktype = 1
    for n, rec in enumerate(scen["recordings"]):
        raw, log, counters, keys = record_one(rec, workdir, "%s-%d" % (name, n), certdir, procs)
        if os.path.exists(keys):
            with open(keys, "rb") as f:
                keylog += f.read()
        if counters:
            scen["truth"].setdefault("iptables_counters", []).append(counters)
        pcap = pcaptime.read_pcap(raw)
        linktype = pcap.linktype
        placed = {s["window"]: c["placed_start"] for s, c in zip(rec["sessions"], rec["checkins"])}
        windows = [(e["t_start"], e["t_end"], placed[e["window"]], e["window"]) for e in log]
        recs, report = pcaptime.retime(pcap, [w[:3] for w in windows], rec.get("trim_after_last"))
        empty = [w for w, n in zip(sorted(windows), report["packets_per_window"]) if n == 0]
        if empty:
            raise RuntimeError("%s: no packets captured for window(s) %s" % (name, [w[3] for w in empty]))
        lists.append(recs)
        results.append((log, report, windows))
    outname = name + ".pcap"
    merged = pcaptime.merge(lists)
    pcaptime.write_pcap(os.path.join(outdir, outname), pcaptime.Pcap(linktype, 262144, merged))
    truth = build_truth(name, scen, results, outname)
    repeats = pcaptime.tcp_repeats(merged)
    truth["observed_tcp"] = {
        "note": "not injected: what the stacks did, counted by the generator (data segments whose bytes "
                "were all sent before in the same direction); the lossy link causes them on purpose, "
                "elsewhere they come from reordering or timers on a busy host",
        "retransmitted_segments": sum(repeats.values()), "by_connection": repeats}
    if keylog:
        with open(os.path.join(outdir, name + ".keylog"), "wb") as f:
            f.write(keylog)
        truth["tls_keylog"] = name + ".keylog"
    with open(os.path.join(outdir, name + ".truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")
    print("%-14s %5d packets, %d check-ins" % (name, sum(len(x) for x in lists), len(truth["checkins"])))


def main():
    outdir, workdir, certdir = sys.argv[1], sys.argv[2], sys.argv[3]
    names = sys.argv[4:] or list(scenarios.SCENARIOS)
    procs = Procs()
    try:
        for name in names:
            record_scenario(name, outdir, workdir, certdir, procs)
    finally:
        procs.stop_all()


if __name__ == "__main__":
    main()

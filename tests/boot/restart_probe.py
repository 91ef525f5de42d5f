#!/usr/bin/env python3
"""What a director and a client see while the agent is restarted, upgraded or stopped.

Run inside the boot test's container:  restart_probe.py DIR VIP READY_URL
  - polls READY_URL every 50 ms (20/s, as a director would), each with its status or
    error and its latency;
  - samples every 10 ms whether VIP is a local address (a bind to it succeeds) and adds
    up the time it was missing;
  - holds one TCP connection to a service of its own on VIP:8080 and exchanges a line
    both ways at the start and once told to stop.
It keeps DIR/polls (the count so far) current, writes DIR/started once the first poll answered 200 and the connection exchanged its
first line, runs until DIR/stop exists (at most 120 s), then writes DIR/result.json.
Bounded: at most 2,400 polls and 12,000 samples; traffic only over lo.
"""
import json
import math
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

out_dir, vip, url = sys.argv[1], sys.argv[2], sys.argv[3]
stop_file = os.path.join(out_dir, "stop")
deadline = time.monotonic() + 120
polls = []       # (status or error text, latency ms)
missing_ms = 0.0
samples = 0
done = threading.Event()


def should_stop():
    return done.is_set() or os.path.exists(stop_file) or time.monotonic() > deadline


def poller():
    while not should_stop() and len(polls) < 2400:
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        except Exception as e:  # refused, reset, timeout: what a director counts as down
            status = type(e).__name__ + ": " + str(e)
        polls.append((status, (time.monotonic() - t0) * 1000))
        with open(os.path.join(out_dir, "polls.tmp"), "w") as f:
            f.write(str(len(polls)))
        os.replace(os.path.join(out_dir, "polls.tmp"), os.path.join(out_dir, "polls"))
        time.sleep(max(0.0, 0.05 - (time.monotonic() - t0)))


def vip_present():
    # Binding to an address works only while it is one of this host's (EADDRNOTAVAIL
    # otherwise; ip_nonlocal_bind is 0 in the container).
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((vip, 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def sampler():
    global missing_ms, samples
    last = time.monotonic()
    while not should_stop() and samples < 12000:
        now = time.monotonic()
        present = vip_present()
        samples += 1
        if not present:
            missing_ms += (now - last) * 1000
        last = now
        time.sleep(0.01)


def echo_server(listener):
    conn, _ = listener.accept()
    with conn:
        f = conn.makefile("rwb", buffering=0)
        for line in f:
            f.write(b"echo " + line)


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((vip, 8080))
listener.listen(1)
threading.Thread(target=echo_server, args=(listener,), daemon=True).start()
client = socket.create_connection((vip, 8080), timeout=10)
cf = client.makefile("rwb", buffering=0)


def exchange(word):
    try:
        cf.write(word.encode() + b"\n")
        return cf.readline().decode().strip() == "echo " + word
    except OSError:
        return False


first_exchange = exchange("before")
threads = [threading.Thread(target=poller), threading.Thread(target=sampler)]
for t in threads:
    t.start()
while not should_stop() and not any(p[0] == 200 for p in polls):
    time.sleep(0.01)
open(os.path.join(out_dir, "started"), "w").close()
while not should_stop():
    time.sleep(0.01)
done.set()
for t in threads:
    t.join()
after_exchange = exchange("after")
latencies = sorted(p[1] for p in polls)
result = {
    "polls": len(polls),
    "not_200": [str(p[0]) for p in polls if p[0] != 200][:20],
    "not_200_count": sum(1 for p in polls if p[0] != 200),
    "max_ms": round(latencies[-1], 1) if latencies else None,
    "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1) if latencies else None,
    "vip_samples": samples,
    "vip_missing_ms": math.ceil(missing_ms),  # whole ms, rounded up: 0 only when never missing
    "connection_before": first_exchange,
    "connection_after": after_exchange,
}
with open(os.path.join(out_dir, "result.json"), "w") as f:
    json.dump(result, f)

#!/usr/bin/env python3
"""The hand-off test's service and clients (tests/e2e/handoff.sh).

  serve NAME PORT        a TCP service on PORT: says "NAME\\n" to each client, then echoes
                         its lines; holds any number of connections
  long ADDR PORT FILE    one long-lived connection: reads the server's name, then sends a
                         line every 100 ms and checks the echo; FILE gets "name NAME", then
                         "exchanges N" after each; on a failure "error WHAT" and exit 1; on
                         SIGTERM "done N" and exit 0
  short ADDR PORT N      N connections one after another: each reads the name, sends a line,
                         checks the echo; prints each name, then "failed K" (exit 1 if K > 0)

Bounded: every mode ends by itself within 300 s."""
import os
import select
import signal
import socket
import sys
import time

END = time.time() + 300


def serve(name, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(128)
    print("ready", flush=True)
    held = {}
    while time.time() < END:
        r, _, _ = select.select([s] + list(held), [], [], 0.5)
        for c in r:
            if c is s:
                conn, _ = s.accept()
                conn.sendall((name + "\n").encode())
                held[conn] = b""
                continue
            try:
                data = c.recv(4096)
                if data:
                    c.sendall(data)
                    continue
            except OSError:  # a reset: the agent's TCP check closes with the greeting unread
                pass
            del held[c]
            c.close()


def line(sock, buf):
    while b"\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed by the peer")
        buf += chunk
    first, rest = buf.split(b"\n", 1)
    return first.decode(), rest


def long_lived(addr, port, path):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    out = open(path, "w", buffering=1)
    n = 0
    try:
        c = socket.create_connection((addr, port), timeout=5)
        name, buf = line(c, b"")
        out.write("name %s\n" % name)
        while not stop and time.time() < END:
            c.sendall(b"ping %d\n" % n)
            got, buf = line(c, buf)
            if got != "ping %d" % n:
                raise ConnectionError("echo %r for ping %d" % (got, n))
            n += 1
            out.write("exchanges %d\n" % n)
            time.sleep(0.1)
    except (OSError, ConnectionError) as e:
        out.write("error %s after %d exchanges\n" % (e, n))
        sys.exit(1)
    out.write("done %d\n" % n)


def short(addr, port, count):
    failed = 0
    for i in range(count):
        try:
            c = socket.create_connection((addr, port), timeout=5)
            name, buf = line(c, b"")
            c.sendall(b"hello\n")
            got, _ = line(c, buf)
            if got != "hello":
                raise ConnectionError("echo %r" % got)
            c.close()
            print(name, flush=True)
        except (OSError, ConnectionError) as e:
            failed += 1
            print("error %s" % e, flush=True)
    print("failed %d" % failed, flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    elif mode == "long":
        long_lived(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif mode == "short":
        short(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)

#!/usr/bin/env python3
"""TCP connections for the drain tests, held as long as the process lives.

  serve ADDR PORT [close-first]   accept and keep each connection until its peer closes
                                  (close-first: send a byte and close at once, so this
                                  side's socket lingers in TIME_WAIT)
  hold ADDR PORT SRC N            open N connections from SRC and keep them
  once ADDR PORT SRC              connect from SRC, read until the server closes, close

Prints "ready" once listening or connected; ends on SIGTERM (its sockets close with it).
Bounded: it exits by itself after 300 s."""
import select
import signal
import socket
import sys
import time

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
END = time.time() + 300


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(addr, port, close_first):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family(addr) == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # dual stack: IPv4 clients too
    s.bind((addr, port))
    s.listen(128)
    print("ready", flush=True)
    held = []
    while time.time() < END:
        r, _, _ = select.select([s] + held, [], [], 0.5)
        for c in r:
            if c is s:
                conn, _ = s.accept()
                if close_first:
                    conn.sendall(b"x")
                    conn.close()
                else:
                    held.append(conn)
            else:
                try:
                    if c.recv(4096):
                        continue
                except OSError:  # reset by the peer
                    pass
                held.remove(c)
                c.close()


def hold(addr, port, src, n):
    held = []
    for _ in range(n):
        c = socket.socket(family(addr), socket.SOCK_STREAM)
        c.bind((src, 0))
        c.connect((addr, port))
        held.append(c)
    print("ready", flush=True)
    while time.time() < END:
        time.sleep(0.5)


def once(addr, port, src):
    c = socket.socket(family(addr), socket.SOCK_STREAM)
    c.bind((src, 0))
    c.connect((addr, port))
    while c.recv(4096):
        pass
    c.close()
    print("ready", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "serve":
        serve(sys.argv[2], int(sys.argv[3]), len(sys.argv) > 4 and sys.argv[4] == "close-first")
    elif mode == "hold":
        hold(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
    elif mode == "once":
        once(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(__doc__)

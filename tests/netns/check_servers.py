#!/usr/bin/env python3
"""Services for the service-check tests, each printing "ready" once it listens:

  check_servers.py https ADDR PORT CERT KEY SNI_LOG  HTTPS, 200 "ok-body" on any path; the
                                                     server name each handshake sent (or
                                                     "none") appended to SNI_LOG
  check_servers.py http ADDR PORT                    HTTP, 200 "ok-body" on any path
  check_servers.py dns ADDR PORT                     UDP DNS: NOERROR, the question echoed
  check_servers.py silent-udp ADDR PORT              a bound UDP port that never answers
  check_servers.py black-hole ADDR PORT              a TCP listener that never accepts

They run until killed (by PID). Test code only: never installed.
"""
import http.server
import socket
import socketserver
import ssl
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b"ok-body\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client that gives up (a TLS check against a plain port) is not news


def serve_http(addr, port, wrap=None):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    Server.address_family = family
    srv = Server((addr, port), Handler, bind_and_activate=False)
    srv.server_bind()
    srv.server_activate()
    if wrap:
        srv.socket = wrap(srv.socket)
    print("ready", flush=True)
    srv.serve_forever()


def https(addr, port, cert, key, sni_log):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    def note(sslobj, name, _ctx):
        with open(sni_log, "a") as f:
            f.write((name or "none") + "\n")

    ctx.sni_callback = note
    serve_http(addr, port, lambda s: ctx.wrap_socket(s, server_side=True, do_handshake_on_connect=True))


def dns(addr, port):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    print("ready", flush=True)
    while True:
        q, peer = s.recvfrom(512)
        if len(q) < 12:
            continue
        a = bytearray(q)
        a[2] |= 0x80                 # a response
        a[3] = (a[3] & 0xF0) | 0     # NOERROR
        s.sendto(bytes(a), peer)     # the question echoed, no records


def silent_udp(addr, port):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    print("ready", flush=True)
    while True:
        s.recvfrom(512)


def black_hole(addr, port):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(128)
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def main():
    kind, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind == "https":
        https(addr, port, sys.argv[4], sys.argv[5], sys.argv[6])
    elif kind == "http":
        serve_http(addr, port)
    elif kind == "dns":
        dns(addr, port)
    elif kind == "silent-udp":
        silent_udp(addr, port)
    elif kind == "black-hole":
        black_hole(addr, port)
    else:
        sys.exit("unknown kind " + kind)


if __name__ == "__main__":
    main()

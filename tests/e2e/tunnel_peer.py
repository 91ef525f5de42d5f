#!/usr/bin/env python3
"""The tunnel lab's traffic, one mode per call:
  serve NAME PORT          an HTTP server on [::]:PORT (IPv4 too): GET / names the server,
                           GET /big answers 1,400 bytes, POST /echo answers what it got
  client ADDR ROUNDS       ROUNDS connections to ADDR:80 (new source port each): prints JSON
                           {"names": [...], "max_mss": N, "echo_ok": bool, "big_ok": bool}
  probe ADDR PORT ROUNDS    ROUNDS requests to ADDR:PORT, one second each at most: prints JSON
                           {"served": {NAME: count}, "failed": count}
  rawipip DST INNER_DST    one IPIP packet to DST (outer source: this host's) holding a UDP
                           packet for INNER_DST (IPv4), sent through a raw socket
"""
import hashlib
import http.server
import json
import socket
import socketserver
import struct
import sys


def serve(name, port):
    big = (b'x' * 1399) + b'\n'

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.0'

        def reply(self, body):
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self.reply(big if self.path == '/big' else (name + '\n').encode())

        def do_POST(self):
            n = int(self.headers.get('Content-Length', '0'))
            self.reply(self.rfile.read(n))

        def log_message(self, *a):
            pass

    class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
        address_family = socket.AF_INET6
        daemon_threads = True
        allow_reuse_address = True

        def server_bind(self):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            super().server_bind()

    S(('::', port), H).serve_forever()


def request(addr, raw, timeout=5, port=80):
    fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((addr, port))
    mss = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
    s.sendall(raw)
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b'\r\n\r\n')
    return mss, body


def client(addr, rounds):
    names, max_mss = set(), 0
    for _ in range(rounds):
        mss, body = request(addr, b'GET / HTTP/1.0\r\n\r\n')
        names.add(body.decode().strip())
        max_mss = max(max_mss, mss)
    payload = bytes((i * 7) & 0xff for i in range(1400))
    _, echoed = request(addr, b'POST /echo HTTP/1.0\r\nContent-Length: 1400\r\n\r\n' + payload)
    _, big = request(addr, b'GET /big HTTP/1.0\r\n\r\n')
    print(json.dumps({'names': sorted(names), 'max_mss': max_mss,
                      'echo_ok': hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest(),
                      'big_ok': len(big) == 1400}))


def probe(addr, port, rounds):
    served, failed = {}, 0
    for _ in range(rounds):
        try:
            _, body = request(addr, b'GET / HTTP/1.0\r\n\r\n', timeout=1, port=port)
            name = body.decode().strip()
            served[name] = served.get(name, 0) + 1
        except OSError:
            failed += 1
    print(json.dumps({'served': served, 'failed': failed}, sort_keys=True))


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def rawipip(dst, inner_dst):
    udp = struct.pack('!HHHH', 40000, 9, 8 + 4, 0) + b'lab!'
    src = socket.inet_aton('192.0.2.10')
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, socket.inet_aton(inner_dst))
    hdr = hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)
    s.sendto(hdr + udp, (dst, 0))


if __name__ == '__main__':
    mode = sys.argv[1]
    if mode == 'serve':
        serve(sys.argv[2], int(sys.argv[3]))
    elif mode == 'client':
        client(sys.argv[2], int(sys.argv[3]))
    elif mode == 'probe':
        probe(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == 'rawipip':
        rawipip(sys.argv[2], sys.argv[3])

#!/usr/bin/env python3
"""What a guest does on the network, for the gateway's tests without a VM:
run inside a sandbox's namespace (nsenter), it asks the gateway's DNS
itself (the namespace has no resolv.conf of its own).

  guest.py dns NAME [TYPE]          prints the rcode and the addresses
  guest.py get NAME PORT [PATH]     resolves NAME, sends a GET, prints the reply
  guest.py tls NAME PORT            resolves NAME, sends a TLS ClientHello-ish
                                    record, prints what came back (or reset)
  guest.py raw ADDR PORT            a GET to an address, no DNS
  guest.py udp ADDR PORT            a DNS query to another resolver
  guest.py many NAME PORT N         N parallel GETs; prints how many succeeded
"""
import socket, struct, sys, threading

RESOLVER = "10.0.2.1"
TYPES = {"A": 1, "AAAA": 28, "TXT": 16, "MX": 15}


def query(name, qtype=1, server=RESOLVER, tcp=False):
    q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    q += struct.pack(">HH", qtype, 1)
    if tcp:
        s = socket.create_connection((server, 53), timeout=3)
        s.sendall(struct.pack(">H", len(q)) + q)
        n = struct.unpack(">H", s.recv(2))[0]
        r = b""
        while len(r) < n:
            r += s.recv(n - len(r))
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.sendto(q, (server, 53))
        r = s.recv(4096)
    rcode = r[3] & 15
    an = struct.unpack(">H", r[6:8])[0]
    addrs = []
    if an and qtype == 1:
        addrs.append(socket.inet_ntoa(r[-4:]))
    return rcode, addrs


def resolve(name):
    rcode, addrs = query(name)
    if rcode != 0 or not addrs:
        raise SystemExit(f"resolve {name}: rcode {rcode}")
    return addrs[0]


def get(addr, port, host, path="/"):
    s = socket.create_connection((addr, port), timeout=10)
    s.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except ConnectionResetError:
        out += b"<reset>"
    return out


def main(a):
    if a[0] == "dns":
        rcode, addrs = query(a[1], TYPES.get(a[2] if len(a) > 2 else "A", 1),
                             tcp=len(a) > 3 and a[3] == "tcp")
        print(rcode, *addrs)
    elif a[0] == "get":
        sys.stdout.write(get(resolve(a[1]), int(a[2]), a[1],
                             a[3] if len(a) > 3 else "/").decode(errors="replace"))
    elif a[0] == "raw":
        sys.stdout.write(get(a[1], int(a[2]), a[1]).decode(errors="replace"))
    elif a[0] == "tls":
        s = socket.create_connection((resolve(a[1]), int(a[2])), timeout=10)
        s.sendall(bytes([0x16, 3, 1, 0, 4, 1, 0, 0, 0]))
        try:
            print("got", len(s.recv(100)), "bytes")
        except ConnectionResetError:
            print("reset")
    elif a[0] == "udp":
        try:
            print(query("example.org", 1, server=a[1]))
        except socket.timeout:
            print("timeout")
        except ConnectionRefusedError:
            print("refused")
    elif a[0] == "many":
        addr, port, n = resolve(a[1]), int(a[2]), int(a[3])
        ok = []
        def one():
            try:
                if b" 200 " in get(addr, port, a[1]).split(b"\r\n")[0] + b" ":
                    ok.append(1)
            except OSError:
                pass
        ts = [threading.Thread(target=one) for _ in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print(len(ok))


main(sys.argv[1:])

#!/usr/bin/env python3
"""The far side of the network tests and benchmarks, in the namespace that
holds the guest's TAP. One connection each, then exit:

  net_host.py http ADDR PORT FILE [GATE]
                                    answer one HTTP GET with FILE (wget's way
                                    in), once the file GATE exists if given;
                                    print "<bytes> <seconds>" (from the answer
                                    to the client's close)
  net_host.py sink ADDR PORT        read one stream to its end; print
                                    "<bytes> <md5> <seconds>" (from the first byte)
  net_host.py get ADDR PORT PATH    fetch http://ADDR:PORT/PATH (retrying the
                                    connection until it is accepted); print
                                    "<bytes> <md5> <seconds>" of the body (from
                                    the request)

Each creates PORT.ready in $NET_HOST_DIR (default: the current directory)
once listening. Gives up after 600 s."""
import hashlib
import os
import socket
import sys
import time


def listen(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    s.settimeout(600)
    open(os.path.join(os.environ.get("NET_HOST_DIR", "."), f"{port}.ready"), "w").close()
    c, _ = s.accept()
    c.settimeout(600)
    return c


def http(addr, port, path, gate=None):
    c = listen(addr, port)
    req = b""
    while b"\r\n\r\n" not in req:
        b = c.recv(4096)
        if not b:
            return 1
        req += b
    deadline = time.monotonic() + 600
    while gate and not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.05)
    t0 = time.monotonic()
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        sent = c.sendfile(f)
    c.shutdown(socket.SHUT_WR)
    while c.recv(4096):
        pass
    print(sent, "%.3f" % (time.monotonic() - t0))
    return 0 if sent == size else 1


def sink(addr, port):
    c = listen(addr, port)
    h = hashlib.md5()
    n = 0
    t0 = None
    buf = bytearray(1 << 18)
    while True:
        k = c.recv_into(buf)
        if not k:
            break
        if t0 is None:
            t0 = time.monotonic()
        h.update(memoryview(buf)[:k])
        n += k
    print(n, h.hexdigest(), "%.3f" % (time.monotonic() - (t0 or time.monotonic())))
    return 0


def get(addr, port, path):
    deadline = time.monotonic() + 600
    while True:
        try:
            c = socket.create_connection((addr, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    c.settimeout(600)
    t0 = time.monotonic()
    c.sendall(b"GET /%s HTTP/1.0\r\n\r\n" % path.encode())
    h = hashlib.md5()
    n = 0
    head = b""
    buf = bytearray(1 << 18)
    while True:
        k = c.recv_into(buf)
        if not k:
            break
        b = memoryview(buf)[:k]
        if head is not None:
            head += bytes(b)
            if b"\r\n\r\n" not in head:
                continue
            head, _, rest = head.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0]:
                print("bad response:", head.split(b"\r\n")[0].decode(errors="replace"))
                return 1
            head = None
            b = rest
        h.update(b)
        n += len(b)
    print(n, h.hexdigest(), "%.3f" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "get":
        sys.exit(get(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    if len(sys.argv) in (5, 6) and sys.argv[1] == "http":
        sys.exit(http(sys.argv[2], int(sys.argv[3]), *sys.argv[4:]))
    if len(sys.argv) == 4 and sys.argv[1] == "sink":
        sys.exit(sink(sys.argv[2], int(sys.argv[3])))
    print(__doc__, file=sys.stderr)
    sys.exit(2)

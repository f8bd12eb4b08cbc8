#!/usr/bin/env python3
"""Host side of the vsock integration tests (Firecracker-style Unix sockets).

  vsock_host.py connect SOCK PORT N   CONNECT to guest PORT through SOCK, send N
                                      pattern bytes, half-close, expect them back
  vsock_host.py serve PATH N          listen on PATH (SOCK_<port>), accept one
                                      stream, expect N pattern bytes, echo them
  vsock_host.py refused SOCK PORT     CONNECT to a port nobody listens on: the
                                      socket must be closed without "OK"
Prints one line and exits 0 on success, 1 with the reason otherwise.
"""
import socket
import sys
import threading
import time


def pattern(start, n):
    return bytes(((i * 7 + i // 251) & 0xFF) for i in range(start, start + n))


def check(data):
    for off in range(0, len(data), 65536):
        chunk = data[off:off + 65536]
        if chunk != pattern(off, len(chunk)):
            return off
    return -1


def connect_ok(sock_path, port, timeout=30):
    deadline = time.time() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall(b"CONNECT %d\n" % port)
        line = b""
        while not line.endswith(b"\n"):
            c = s.recv(1)
            if not c:
                break
            line += c
        if line.startswith(b"OK "):
            return s, line
        s.close()
        if time.time() > deadline:
            return None, line
        time.sleep(0.2)  # the guest listener may not be up yet


def cmd_connect(sock_path, port, n):
    s, line = connect_ok(sock_path, int(port))
    if s is None:
        print("no OK from the VM: %r" % line)
        return 1
    n = int(n)
    got = bytearray()

    def reader():
        while True:
            d = s.recv(1 << 16)
            if not d:
                return
            got.extend(d)

    t = threading.Thread(target=reader)
    t.start()
    sent = 0
    while sent < n:
        k = min(1 << 16, n - sent)
        s.sendall(pattern(sent, k))
        sent += k
    s.shutdown(socket.SHUT_WR)
    t.join(120)
    bad = check(bytes(got))
    if len(got) != n or bad >= 0:
        print("echo mismatch: sent %d got %d first bad at %d" % (n, len(got), bad))
        return 1
    print("ok %d %s" % (n, line.decode().strip()))
    return 0


def cmd_serve(path, n):
    n = int(n)
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(1)
    ls.settimeout(120)
    s, _ = ls.accept()
    got = bytearray()
    while True:
        d = s.recv(1 << 16)
        if not d:
            break
        got.extend(d)
    s.sendall(bytes(got))
    s.close()
    bad = check(bytes(got))
    if len(got) != n or bad >= 0:
        print("received %d of %d, first bad at %d" % (len(got), n, bad))
        return 1
    print("served %d" % n)
    return 0


def cmd_refused(sock_path, port):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(sock_path)
    s.sendall(b"CONNECT %d\n" % int(port))
    data = s.recv(100)
    if data:
        print("expected the stream to be refused, got %r" % data)
        return 1
    print("refused")
    return 0


if __name__ == "__main__":
    cmds = {"connect": cmd_connect, "serve": cmd_serve, "refused": cmd_refused}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__)
        sys.exit(2)
    sys.exit(cmds[sys.argv[1]](*sys.argv[2:]))

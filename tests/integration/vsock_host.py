#!/usr/bin/env python3
"""Host side of the vsock integration tests (Firecracker-style Unix sockets).

  vsock_host.py connect SOCK PORT N [K]  CONNECT to guest PORT through SOCK, K
                                         streams at once; on each send N pattern
                                         bytes, half-close, expect them back
  vsock_host.py serve PATH N [K]         listen on PATH (SOCK_<port>), accept K
                                         streams, expect N pattern bytes on
                                         each, echo them back, close
  vsock_host.py drop PATH N              accept a stream, read N bytes, close it
                                         mid-stream; then serve one more of any
                                         length
  vsock_host.py hangup SOCK PORT N       CONNECT, send N bytes (reading what
                                         comes back), then vanish mid-stream
  vsock_host.py refused SOCK LINE...     per LINE: connect, send it and a newline;
                                         the socket must close without a reply
  vsock_host.py silent SOCK              connect, send nothing: the socket must
                                         be closed, without a reply, in 8-30 s
PATH appears only once it is listening. Prints one line and exits 0 on
success, 1 with the reason otherwise.
"""
import os
import socket
import sys
import threading
import time

# Byte i is (i * 7 + i // 251) & 0xff, as in vsockcat.c: period 251 * 256.
PERIOD = 251 * 256
_PAT = bytes(((i * 7 + i // 251) & 0xFF) for i in range(PERIOD)) * 3
CHUNK = 1 << 16


def pattern(start, n):
    s = start % PERIOD
    return _PAT[s:s + n]


def check(data):
    """Offset of the first byte off the pattern, or -1."""
    for off in range(0, len(data), CHUNK):
        chunk = data[off:off + CHUNK]
        if chunk != pattern(off, len(chunk)):
            return off
    return -1


def recv_all(s):
    got = bytearray()
    while True:
        d = s.recv(CHUNK)
        if not d:
            return bytes(got)
        got.extend(d)


def listen(path):
    """A listener that appears at path only once it listens."""
    tmp = path + ".tmp"
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(tmp)
    ls.listen(16)
    os.rename(tmp, path)
    ls.settimeout(120)
    return ls


def connect_ok(sock_path, port, timeout=90):
    """CONNECT until the guest's listener answers OK (it may not be up yet)."""
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
        time.sleep(0.2)


def run_all(fn, k):
    """fn(i) in k threads; the list of their results (None: an exception)."""
    res = [None] * k

    def one(i):
        try:
            res[i] = fn(i)
        except OSError as e:
            res[i] = "stream %d: %s" % (i, e)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(k)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(300)
    return res


def cmd_connect(sock_path, port, n, k="1"):
    n, k = int(n), int(k)
    t0 = [None]

    def stream(i):
        s, line = connect_ok(sock_path, int(port))
        if s is None:
            return "stream %d: no OK from the VM: %r" % (i, line)
        if t0[0] is None:
            t0[0] = time.time()
        got = []
        r = threading.Thread(target=lambda: got.append(recv_all(s)))
        r.start()
        for off in range(0, n, CHUNK):
            s.sendall(pattern(off, min(CHUNK, n - off)))
        s.shutdown(socket.SHUT_WR)
        r.join(300)
        data = got[0] if got else b""
        bad = check(data)
        if len(data) != n or bad >= 0:
            return "stream %d: sent %d, got %d back, first bad at %d" % (i, n, len(data), bad)
        return ""

    errs = [e for e in run_all(stream, k) if e]
    if errs:
        print("; ".join(errs))
        return 1
    secs = time.time() - t0[0]
    print("ok %d x %d bytes echoed in %.1f s (%.1f MB/s each way)"
          % (k, n, secs, k * n / secs / 1e6))
    return 0


def cmd_serve(path, n, k="1"):
    n, k = int(n), int(k)
    ls = listen(path)
    conns = [ls.accept()[0] for _ in range(k)]
    t0 = time.time()

    def stream(i):
        data = recv_all(conns[i])
        conns[i].sendall(data)
        conns[i].close()
        bad = check(data)
        if len(data) != n or bad >= 0:
            return "stream %d: received %d of %d, first bad at %d" % (i, len(data), n, bad)
        return ""

    errs = [e for e in run_all(stream, k) if e]
    if errs:
        print("; ".join(errs))
        return 1
    secs = time.time() - t0
    print("served %d x %d in %.1f s (%.1f MB/s each way)" % (k, n, secs, k * n / secs / 1e6))
    return 0


def cmd_drop(path, n):
    ls = listen(path)
    s, _ = ls.accept()
    got = 0
    while got < int(n):
        d = s.recv(CHUNK)
        if not d:
            print("the guest stopped after %d bytes" % got)
            return 1
        got += len(d)
    s.close()
    s, _ = ls.accept()
    data = recv_all(s)
    s.sendall(data)
    s.close()
    if check(data) >= 0:
        print("second stream corrupt")
        return 1
    print("dropped after %d, then served %d" % (got, len(data)))
    return 0


def cmd_hangup(sock_path, port, n):
    s, line = connect_ok(sock_path, int(port))
    if s is None:
        print("no OK from the VM: %r" % line)
        return 1
    n = int(n)

    def drain():
        try:
            recv_all(s)
        except OSError:
            pass

    r = threading.Thread(target=drain)  # so that the echo keeps flowing
    r.start()
    for off in range(0, n, CHUNK):
        s.sendall(pattern(off, min(CHUNK, n - off)))
    s.shutdown(socket.SHUT_RDWR)  # gone, with the echo still coming
    r.join(60)
    s.close()
    print("hung up after %d" % n)
    return 0


def cmd_refused(sock_path, *lines):
    for line in lines:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(sock_path)
        s.sendall(line.encode() + b"\n")
        try:
            data = s.recv(100)
        except ConnectionResetError:  # closed with part of a long line unread
            data = b""
        if data:
            print("%r: expected the stream to be refused, got %r" % (line, data))
            return 1
    print("refused %d" % len(lines))
    return 0


def cmd_silent(sock_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(sock_path)
    t0 = time.time()
    data = s.recv(100)
    secs = time.time() - t0
    if data or not 8 <= secs <= 30:
        print("got %r after %.1f s" % (data, secs))
        return 1
    print("closed after %.0f s" % secs)
    return 0


if __name__ == "__main__":
    cmds = {"connect": cmd_connect, "serve": cmd_serve, "drop": cmd_drop,
            "hangup": cmd_hangup, "refused": cmd_refused, "silent": cmd_silent}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__)
        sys.exit(2)
    sys.exit(cmds[sys.argv[1]](*sys.argv[2:]))

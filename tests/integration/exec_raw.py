#!/usr/bin/env python3
"""Hand-made bytes on an exec stream, to see airlock-init refuse them.

  exec_raw.py SOCK CASE...

For each CASE: connects to the guest's exec port (1000) through the VMM's
vsock socket, sends what CASE names, and prints one line: the case, then
every frame the guest sent back ("STARTED", "ERROR <code> <text>", "EXIT
<kind> <value>", "DATA <n>"), then "EOF" when it closed the stream (or
"TIMEOUT" after 30 s). Exits 0 unless a connection could not be made.
"""
import socket
import struct
import sys
import time

EXEC_PORT = 1000


def frame(ftype, payload=b"", version=1, flags=0):
    return struct.pack("<BBBBI", 0xA7, version, ftype, flags, len(payload)) + payload


def request(argv, version=1, flags=0, argc=None, env=(), cwd=b"", user=b""):
    fixed = struct.pack("<HHHHHHIHH", version, flags, 0, 0, 0, 0, 0,
                        len(argv) if argc is None else argc, len(env))
    strs = b"".join(a + b"\0" for a in argv) + b"".join(e + b"\0" for e in env)
    return frame(0x01, fixed + strs + cwd + b"\0" + user + b"\0")


CASES = {
    # Not a frame at all.
    "garbage": b"GET / HTTP/1.0\r\n\r\n",
    # Framing of another version.
    "frame-version": frame(0x01, b"", version=2),
    # A type only the guest sends.
    "wrong-direction": frame(0x84, b"\0" * 8),
    # A length no frame may have.
    "too-long": struct.pack("<BBBBI", 0xA7, 1, 0x01, 0, 0xFFFFFFFF),
    # Data before the request.
    "out-of-order": frame(0x02, b"hi"),
    # A request of a later version.
    "request-version": request([b"true"], version=2),
    # A request that breaks a rule (no argv).
    "bad-request": request([], argc=0),
    # A command that runs, then garbage while it runs: ERROR, the stream
    # closed, the command hung up.
    "garbage-while-running": request([b"cat"]) + b"\xa7\x01\x02\x00",
    # A well-formed request for a command that is not there.
    "not-found": request([b"no-such-command"]),
    # Two requests (the second once the first command runs).
    "two-requests": request([b"sleep", b"5"]),
}

# Sent only after STARTED arrives.
AFTER_START = {
    "garbage-while-running": b"\xff\xff\xff\xff\xff\xff\xff\xff\xff",
    "two-requests": request([b"true"]),
}


def connect(path):
    deadline = time.time() + 60
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(path)
        s.sendall(b"CONNECT %d\n" % EXEC_PORT)
        line = b""
        while not line.endswith(b"\n"):
            c = s.recv(1)
            if not c:
                break
            line += c
        if line.startswith(b"OK "):
            return s
        s.close()
        if time.time() > deadline:
            return None
        time.sleep(0.05)


def run_case(path, case):
    s = connect(path)
    if s is None:
        print("cannot connect")
        sys.exit(1)
    s.sendall(CASES[case])
    buf = b""
    got = [case]
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            got.append("TIMEOUT")
            break
        except ConnectionResetError:
            d = b""
        if not d:
            got.append("EOF" if not buf else "EOF mid-frame")
            break
        buf += d
        while len(buf) >= 8:
            _, _, ftype, _, n = struct.unpack("<BBBBI", buf[:8])
            if len(buf) < 8 + n:
                break
            p, buf = buf[8:8 + n], buf[8 + n:]
            if ftype == 0x81:
                got.append("STARTED")
                if case in AFTER_START:
                    s.sendall(AFTER_START[case])
            elif ftype == 0x85:
                got.append("ERROR %d %s" % (struct.unpack("<H", p[:2])[0],
                                            p[2:-1].decode(errors="replace")))
            elif ftype == 0x84:
                got.append("EXIT %d %d" % (p[0], struct.unpack("<I", p[4:8])[0]))
            else:
                got.append("DATA %d" % n)
    s.close()
    print(" ".join(got))
    sys.stdout.flush()


def main():
    if len(sys.argv) < 3 or any(c not in CASES for c in sys.argv[2:]):
        print(__doc__)
        print("cases: " + " ".join(CASES))
        sys.exit(2)
    for case in sys.argv[2:]:
        run_case(sys.argv[1], case)


if __name__ == "__main__":
    main()

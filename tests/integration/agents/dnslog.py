#!/usr/bin/env python3
"""A tiny DNS server for the offline agent runs (tests/integration/agents/
offline): it answers A queries for the names it is given with the address it
is given, NXDOMAIN for every other name, and logs every question, so a run
shows each host an agent tried to reach. UDP only; nothing is forwarded.

  dnslog.py --log FILE [--listen 127.0.0.1:53] NAME=ADDR...

Prints "ready" once listening; serves until killed."""

import argparse
import json
import socket
import struct
import sys
import time


def parse_question(msg):
    """(id, flags, qname, qtype, end of question) or None for a malformed
    query (one question, no compression in it)."""
    if len(msg) < 12:
        return None
    qid, flags, qd = struct.unpack(">HHH", msg[:6])
    if qd != 1 or flags & 0x8000:
        return None
    labels, i = [], 12
    while True:
        if i >= len(msg):
            return None
        n = msg[i]
        i += 1
        if n == 0:
            break
        if n > 63 or i + n > len(msg):
            return None
        labels.append(msg[i:i + n].decode("ascii", "replace"))
        i += n
    if i + 4 > len(msg):
        return None
    qtype, _ = struct.unpack(">HH", msg[i:i + 4])
    return qid, flags, ".".join(labels).lower(), qtype, i + 4


def answer(msg, q, addr):
    qid, flags, _, qtype, end = q
    rd = flags & 0x0100
    if addr is None:
        rcode, answers = 3, b""  # NXDOMAIN
    elif qtype == 1:
        rcode = 0
        answers = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 30, 4) + socket.inet_aton(addr)
    else:
        rcode, answers = 0, b""  # the name exists, no record of that type
    header = struct.pack(">HHHHHH", qid, 0x8000 | 0x0400 | rd | 0x0080 | rcode, 1,
                         1 if answers else 0, 0, 0)
    return header + msg[12:end] + answers


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--log", required=True)
    ap.add_argument("--listen", default="127.0.0.1:53")
    ap.add_argument("map", nargs="*", metavar="NAME=ADDR")
    args = ap.parse_args()
    names = {}
    for m in args.map:
        name, _, addr = m.partition("=")
        socket.inet_aton(addr)
        names[name.lower().rstrip(".")] = addr
    host, port = args.listen.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, int(port)))
    print("ready", flush=True)
    types = {1: "A", 28: "AAAA", 5: "CNAME", 33: "SRV", 16: "TXT", 65: "HTTPS", 12: "PTR"}
    while True:
        msg, peer = s.recvfrom(4096)
        q = parse_question(msg)
        if not q:
            continue
        addr = names.get(q[2].rstrip("."))
        with open(args.log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"time": round(time.time(), 3), "name": q[2],
                                "type": types.get(q[3], q[3]),
                                "answer": addr if addr and q[3] == 1 else
                                ("nodata" if addr else "nxdomain")}) + "\n")
        s.sendto(answer(msg, q, addr), peer)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Servers on the test host's loopback for the network tests (t_net.sh):
nothing here ever reaches beyond this machine.

  net_servers.py DIR

DIR holds ca.pem, server.pem/server.key (for web.test, git.test and
registry.test), repo.git (a bare repository) and npm/ (a package tarball).
Serves, each in a thread, until killed:
  127.0.0.2:80, :8080   HTTP  (/ -> "hello-www", /big?mib=N -> N MiB, slowly
                               if &slow=1, /sleep -> answers after 1 s)
  127.0.0.2:443         HTTPS, the same
  127.0.0.3:443         git smart HTTP over TLS (git http-backend as CGI)
  127.0.0.4:443         an npm registry stand-in: /hello-airlock and its tarball
  127.0.0.53:53/udp     a DNS server that counts the queries it gets per name
                        (DIR/dns-counts.json) and answers from a small table
Writes DIR/ready once all listen.
"""
import hashlib, json, os, socket, socketserver, ssl, subprocess, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

DIR = sys.argv[1]
DNS_TABLE = {
    "up.test": "127.0.0.2",        # an allowed name, resolved upstream
    "denied.test": "127.0.0.2",    # never asked for, if the gateway is right
    "loop.test": "127.0.0.1",      # resolves to loopback (not named by a rule)
    "private.test": "10.9.9.9",    # resolves to a private address
    "meta.test": "169.254.169.254",
}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512


class Web(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_body(self, body, ctype="text/plain"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        if u.path == "/big":
            mib = int(q.get("mib", ["1"])[0])
            slow = q.get("slow", ["0"])[0] == "1"
            self.send_response(200)
            self.send_header("Content-Length", str(mib << 20))
            self.end_headers()
            chunk = b"x" * (1 << 20)
            try:
                for _ in range(mib):
                    self.wfile.write(chunk)
                    if slow:
                        time.sleep(0.2)
            except OSError:
                pass
        elif u.path == "/sleep":
            time.sleep(1)
            self.send_body(b"slept\n")
        else:
            self.send_body(b"hello-www\n")


class Git(BaseHTTPRequestHandler):
    """git http-backend as CGI, as a web server would run it."""
    protocol_version = "HTTP/1.0"

    def log_message(self, *a):
        pass

    def cgi(self):
        u = urlparse(self.path)
        body = b""
        if "Content-Length" in self.headers:
            body = self.rfile.read(int(self.headers["Content-Length"]))
        env = {
            "GIT_PROJECT_ROOT": DIR, "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": u.path, "QUERY_STRING": u.query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)), "PATH": os.environ["PATH"],
            "GIT_HTTP_MAX_REQUEST_BUFFER": "100M",
        }
        if self.headers.get("Content-Encoding") == "gzip":
            env["HTTP_CONTENT_ENCODING"] = "gzip"
        out = subprocess.run(["git", "http-backend"], input=body, env=env,
                             capture_output=True).stdout
        head, _, rest = out.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.split(b"\r\n"):
            k, _, v = line.decode().partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        self.wfile.write(rest)

    do_GET = do_POST = cgi


def npm_handler():
    tgz = open(os.path.join(DIR, "npm", "hello-airlock-1.0.0.tgz"), "rb").read()
    integrity = "sha512-" + __import__("base64").b64encode(
        hashlib.sha512(tgz).digest()).decode()
    doc = json.dumps({
        "name": "hello-airlock", "dist-tags": {"latest": "1.0.0"},
        "versions": {"1.0.0": {
            "name": "hello-airlock", "version": "1.0.0",
            "dist": {"tarball": "https://registry.test/hello-airlock/-/hello-airlock-1.0.0.tgz",
                     "shasum": hashlib.sha1(tgz).hexdigest(), "integrity": integrity}}},
    }).encode()

    class Npm(Web):
        def do_GET(self):
            if self.path.rstrip("/") == "/hello-airlock":
                self.send_body(doc, "application/json")
            elif self.path.endswith(".tgz"):
                self.send_body(tgz, "application/octet-stream")
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def do_POST(self):
            self.do_GET()
    return Npm


def serve(addr, port, handler, tls=False):
    s = Server((addr, port), handler)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(DIR, "server.pem"), os.path.join(DIR, "server.key"))
        s.socket = ctx.wrap_socket(s.socket, server_side=True)
    threading.Thread(target=s.serve_forever, daemon=True).start()


def dns():
    counts = {}
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.53", 53))

    def loop():
        while True:
            q, peer = s.recvfrom(4096)
            i, labels = 12, []
            while q[i]:
                labels.append(q[i + 1:i + 1 + q[i]].decode().lower())
                i += 1 + q[i]
            name = ".".join(labels)
            qtype = int.from_bytes(q[i + 1:i + 3], "big")
            counts[name] = counts.get(name, 0) + 1
            with open(os.path.join(DIR, "dns-counts.json.tmp"), "w") as f:
                json.dump(counts, f)
            os.rename(os.path.join(DIR, "dns-counts.json.tmp"),
                      os.path.join(DIR, "dns-counts.json"))
            addr = DNS_TABLE.get(name)
            rcode = 0 if addr else 3
            an = 1 if addr and qtype == 1 else 0
            r = q[:2] + bytes([0x81, 0x80 | rcode]) + q[4:6] + bytes([0, an, 0, 0, 0, 0])
            r += q[12:i + 5]
            if an:
                r += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton(addr)
            s.sendto(r, peer)
    threading.Thread(target=loop, daemon=True).start()


serve("127.0.0.2", 80, Web)
serve("127.0.0.2", 8080, Web)
serve("127.0.0.2", 443, Web, tls=True)
serve("127.0.0.3", 443, Git, tls=True)
serve("127.0.0.4", 443, npm_handler(), tls=True)
dns()
open(os.path.join(DIR, "ready"), "w").close()
while True:
    time.sleep(3600)

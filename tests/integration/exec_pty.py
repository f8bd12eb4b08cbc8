#!/usr/bin/env python3
"""An interactive session driven through a PTY, as a user at a terminal would.

  exec_pty.py CMD [ARGS...]

Runs CMD (an airlock client that opens a login shell in the guest) on a new
PTY of 24x80 and, like a person typing: runs a command and reads its output;
checks `stty size` in the guest; resizes the terminal to 40x100 and checks
again; starts `sleep 1000` and presses Ctrl-C, then checks that the shell
answers; ends the shell with `exit 7`. Prints "ok" and exits 0 when CMD
exited 7 after all that, else prints what went wrong and the transcript and
exits 1.
"""
import fcntl
import os
import re
import select
import struct
import sys
import termios
import time

TIMEOUT = 60


class Session:
    def __init__(self, argv):
        self.master, slave = os.openpty()
        self.resize(24, 80)
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self.master)
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            os.close(slave)
            os.execvp(argv[0], argv)
        os.close(slave)
        self.out = b""
        self.seen = 0  # expect() looks only past what it matched before

    def resize(self, rows, cols):
        # On the master: the kernel sends SIGWINCH to the PTY's foreground
        # process group, the client, as a terminal emulator does.
        fcntl.ioctl(self.master, termios.TIOCSWINSZ,
                    struct.pack("HHHH", rows, cols, 0, 0))

    def send(self, data):
        os.write(self.master, data)

    def expect(self, pattern, what):
        deadline = time.time() + TIMEOUT
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.out, self.seen)
            if m:
                self.seen = m.end()
                return m
            left = deadline - time.time()
            if left <= 0:
                fail("no %s within %d s (wanted /%s/)" %
                     (what, TIMEOUT, pattern.decode()), self)
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                try:
                    data = os.read(self.master, 4096)
                except OSError:  # EIO: the client closed the PTY
                    data = b""
                if not data:
                    fail("the session ended while waiting for %s" % what,
                         self)
                self.out += data

    def wait(self):
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return status
            # Keep reading, or a client blocked on output never ends.
            r, _, _ = select.select([self.master], [], [], 0.1)
            if r:
                try:
                    self.out += os.read(self.master, 4096)
                except OSError:
                    pass
        fail("the client did not exit after 'exit 7'", self)


def fail(why, s):
    print(why)
    print("transcript: %r" % s.out[-3000:])
    try:
        os.kill(s.pid, 9)
    except OSError:
        pass
    sys.exit(1)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    s = Session(sys.argv[1:])
    # The shell's prompt ends in '# ' (root) or '$ ', maybe followed by
    # busybox's query for the cursor position, which may go unanswered.
    s.expect(rb"[#$] (\x1b\[6n)?$", "shell prompt")
    # Typed, echoed by the guest's terminal, run, and its output seen: the
    # arithmetic shows it ran rather than echoed.
    s.send(b"echo hel''lo-$((6*7))\r")
    s.expect(rb"hello-42\r\n", "command output")
    s.send(b"stty size\r")
    s.expect(rb"\r\n24 80\r\n", "24x80 in the guest")
    s.resize(40, 100)
    s.send(b"stty size\r")
    s.expect(rb"\r\n40 100\r\n", "40x100 in the guest after the resize")
    # Ctrl-C kills the foreground job, not the shell or the sandbox: the
    # shell reads the next line only once sleep is gone.
    s.send(b"sleep 1000\r")
    time.sleep(1)
    s.send(b"\x03")
    s.send(b"echo alive-$((1+2))\r")
    s.expect(rb"alive-3\r\n", "the shell after Ctrl-C")
    s.send(b"exit 7\r")
    status = s.wait()
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 7:
        fail("the client ended with status %#x, expected exit 7" % status, s)
    print("ok")


if __name__ == "__main__":
    main()

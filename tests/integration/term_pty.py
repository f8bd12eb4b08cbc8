#!/usr/bin/python3
"""The user's terminal, for tests/integration/t_term.sh.

  term_pty.py SCENARIO [ARG] CLIENT...

Runs CLIENT (an `airlock run ... --` command line; the scenario appends the
guest command) on a new 24x80 PTY whose other end is a terminal model
(pyte) that answers queries as a terminal does, records every byte the
client writes, and checks one scenario:

  filter            the guest prints every dangerous sequence, each in 7-bit,
                    8-bit C1 and UTF-8 C1 form where there is one: none
                    reaches the terminal; colours, cursor moves and a cleaned
                    title do, intact
  reset HOW         the guest switches on mouse reporting, the alternate
                    screen, bracketed paste and more, then HOW ends it:
                    kill (SIGKILL inside the guest), tilde (`~.` typed, the
                    command ignoring every signal), frozen (the same with the
                    VMM stopped: a guest that cannot answer) or sigint (two
                    SIGINTs to the client): every mode is off again, the
                    termios is what it was, the status and message are right,
                    `~.` or the second signal ends the session within 2 s and
                    the client within 20 s
  drain             the guest asks for the cursor position and exits; the
                    terminal answers late: nothing is left in the terminal's
                    input for the user's shell
  fullscreen PROG   busybox less, vi or top in the guest, and the same busybox
                    run here on a PTY of the same size: same screens

Prints "ok" and exits 0, or says what is wrong (with the transcript) and
exits 1.
"""
import fcntl
import os
import re
import select
import signal
import struct
import sys
import termios
import time

import pyte

ROWS, COLS = 24, 80
TIMEOUT = 120


class Terminal(pyte.Screen):
    """A screen that answers queries, after `delay` seconds."""

    def __init__(self, delay=0.0):
        super().__init__(COLS, ROWS)
        self.delay = delay
        self.answers = []   # (due time, bytes)

    def write_process_input(self, data):
        self.answers.append((time.time() + self.delay, data.encode()))

    def set_margins(self, top=None, bottom=None):
        # pyte 0.8 hands CSI r over as top 0; a VT100 (and xterm) reads
        # it as the whole screen.
        if not top and bottom is None:
            self.margins = None
            self.cursor_position()
            return
        super().set_margins(top, bottom)


class Session:
    def __init__(self, argv, delay=0.0):
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.master, termios.TIOCSWINSZ,
                    struct.pack("HHHH", ROWS, COLS, 0, 0))
        # The user's terminal as the shell leaves it, to compare after.
        self.termios_before = termios.tcgetattr(self.slave)
        self.screen = Terminal(delay)
        self.stream = pyte.ByteStream(self.screen)
        self.out = b""
        self.status = None
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self.master)
            os.setsid()
            fcntl.ioctl(self.slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(self.slave, fd)
            os.execvp(argv[0], argv)
        # The slave stays open here: what the client leaves in the
        # terminal's input stays readable after it exits.

    def pump(self, timeout):
        """Reads what the client wrote for up to timeout s, answering
        queries when due; returns whether anything came."""
        got = False
        end = time.time() + timeout
        while True:
            now = time.time()
            due = [a for a in self.screen.answers if a[0] <= now]
            for a in due:
                self.screen.answers.remove(a)
                os.write(self.master, a[1])
            left = end - now
            if self.screen.answers:
                left = min(left, max(0.0, min(a[0] for a in self.screen.answers) - now))
            if left <= 0 and not due and now >= end:
                return got
            r, _, _ = select.select([self.master], [], [], max(0.0, left))
            if not r:
                if time.time() >= end:
                    return got
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                data = b""
            if not data:
                return got
            got = True
            self.out += data
            self.stream.feed(data)

    def expect(self, pattern, what, timeout=TIMEOUT):
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        while not rx.search(self.out):
            if time.time() > deadline or self.exited():
                fail("no %s within %d s (wanted /%s/)" % (what, timeout, pattern.decode()), self)
            self.pump(0.2)
        return time.time()

    def settle(self, quiet=1.5, limit=60):
        """Reads until nothing came for `quiet` s."""
        deadline = time.time() + limit
        while self.pump(quiet) and time.time() < deadline:
            pass

    def exited(self):
        if self.status is None:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = st
        return self.status is not None

    def wait(self, timeout=TIMEOUT):
        deadline = time.time() + timeout
        while not self.exited():
            if time.time() > deadline:
                fail("the client did not exit within %d s" % timeout, self)
            self.pump(0.1)
        self.pump(0.3)  # what it wrote last, and late answers
        return os.WEXITSTATUS(self.status) if os.WIFEXITED(self.status) else 128 + os.WTERMSIG(self.status)

    def leftover_input(self):
        """What sits in the terminal's input for the next program (the
        user's shell) to read. Raw mode without TCSAFLUSH, so nothing is
        thrown away by looking."""
        t = termios.tcgetattr(self.slave)
        t[3] &= ~(termios.ICANON | termios.ECHO)
        t[6][termios.VMIN] = 0
        t[6][termios.VTIME] = 0
        termios.tcsetattr(self.slave, termios.TCSANOW, t)
        try:
            return os.read(self.slave, 4096)
        except BlockingIOError:
            return b""


def children(pid):
    kids = []
    for p in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % p) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(p))
        except (OSError, ValueError, IndexError):
            pass
    return kids


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read()
    except OSError:
        return b""


def fail(why, s=None):
    print(why)
    if s is not None:
        print("transcript: %r" % s.out[-4000:])
        try:
            os.kill(s.pid, signal.SIGKILL)
        except OSError:
            pass
    sys.exit(1)


def octal(b):
    """b as a printf format: every byte but letters and digits in octal."""
    return "".join(chr(c) if c < 0x80 and chr(c).isalnum() else "\\%03o" % c
                   for c in b)


def printf_cmd(*chunks):
    return "printf '%s'" % octal(b"".join(chunks))


# ---- what a terminal may be sent ----

def recognise(out):
    """The independent check of tests/fuzz/fuzz_termfilter.c, in short:
    returns a description of the first thing in out that must never reach
    a terminal, or None."""
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as e:
        return "invalid UTF-8 at %d" % e.start
    for m in re.finditer("[\x80-\x9f]", text):
        return "a C1 control U+%04X at %d" % (ord(m.group()), m.start())
    for m in re.finditer("[\x00-\x06\x10-\x17\x19-\x1a\x1c-\x1f\x7f]", text):
        return "control %r at %d" % (m.group(), m.start())
    i = 0
    while True:
        i = text.find("\x1b", i)
        if i < 0:
            return None
        rest = text[i + 1:i + 1 + 400]
        n = 1
        if rest.startswith("]"):
            m = re.match(r"\]([02]);([^\x00-\x1f\x7f]{0,256})\x1b\\", rest)
            if not m:
                return "an OSC that is not a clean title: %r" % rest[:40]
            n = m.end()
        elif rest[:1] in ("P", "X", "^", "_"):
            return "a DCS/SOS/PM/APC introducer: %r" % rest[:20]
        elif rest.startswith("["):
            m = re.match(r"\[([0-9;:<=>?]*)([ -/]*)([@-~])", rest)
            if not m:
                return "a CSI cut short: %r" % rest[:20]
            params, inter, fin = m.groups()
            if fin == "t" and params not in ("22;0", "23;0"):
                return "a window op/report CSI %st" % params
            if inter and not (inter == " " and fin == "q"):
                return "CSI %s%s%s" % (params, inter, fin)
            n = m.end()
        elif rest[:1] in ("(", ")"):
            if rest[1:2] not in ("B", "0", "A"):
                return "ESC %r" % rest[:2]
            n = 2
        elif rest[:1] not in ("7", "8", "=", ">", "D", "E", "M"):
            return "ESC %r" % rest[:2]
        i += 1 + n


# Each: what the guest prints. C1 forms: 8-bit and UTF-8 for the same.
def c1_forms(seq7):
    """seq7 (starting ESC X) and its 8-bit and UTF-8 C1 forms."""
    x = seq7[1]
    b8 = bytes([x + 0x40]) + seq7[2:]
    u8 = bytes([0xc2, x + 0x40]) + seq7[2:]
    return [seq7, b8.replace(b"\x1b\\", b"\x9c"),
            u8.replace(b"\x1b\\", b"\xc2\x9c")]


DANGEROUS = (
    c1_forms(b"\x1b]52;c;Y2xpcGJvYXJk\x1b\\") +         # clipboard write
    [b"\x1b]52;c;Y2xpcGJvYXJk\x07", b"\x1b]52;c;?\x07"] +
    c1_forms(b"\x1b]8;;http://evil.example/\x1b\\") +   # hyperlink
    [b"\x1b]4;1;?\x07", b"\x1b]10;?\x07", b"\x1b]11;?\x1b\\",  # colour queries
     b"\x1b]4;1;rgb:ff/00/00\x07",
     b"\x1b]9;notify-me\x07", b"\x1b]777;notify;t;b\x07",
     b"\x1b]7;file:///etc\x07", b"\x1b]1;icon-name\x07", b"\x1b]50;?\x07"] +
    c1_forms(b"\x1bP$qm\x1b\\") +                         # DECRQSS
    c1_forms(b"\x1bP+q544e\x1b\\") +                      # XTGETTCAP
    [b"\x1bP1;1|17/dcs-payload\x1b\\"] +                   # DECUDK
    c1_forms(b"\x1b_apc-payload\x1b\\") +
    c1_forms(b"\x1b^pm-payload\x1b\\") +
    c1_forms(b"\x1bXsos-payload\x1b\\") +
    c1_forms(b"\x1b[21t") + c1_forms(b"\x1b[14t") +       # title, size reports
    [b"\x1b[18t", b"\x1b[13t", b"\x1b[11t", b"\x1b[19t", b"\x1b[20t",
     b"\x1b[3;0;0t", b"\x1b[8;1;1t", b"\x1b[2t", b"\x1b[1t",  # move, resize
     b"\x1b[?1$p", b"\x1b[4$p",                           # DECRQM
     b"\x1b[5i",                                          # printer
     b"\x1bc", b"\x1b%@", b"\x05",                        # RIS, ISO 2022, ENQ
     b"\x1b[1;1;1;1;1;1*y"]                                # DECRQCRA
)
# Payloads and introducers that must not appear at all.
MUST_NOT = [b"Y2xpcGJvYXJk", b"\x1b]52", b"evil.example", b"\x1b]8;",
            b"notify", b"file:///", b"icon-name", b"payload", b"544e",
            b"\x1bP", b"\x1b_", b"\x1b^", b"\x1bX", b"\x9b", b"\x9d",
            b"\xc2\x9b", b"\xc2\x9d", b"\xc2\x90", b"\x1b[21t", b"\x1b[14t",
            b"\x1b[18t", b"$p", b"\x1b[5i", b"\x1bc", b"\x05"]
# Kept as they are.
KEPT = [b"\x1b[1;31mRED\x1b[0m", b"\x1b[38;2;10;20;30mTRUE\x1b[0m",
        b"\x1b[5;10HAT", b"\x1b[2A\x1b[3C\x1b[K", b"\x1b[3;20r", b"\x1b[r",
        b"\x1b[?25l", b"\x1b[?25h", b"\x1b(0lqk\x1b(B"]


def scenario_filter(client):
    chunks = []
    for i, seq in enumerate(DANGEROUS):
        chunks += [seq, b"<%d>" % i]
    chunks += KEPT + [b"\x1b]2;ti\x01tle\x07", b"\x1b]0;x\xc2\x9by\x07", b"END\r\n"]
    s = Session(client + ["sh", "-c", printf_cmd(*chunks)])
    status = s.wait()
    if status != 0:
        fail("the client exited %d" % status, s)
    out = s.out
    for bad in MUST_NOT:
        if bad in out:
            fail("the terminal got %r" % bad, s)
    for i in range(len(DANGEROUS)):
        if b"<%d>" % i not in out:
            fail("the text after dangerous sequence %d is missing" % i, s)
    for good in KEPT:
        if good not in out:
            fail("%r did not pass intact" % good, s)
    if b"\x1b[22;0t\x1b]2;title\x1b\\" not in out:
        fail("the title did not come out cleaned", s)
    if b"]0;x" in out:
        fail("a title cut by a C1 came out", s)
    why = recognise(out)
    if why:
        fail("the terminal got " + why, s)
    if s.screen.display[4][9:11] != "AT":
        fail("the cursor move did not land: row 5 is %r" % s.screen.display[4], s)
    if termios.tcgetattr(s.slave) != s.termios_before:
        fail("the termios changed", s)


MODES_ON = (b"\x1b[?1049h\x1b[?1000h\x1b[?1006h\x1b[?2004h\x1b[?1h\x1b="
            b"\x1b[?25l\x1b[2;10r\x1b[?1004h\x1b[31m")
# pyte keeps private modes shifted left by 5.
PYTE_OFF = [1049, 1000, 1006, 2004, 1, 1004]
RESETS = [b"\x1b[?1049l", b"\x1b[?1000l", b"\x1b[?1006l", b"\x1b[?2004l",
          b"\x1b[?1l", b"\x1b>", b"\x1b[?25h", b"\x1b[r", b"\x1b[?1004l",
          b"\x1b[0;10m"]


def vmm_gone(pid):
    """True once pid has ended (gone, or a zombie left for init to reap)."""
    for _ in range(50):
        try:
            with open("/proc/%d/status" % pid) as f:
                if any(l.startswith("State:\tZ") for l in f):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.1)
    return False


def scenario_reset(how, client):
    if how == "kill":
        cmd = printf_cmd(MODES_ON, b"ready\r\n") + "; sleep 1; kill -9 $$"
        want_status, want_msg = 137, None
    else:
        cmd = ("trap '' INT TERM HUP QUIT; " + printf_cmd(MODES_ON, b"ready\r\n") +
               "; sleep 1000; echo survived")
        want_status = 130 if how == "sigint" else 255
        want_msg = (rb"airlock: session ended by ~\." if how != "sigint" else
                    rb"airlock: session ended by a second SIGINT within 3 s")
    s = Session(client + ["sh", "-c", cmd])
    s.expect(rb"ready", "the guest's modes")
    at = len(s.out)
    if how == "frozen":
        vmm = [p for p in children(s.pid) if b"airlock-vmm" in cmdline(p)]
        if len(vmm) != 1:
            fail("cannot find the VMM among %r" % children(s.pid), s)
        os.kill(vmm[0], signal.SIGSTOP)
    if how in ("tilde", "frozen"):
        time.sleep(0.5)
        t0 = time.time()
        os.write(s.master, b"\r~.")
    elif how == "sigint":
        time.sleep(0.5)
        os.kill(s.pid, signal.SIGINT)
        time.sleep(0.5)
        t0 = time.time()
        os.kill(s.pid, signal.SIGINT)
    if want_msg:
        t1 = s.expect(want_msg, "the message saying what ended it", timeout=30)
        if t1 - t0 > 2.0:
            fail("the session took %.1f s to end" % (t1 - t0), s)
    status = s.wait(timeout=20)
    if status != want_status:
        fail("the client exited %d, expected %d" % (status, want_status), s)
    if how == "frozen" and not vmm_gone(vmm[0]):
        fail("the frozen VM's VMM (pid %d) outlived the session" % vmm[0], s)
    tail = s.out[at:]
    for r in RESETS:
        if r not in tail:
            fail("no %r at the end" % r, s)
    for m in PYTE_OFF:
        if (m << 5) in s.screen.mode:
            fail("mode ?%d still on in the terminal model" % m, s)
    if (25 << 5) not in s.screen.mode:
        fail("the cursor is still hidden", s)
    if s.screen.margins is not None:
        fail("the scrolling region is still %r" % (s.screen.margins,), s)
    if termios.tcgetattr(s.slave) != s.termios_before:
        fail("the termios is not what it was", s)
    if why := recognise(s.out):
        fail("the terminal got " + why, s)


def scenario_drain(client):
    # The terminal answers 0.3 s late: after the command's EXIT.
    s = Session(client + ["sh", "-c", printf_cmd(b"\x1b[6n", b"asked\r\n")],
                delay=0.3)
    status = s.wait()
    if status != 0:
        fail("the client exited %d" % status, s)
    time.sleep(0.8)
    s.pump(0.1)
    left = s.leftover_input()
    if left:
        fail("left in the terminal's input for the shell: %r" % left, s)
    if b"\x1b[6n" not in s.out:
        fail("the query did not reach the terminal", s)


PROGS = {
    # guest command, what shows it has drawn, keys after each screen: the
    # screens to compare
    "less": ("seq 1 300 >/tmp/term-fs; exec less /tmp/term-fs", rb"term-fs",
             [b" ", b"G", b"q"]),
    "vi": ("seq 1 300 >/tmp/term-fs; exec vi /tmp/term-fs", rb"term-fs",
           [b"G", b"ggdd", b":q!\r"]),
    "top": ("exec top", rb"PID", [b"q"]),
}


def screens(argv, ready, keys):
    s = Session(argv)
    s.expect(ready, "the program's first screen")
    shots = []
    for k in keys:
        s.settle()
        shots.append((list(s.screen.display), (s.screen.cursor.y, s.screen.cursor.x),
                      [[s.screen.buffer[y][x].reverse for x in range(COLS)]
                       for y in range(ROWS)]))
        os.write(s.master, k)
    status = s.wait()
    return s, status, shots


def scenario_fullscreen(prog, client):
    cmd, ready, keys = PROGS[prog]
    os.environ["TERM"] = "xterm"
    g, gst, gshots = screens(client + ["sh", "-c", cmd], ready, keys)
    local, lst, lshots = screens(["sh", "-c", cmd.replace("exec ", "exec busybox ")],
                                 ready, keys)
    if gst != 0 or lst != 0:
        fail("%s exited %d through airlock, %d here" % (prog, gst, lst), g)
    if why := recognise(g.out):
        fail("the terminal got " + why, g)
    # Every control sequence the program sends here reached the terminal
    # through airlock as it was (the alternate screen too, which the
    # model does not draw).
    seq = re.compile(rb"\x1b(\[[0-9;?]*[ -/]*[@-~]|[78=>DEM]|[()][B0A])")
    missing = set(m.group() for m in seq.finditer(local.out)) - \
        set(m.group() for m in seq.finditer(g.out))
    if missing:
        fail("%s: sequences lost on the way: %r" % (prog, sorted(missing)[:10]), g)
    for n, (gs, ls) in enumerate(zip(gshots, lshots)):
        if prog == "top":
            # Numbers differ between two machines; the layout does not.
            for row, name in ((0, "Mem:"), (1, "CPU:"), (2, "Load average:")):
                if not gs[0][row].startswith(name):
                    fail("top row %d is %r" % (row, gs[0][row]), g)
            if "PID" not in gs[0][3] or not all(gs[2][3][:40]):
                fail("top's header row is %r, reverse %r" % (gs[0][3], gs[2][3][:5]), g)
            continue
        if gs != ls:
            diff = [(y, a, b) for y, (a, b) in enumerate(zip(gs[0], ls[0])) if a != b]
            fail("%s screen %d differs from the same program here: %r; cursor %r vs %r"
                 % (prog, n, diff[:4], gs[1], ls[1]), g)
    if termios.tcgetattr(g.slave) != g.termios_before:
        fail("the termios is not what it was", g)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    what, args = sys.argv[1], sys.argv[2:]
    if what == "filter":
        scenario_filter(args)
    elif what == "reset":
        scenario_reset(args[0], args[1:])
    elif what == "drain":
        scenario_drain(args)
    elif what == "fullscreen":
        scenario_fullscreen(args[0], args[1:])
    else:
        fail("unknown scenario %s" % what)
    print("ok")


if __name__ == "__main__":
    main()

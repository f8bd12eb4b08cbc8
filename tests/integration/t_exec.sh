# Exec streams end to end, through the airlock CLI: `airlock run` keeps a
# sandbox on the test template up (its command waits for /tmp/stop) and each
# command of a test goes to it with `airlock exec`, as a user's second
# terminal would. What is tested is airlock-init's serve mode (docs/guest.md)
# and the exec client (tools/airlock/exec.c); the raw exec port is reached
# through the sandbox's vsock socket. Sourced by tests/integration/run.

EXEC_PY=$ROOT/tests/integration
SB=ex

# serve_fresh: no sandbox yet.
serve_fresh() {
	cli_env
	SOCK=$AIRLOCK_HOME/sandboxes/$SB/vsock.sock
}

# serve_start [again]: boots sandbox $SB (a new one, or again the last one)
# in the background and waits until it takes commands; its vsock socket is
# $SOCK. Two vCPUs (the CLI's default), so that concurrent execs really run
# side by side.
serve_start() {
	[ "${1:-}" = again ] || serve_fresh
	cli_start "$SB" 'until [ -e /tmp/stop ]; do sleep 0.1; done; echo stopped'
}

# serve_stop: the run's command ends; airlock powers the VM off, which must
# leave the sandbox disk clean and say nothing.
serve_stop() {
	local rc
	"$CLI" exec "$SB" -- touch /tmp/stop </dev/null >/dev/null 2>&1 ||
		fail "cannot end the run's command"
	wait "$RUN_PID"
	rc=$?
	[ "$rc" -eq 0 ] && [ "$(cat "$T/run.out")" = stopped ] && [ ! -s "$T/run.err" ] ||
		fail "airlock run exited $rc: $(cat "$T/run.out" "$T/run.err")
#   vmm.log: $(tail -5 "$AIRLOCK_HOME/sandboxes/$SB/vmm.log")
#   console: $(tail -5 "$AIRLOCK_HOME/sandboxes/$SB/console.log")"
	e2fsck -fn "$AIRLOCK_HOME/sandboxes/$SB/disk.ext4" >"$T/fsck" 2>&1 ||
		fail "sandbox disk not clean after the power-off: $(tail -3 "$T/fsck")"
}

# ex [OPTS...] -- CMD...: `airlock exec OPTS $SB -- CMD` (stdin from the
# caller); sets RC and the files $T/out, $T/err like vmm.
ex() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	timeout -k 5 120 "$CLI" exec "${opts[@]}" "$SB" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}

# --- statuses ---------------------------------------------------------------

test_exec_exit_statuses() {
	serve_start
	ex -- true; expect_rc 0; expect_out ""
	ex -- false; expect_rc 1
	ex -- sh -c 'exit 42'; expect_rc 42
	ex -- sh -c 'kill -9 $$'; expect_rc 137
	ex -- sh -c 'kill -TERM $$'; expect_rc 143
	ex -- no-such-command; expect_rc 127
	expect_err "^airlock: cannot run 'no-such-command': No such file or directory$"
	ex -- /etc; expect_rc 126
	expect_err "cannot run '/etc': Permission denied"
	# The VM goes on serving after all that.
	ex -- echo still-here; expect_rc 0; expect_out "still-here"
	serve_stop
}

# --- stdio ------------------------------------------------------------------

test_exec_stdout_stderr_apart_binary_intact() {
	serve_start
	ex -- sh -c 'echo out1; echo err1 >&2; echo out2; echo err2 >&2'
	expect_rc 0
	expect_out $'out1\nout2'
	[ "$(cat "$T/err")" = $'err1\nerr2' ] || fail "stderr: $(cat "$T/err")"
	# Every byte value, both ways, on both outputs.
	local bytes want
	bytes=$T/bytes
	for i in $(seq 0 255); do printf "\\$(printf %o "$i")"; done >"$bytes"
	want=$(sha256sum <"$bytes")
	ex -- cat <"$bytes"
	expect_rc 0
	[ "$(sha256sum <"$T/out")" = "$want" ] ||
		fail "256 byte values through stdin and stdout: $(od -An -tx1 "$T/out" | head -3)"
	ex -- sh -c 'cat >&2' <"$bytes"
	[ "$(sha256sum <"$T/err")" = "$want" ] || fail "256 byte values through stderr"
	[ -s "$T/out" ] && fail "stdout not empty"
	# stdin's end is delivered: without it, cat would never end.
	printf 'a\nb' | ex -- sh -c 'cat; echo "[eof]"'
	expect_rc 0
	expect_out $'a\nb[eof]'
	serve_stop
}

test_exec_100mib_stdout() {
	serve_start
	# Binary and reproducible on both sides: the guest's busybox is this
	# machine's /bin/busybox.
	local gen='while cat /bin/busybox; do :; done | head -c 104857600' want got
	want=$(timeout 120 sh -c "$gen" | sha256sum)
	timeout 300 "$CLI" exec "$SB" -- sh -c "$gen" 2>"$T/err" | sha256sum >"$T/sum"
	RC=${PIPESTATUS[0]}
	expect_rc 0
	got=$(cat "$T/sum")
	[ "$got" = "$want" ] || fail "100 MiB of stdout: checksum $got, expected $want"
	serve_stop
}

test_exec_100mib_stdin() {
	serve_start
	rm -f "$T/fifo"
	mkfifo "$T/fifo"
	sha256sum <"$T/fifo" >"$T/sent" &
	local sum=$!
	head -c 104857600 /dev/urandom | tee "$T/fifo" |
		timeout 300 "$CLI" exec "$SB" -- sha256sum >"$T/out" 2>"$T/err"
	RC=${PIPESTATUS[2]}
	wait $sum
	expect_rc 0
	expect_out "$(cat "$T/sent")"
	serve_stop
}

test_exec_env_exactly_what_is_named() {
	serve_start
	# Nothing from here but what -e names: not LEAK, not this TERM.
	LEAK=1 TERM=xterm-leak ex -e FOO=bar -e 'SPACED=a b' -e EMPTY= -e 'EQ=x=y' -- env
	expect_rc 0
	expect_out "HOME=/home/agent
USER=agent
LOGNAME=agent
SHELL=/bin/sh
PATH=/usr/local/bin:/usr/bin:/bin
TERM=linux
LANG=C.UTF-8
FOO=bar
SPACED=a b
EMPTY=
EQ=x=y"
	# A named variable replaces the guest's own.
	ex -e PATH=/usr/bin:/bin -e LANG=C -- env
	grep -qx 'PATH=/usr/bin:/bin' "$T/out" && grep -qx 'LANG=C' "$T/out" &&
		[ "$(grep -c '^PATH=\|^LANG=' "$T/out")" -eq 2 ] || fail "override: $(cat "$T/out")"
	# On a TTY the host's TERM comes along, and only it.
	LEAK=1 TERM=xterm-test ex -t -- env
	grep -q '^TERM=xterm-test' "$T/out" || fail "TTY without the host's TERM: $(cat "$T/out")"
	grep -q LEAK "$T/out" && fail "LEAK reached the guest"
	serve_stop
}

# --- several at once, and ends that come early ------------------------------

test_exec_four_at_once() {
	serve_start
	local i pids=()
	# Each waits until all four have started: they overlap or time out.
	for i in 1 2 3 4; do
		timeout 120 "$CLI" exec "$SB" -- sh -c "touch /tmp/c$i; n=0
			while [ \$(ls /tmp | grep -c '^c') -lt 4 ]; do
				n=\$((n + 1)); [ \$n -gt 600 ] && exit 99; sleep 0.1
			done; echo run$i; echo err$i >&2; exit $((10 + i))" \
			>"$T/c$i.out" 2>"$T/c$i.err" &
		pids+=($!)
	done
	for i in 1 2 3 4; do
		wait "${pids[$((i - 1))]}"
		RC=$?
		expect_rc $((10 + i))
		[ "$(cat "$T/c$i.out")" = "run$i" ] && [ "$(cat "$T/c$i.err")" = "err$i" ] ||
			fail "exec $i: out '$(cat "$T/c$i.out")' err '$(cat "$T/c$i.err")'"
	done
	serve_stop
}

test_exec_command_closes_stdout_early() {
	serve_start
	# EXIT still comes, after stderr, with the status.
	ex -- sh -c 'echo first; exec >&-; sleep 0.5; echo after-close >&2; exit 3'
	expect_rc 3
	expect_out "first"
	[ "$(cat "$T/err")" = "after-close" ] || fail "stderr: $(cat "$T/err")"
	# A background process holding stdout does not hold up the end.
	ex -- sh -c 'sleep 30 & echo started'
	expect_rc 0
	expect_out "started"
	serve_stop
}

test_exec_host_stdout_closes_early() {
	serve_start
	# yes never stops by itself: the closed pipe here must end it there.
	timeout 60 "$CLI" exec "$SB" -- yes 2>"$T/err" | head -c 5 >"$T/out"
	RC=${PIPESTATUS[0]}
	expect_rc 141
	expect_out $'y\ny\ny'
	serve_stop
}

# expect_gone_in_guest PID WHAT: guest process PID ends within 10 s.
expect_gone_in_guest() {
	[ -n "$1" ] || { fail "$2: no pid from the guest"; return; }
	ex -- sh -c "n=0; while [ -e /proc/$1 ]; do n=\$((n + 1)); [ \$n -gt 100 ] && exit 1; sleep 0.1; done"
	[ "$RC" -eq 0 ] || fail "$2: guest process $1 still there after 10 s"
}

# start_and_kill MODE CMD [stop]: runs CMD (which prints its pid first)
# through a client, then kills the client (stopped first with "stop", so
# that the command is blocked on a full stream when its host disappears).
# Sets GPID to the guest pid.
start_and_kill() {
	local mode=$1 cmd=$2 stop=${3:-} pid
	"$CLI" exec $mode "$SB" -- sh -c "$cmd" >"$T/bg.out" 2>&1 &
	pid=$!
	for _ in $(seq 1 300); do [ -s "$T/bg.out" ] && break; sleep 0.1; done
	if [ "$stop" = stop ]; then
		kill -STOP $pid
		sleep 1
	fi
	kill -9 $pid
	wait $pid 2>/dev/null
	GPID=$(head -1 "$T/bg.out" | tr -dc 0-9)
}

test_exec_host_disappears_mid_stream() {
	serve_start
	local mode
	for mode in -T -t; do
		# Killed while the command streams output, while it is blocked
		# on a full stream, and while it waits for input: every time it
		# is hung up on.
		start_and_kill $mode 'echo $$; exec yes'
		expect_gone_in_guest "$GPID" "streaming, $mode"
		start_and_kill $mode 'echo $$; exec yes' stop
		expect_gone_in_guest "$GPID" "blocked, $mode"
		start_and_kill $mode 'echo $$; exec sleep 1000'
		expect_gone_in_guest "$GPID" "idle, $mode"
	done
	serve_stop
}

# --- signals and terminals --------------------------------------------------

test_exec_signals_forwarded() {
	serve_start
	# SIGTERM to the client reaches the command, whose status comes back.
	"$CLI" exec "$SB" -- sh -c 'echo ready; exec sleep 1000' >"$T/out" 2>"$T/err" &
	local pid=$!
	for _ in $(seq 1 300); do [ -s "$T/out" ] && break; sleep 0.1; done
	kill -TERM $pid
	wait $pid
	RC=$?
	expect_rc 143
	# A command that traps SIGINT keeps the client running until it ends.
	"$CLI" exec "$SB" -- sh -c 'trap "echo got-int; exit 5" INT; echo ready; while :; do sleep 0.1; done' \
		>"$T/out" 2>"$T/err" &
	pid=$!
	for _ in $(seq 1 300); do [ -s "$T/out" ] && break; sleep 0.1; done
	kill -INT $pid
	wait $pid
	RC=$?
	expect_rc 5
	expect_out $'ready\ngot-int'
	serve_stop
}

# --- users, directories, the sandbox disk -----------------------------------

test_exec_user_cwd_and_clean_disk() {
	serve_start
	ex -- sh -c 'id -un; id -G; pwd; echo $HOME $USER $SHELL'
	expect_rc 0
	expect_out $'agent\n1000\n/home/agent\n/home/agent agent /bin/sh'
	ex -u root -- sh -c 'id -u; pwd'; expect_out $'0\n/root'
	ex -u 1000 -- id -un; expect_out "agent"
	ex -u 0 -- id -un; expect_out "root"
	ex -u nobody -- true; expect_rc 125
	expect_err "no user 'nobody' in /etc/passwd"
	ex -u 4242 -- true; expect_rc 125
	expect_err "no uid 4242 in /etc/passwd"
	ex -w /tmp -- sh -c 'pwd; echo kept >/home/agent/file'; expect_rc 0; expect_out "/tmp"
	ex -w /nonexistent -- true; expect_rc 125
	expect_err "cannot enter the working directory /nonexistent as agent"
	ex -w /root -- true; expect_rc 125
	expect_err "cannot enter the working directory /root as agent: Permission denied"
	# The PTY is the user's.
	ex -t -- sh -c 'ls -l $(tty)'
	grep -q '^crw--w----.*agent' "$T/out" || fail "PTY: $(cat "$T/out")"
	# The VM powered off with a command still running: it gets SIGHUP and
	# time to save, its client hears the stream end, the disk is clean.
	"$CLI" exec "$SB" -- sh -c 'trap "echo saved >~/on-hup; exit 0" HUP
		echo ready; while :; do sleep 0.1; done' </dev/null >"$T/bg.out" 2>"$T/bg.err" &
	local pid=$!
	for _ in $(seq 1 300); do [ -s "$T/bg.out" ] && break; sleep 0.1; done
	serve_stop
	wait $pid
	RC=$?
	expect_rc 125
	grep -q "ended before the command did" "$T/bg.err" || fail "client: $(cat "$T/bg.err")"
	# What was written is there at the next boot.
	serve_start again
	ex -- cat /home/agent/file /home/agent/on-hup; expect_out $'kept\nsaved'
	serve_stop
}

# --- what the host may send -------------------------------------------------

test_exec_malformed_streams_refused() {
	serve_start
	# One line per case: what the guest sent back, then the end.
	cat >"$T/want" <<'EOF'
garbage ERROR 9 malformed frame: Protocol error EOF
frame-version ERROR 1 airlock-init speaks framing version 1, the host 2: the CLI and the initramfs are from different builds EOF
wrong-direction ERROR 9 malformed frame: Protocol error EOF
too-long ERROR 9 malformed frame: Message too long EOF
out-of-order ERROR 9 message of type 0x02 out of order EOF
request-version ERROR 1 airlock-init speaks exec protocol 1, the request is version 2 EOF
bad-request ERROR 2 the request was refused: Invalid argument EOF
not-found ERROR 3 cannot run 'no-such-command': No such file or directory EOF
garbage-while-running STARTED ERROR 9 malformed frame: Message too long EOF
two-requests STARTED ERROR 9 message of type 0x01 out of order EOF
EOF
	timeout 300 python3 "$EXEC_PY/exec_raw.py" "$SOCK" $(cut -d' ' -f1 "$T/want") \
		>"$T/raw" 2>&1
	diff "$T/want" "$T/raw" >"$T/diff" || fail "$(cat "$T/diff")"
	# airlock-init is still there and serving.
	ex -- echo fine; expect_rc 0; expect_out "fine"
	serve_stop
}

test_exec_no_descriptors_leak_into_the_command() {
	serve_start
	# Only stdio (and ls's own directory fd); no PV port either.
	ex -- ls -1 /proc/self/fd
	expect_rc 0
	expect_out $'0\n1\n2\n3'
	ex -t -- ls -1 /proc/self/fd
	[ "$(tr -d '\r' <"$T/out")" = $'0\n1\n2\n3' ] || fail "on a TTY: $(cat "$T/out")"
	serve_stop
}

test_exec_serve_needs_vsock() {
	# No --vsock: nobody could ever reach it, so the VM ends and says why.
	vmm
	expect_rc 125
	expect_err "no vsock device: .* the VMM needs --vsock"
}

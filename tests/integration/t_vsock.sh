# virtio-vsock (--vsock): streams between host Unix sockets (vsock_host.py)
# and vsockcat in the guest, both ways. Sourced by tests/integration/run.
# The guest gets vsockcat from testtools.cpio.gz, appended to the initramfs.

VSOCK_TOOLS=${AIRLOCK_TESTTOOLS:-$(dirname "$VMM")/../tests/integration/testtools.cpio.gz}
VSOCK_HOST=$ROOT/tests/integration/vsock_host.py
# Debian's python3 without site set-up starts in a fraction of the time a
# version-manager shim takes, which counts inside the emulated test host.
if [ -x /usr/bin/python3 ]; then VSOCK_PY=(/usr/bin/python3 -S); else VSOCK_PY=(python3 -S); fi

# A fresh directory $S for this test's sockets ($S/v.sock is the VM's),
# and the initramfs with vsockcat (made once). Whatever a failed test left
# running is stopped first.
vsock_setup() {
	kill ${VM_PID:-} ${PY_PID:-} 2>/dev/null && wait ${VM_PID:-} ${PY_PID:-} 2>/dev/null
	VM_PID='' PY_PID=''
	S=$T/vs
	rm -rf "$S" && mkdir "$S"
	if [ ! -f "$T/vsock-initrd" ]; then
		[ -f "$VSOCK_TOOLS" ] || { fail "missing $VSOCK_TOOLS: build first"; return 1; }
		cat "$INITRD" "$VSOCK_TOOLS" >"$T/vsock-initrd"
	fi
}

# vsock_vmm [VMM ARGS...] -- CMD: vmm with vsockcat and --vsock $S/v.sock;
# the guest may open streams to host ports 5000 and 5001 (and no other).
vsock_vmm() {
	local INITRD=$T/vsock-initrd
	vmm --vsock "$S/v.sock" --vsock-port 5000 --vsock-port 5001 "$@"
}

# wait_for_socket PATH [PID]: until PATH is a socket (its owner, PID, alive).
wait_for_socket() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ -S "$1" ] && return 0
		[ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null && break
		sleep 0.1
	done
	fail "$1 never appeared"
	return 1
}

# vsock_start ARGS... -- CMD: vsock_vmm in the background, once its socket
# exists; vsock_wait then sets RC.
vsock_start() {
	(
		vsock_vmm "$@"
		exit "$RC"
	) &
	VM_PID=$!
	wait_for_socket "$S/v.sock" "$VM_PID"
}
vsock_wait() {
	wait "$VM_PID"
	RC=$?
}

# vsock_host ARGS...: vsock_host.py in the foreground, output in $S/py.out;
# vsock_host_bg: in the background (PY_PID), vsock_host_wait: its status.
vsock_host() {
	timeout -k 5 200 "${VSOCK_PY[@]}" "$VSOCK_HOST" "$@" >"$S/py.out" 2>&1
	PY_RC=$?
}
vsock_host_bg() {
	timeout -k 5 200 "${VSOCK_PY[@]}" "$VSOCK_HOST" "$@" >"$S/pybg.out" 2>&1 &
	PY_PID=$!
}
vsock_host_wait() {
	wait "$PY_PID"
	PY_RC=$?
}

# expect_host FILE REGEX: the helper's output there matches, and it succeeded.
expect_host() {
	grep -qE -- "$2" "$S/$1" && [ "$PY_RC" -eq 0 ] ||
		fail "vsock_host.py (status $PY_RC) said '$(head -c 400 "$S/$1")', expected /$2/;" \
			"airlock-vmm said '$(head -c 600 "$T/err")'"
}

expect_out_has() {
	grep -qE -- "$1" "$T/out" || fail "stdout lacks /$1/: $(head -c 600 "$T/out")"
}

test_vsock_host_to_guest_stream() {
	vsock_setup || return
	vsock_start -- vsockcat echo 1234 || return
	vsock_host connect "$S/v.sock" 1234 8000000
	vsock_wait
	expect_rc 0
	expect_out $'listening\nechoed 8000000'
	expect_host py.out '^ok 1 x 8000000 bytes echoed'
	echo "#   host to guest and back: $(cat "$S/py.out")"
}

test_vsock_guest_to_host_stream() {
	vsock_setup || return
	vsock_host_bg serve "$S/v.sock_5000" 8000000
	wait_for_socket "$S/v.sock_5000" "$PY_PID" || return
	vsock_vmm -- vsockcat send 2 5000 8000000
	vsock_host_wait
	expect_rc 0
	expect_out "sent 8000000 received 8000000"
	expect_host pybg.out '^served 1 x 8000000'
	echo "#   guest to host and back: $(cat "$S/pybg.out")"
}

test_vsock_guest_connect_without_listener_is_reset() {
	vsock_setup || return
	# Nothing listens on $S/v.sock_5001: a reset, not a 2 s connect timeout.
	vsock_vmm -- sh -c 'a=$(cut -d" " -f1 /proc/uptime); vsockcat connect 2 5001; echo rc=$?
		b=$(cut -d" " -f1 /proc/uptime); awk "BEGIN { exit !($b - $a < 1) }" || echo slow'
	expect_rc 0
	expect_out $'connect 2:5001: Connection reset by peer\nrc=1'
}

test_vsock_guest_reaches_only_named_ports() {
	vsock_setup || return
	# Something listens on $S/v.sock_5002, but 5002 was not named.
	vsock_host_bg serve "$S/v.sock_5002" 1000
	wait_for_socket "$S/v.sock_5002" "$PY_PID" || return
	vsock_vmm -- sh -c 'vsockcat connect 2 5002; echo rc=$?'
	kill "$PY_PID" 2>/dev/null
	vsock_host_wait
	expect_rc 0
	expect_out $'connect 2:5002: Connection reset by peer\nrc=1'
	grep -q '^served' "$S/pybg.out" && fail "the unnamed port was reached: $(cat "$S/pybg.out")"
	# A link planted where the named port's socket should be, pointing at
	# a real listener: never followed.
	vsock_host_bg serve "$S/elsewhere" 1000
	wait_for_socket "$S/elsewhere" "$PY_PID" || return
	ln -s "$S/elsewhere" "$S/v.sock_5000"
	vsock_vmm -- sh -c 'vsockcat connect 2 5000; echo rc=$?'
	kill "$PY_PID" 2>/dev/null
	vsock_host_wait
	expect_rc 0
	expect_out $'connect 2:5000: Connection reset by peer\nrc=1'
	grep -q '^served' "$S/pybg.out" && fail "the link was followed: $(cat "$S/pybg.out")"
}

test_vsock_host_refusals() {
	vsock_setup || return
	vsock_start -- vsockcat echo 1234 2 || return
	vsock_host_bg silent "$S/v.sock"	# closed by the 10 s handshake deadline
	vsock_host connect "$S/v.sock" 1234 1000	# the guest listens now
	expect_host py.out '^ok'
	# A port nobody listens on, and lines that are not a handshake.
	vsock_host refused "$S/v.sock" "CONNECT 999" "HELLO 1234" "CONNECT 1234x" \
		"CONNECT -1" "CONNECT 99999999999" "$(printf 'x%.0s' {1..100})"
	expect_host py.out '^refused 6$'
	# A second VM cannot take over the socket of a running one.
	timeout -k 5 60 "$VMM" --kernel "$KDIR/vmlinux" --initrd "$INITRD" \
		--vsock "$S/v.sock" -- true >"$S/out2" 2>"$S/err2"
	[ $? -eq 2 ] && grep -q "another VM is listening on it" "$S/err2" ||
		fail "second VM on the same socket: $(cat "$S/err2")"
	vsock_host_wait
	expect_host pybg.out '^closed after'
	vsock_host connect "$S/v.sock" 1234 1000	# still serving
	expect_host py.out '^ok'
	vsock_wait
	expect_rc 0
	expect_out $'listening\nechoed 2 streams, 0 failed'
}

test_vsock_concurrent_streams() {
	vsock_setup || return
	# 8 streams each way at once: guest to host, and host to guest.
	vsock_host_bg serve "$S/v.sock_5000" 1000000 8
	wait_for_socket "$S/v.sock_5000" "$PY_PID" || return
	vsock_start -- sh -c 'vsockcat echo 1234 8 & for i in 1 2 3 4 5 6 7 8; do
		vsockcat send 2 5000 1000000 >/tmp/s$i & done; wait; cat /tmp/s*' || return
	vsock_host connect "$S/v.sock" 1234 1000000 8
	expect_host py.out '^ok 8 x 1000000 bytes echoed'
	vsock_host_wait
	expect_host pybg.out '^served 8 x 1000000'
	vsock_wait
	expect_rc 0
	expect_out_has 'echoed 8 streams, 0 failed'
	[ "$(grep -c '^sent 1000000 received 1000000$' "$T/out")" -eq 8 ] ||
		fail "not all 8 guest streams came back whole: $(cat "$T/out")"
}

test_vsock_host_disappears_mid_stream() {
	vsock_setup || return
	# The host closes a guest stream after 1 MB of 20, and a host stream
	# right after sending; the VM carries on and opens a new stream.
	vsock_host_bg drop "$S/v.sock_5000" 1000000
	wait_for_socket "$S/v.sock_5000" "$PY_PID" || return
	vsock_start -- sh -c 'vsockcat echo 1234 >/tmp/e & vsockcat send 2 5000 20000000
		echo send=$?; wait $!; echo echo=$?; vsockcat send 2 5000 100000' || return
	vsock_host hangup "$S/v.sock" 1234 2000000
	expect_host py.out '^hung up after 2000000'
	vsock_host_wait
	expect_host pybg.out '^dropped after [0-9]+, then served 100000$'
	vsock_wait
	expect_rc 0
	expect_out_has '^write: (Broken pipe|Connection reset by peer)$'
	expect_out_has '^send=1$'
	expect_out_has '^echo=[01]$'
	expect_out_has '^sent 100000 received 100000$'
	grep -q "seccomp\|panic" "$T/err" && fail "stderr: $(cat "$T/err")"
}

test_vsock_path_not_a_socket() {
	touch "$T/not-a-socket"
	vmm --vsock "$T/not-a-socket" -- true
	expect_rc 2
	expect_err "cannot set up vsock at '.*not-a-socket': the path exists and is not a socket"
}

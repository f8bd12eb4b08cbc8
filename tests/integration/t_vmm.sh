# Booting, exit statuses, output, the machine, refusals, lifecycle and
# hardening of airlock-vmm itself. Sourced by tests/integration/run.

# --- exit statuses ----------------------------------------------------------

test_true_exits_0() { vmm -- true; expect_rc 0; expect_out ""; }
test_false_exits_1() { vmm -- false; expect_rc 1; }
test_exit_42() { vmm -- sh -c 'exit 42'; expect_rc 42; }
test_killed_by_signal_is_128_plus_n() { vmm -- sh -c 'kill -9 $$'; expect_rc 137; }
test_missing_command_is_127() {
	vmm -- no-such-command-here
	expect_rc 127
	expect_out "airlock-init: cannot run 'no-such-command-here': No such file or directory"
}
test_stdin_is_empty() { vmm -- cat; expect_rc 0; expect_out ""; }

# --- output -----------------------------------------------------------------

test_output_intact() {
	vmm -- sh -c 'echo "hello world"; printf "a\tb\n\nc d  e\n"'
	expect_rc 0
	expect_out $'hello world\na\tb\n\nc d  e'
}

test_awkward_arguments_survive() {
	vmm -- sh -c 'printf "[%s]" "$@"' x "a b" "" "c,d" 'e"f' "g'h" "%41" "=x" "é"
	expect_rc 0
	expect_out "[a b][][c,d][e\"f][g'h][%41][=x][é]"
}

test_binary_output_byte_exact() {
	# Every byte value, no \n -> \r\n translation on the way out.
	vmm -- sh -c 'i=0; while [ $i -lt 256 ]; do printf "\\$(printf %o $i)"; i=$((i+1)); done'
	expect_rc 0
	local want
	want=$(for i in $(seq 0 255); do printf "\\$(printf %o "$i")"; done | sha256sum)
	[ "$(sha256sum <"$T/out")" = "$want" ] ||
		fail "256 byte values came out as $(wc -c <"$T/out") bytes: $(od -An -tx1 "$T/out" | head -3)"
}

test_long_output_in_order() {
	vmm -- seq 1 3000
	expect_rc 0
	[ "$(sha256sum <"$T/out")" = "$(seq 1 3000 | sha256sum)" ] ||
		fail "seq 1 3000 differs: $(wc -c <"$T/out") bytes, tail $(tail -c 40 "$T/out")"
}

test_stderr_reaches_output() {
	vmm -- sh -c 'echo to-stderr >&2'
	expect_rc 0
	expect_out "to-stderr"
}

test_kernel_log_stays_off_stdout() {
	vmm -- true
	grep -q 'Linux version' "$T/out" && fail "kernel log on stdout"
	vmm --console "$T/console.log" -- true
	expect_rc 0
	grep -q 'Linux version' "$T/console.log" || fail "--console FILE has no kernel log"
}

# --- machine ----------------------------------------------------------------

test_two_vcpus_seen() {
	vmm --cpus 2 -- sh -c 'nproc; grep -c ^processor /proc/cpuinfo'
	expect_rc 0
	expect_out $'2\n2'
}

test_four_vcpus_seen() {
	vmm --cpus 4 -- nproc
	expect_rc 0
	expect_out "4"
}

# A console file is bounded (a guest must not fill the host's disk through
# it): the first SIZE bytes, then one note, and the guest runs on.
test_console_file_is_bounded() {
	vmm --console "$T/console.log" --console-max 2K -- sh -c 'echo done'
	expect_rc 0
	expect_out "done"
	local size note
	note="[airlock-vmm: the guest's output reached its limit; the rest is dropped]"
	size=$(stat -c %s "$T/console.log")
	[ "$size" -eq $((2048 + ${#note} + 2)) ] || fail "console file is $size bytes"
	[ "$(tail -n 1 "$T/console.log")" = "$note" ] ||
		fail "no note at the end: $(tail -c 200 "$T/console.log")"
	vmm --console-max 12X -- true
	expect_rc 2
	expect_err "--console-max '12X'"
}

test_memory_size_seen() {
	vmm -m 512 -- sh -c 'awk "/MemTotal/ {print int(\$2/1024)}" /proc/meminfo'
	expect_rc 0
	local mib
	mib=$(cat "$T/out")
	[ "${mib:-0}" -gt 400 ] && [ "${mib:-0}" -le 512 ] || fail "guest sees $mib MiB of 512"
}

test_memory_above_4g_gap() {
	# 4 GiB: 3 GiB below the MMIO gap, 1 GiB above 4 GiB.
	vmm -m 4G -- sh -c 'awk "/MemTotal/ {print int(\$2/1048576*10)}" /proc/meminfo'
	expect_rc 0
	local tenths
	tenths=$(cat "$T/out")
	[ "${tenths:-0}" -ge 38 ] || fail "guest sees ${tenths} tenths of GiB of 4 GiB"
}

# --done: the exit status as one byte, written before the VM is freed.
test_done_fd_gets_the_exit_status() {
	vmm --done fd:3 -- sh -c 'exit 42' 3>"$T/done"
	expect_rc 42
	[ "$(od -An -tu1 "$T/done" | tr -d ' ')" = 42 ] ||
		fail "--done wrote '$(od -An -tu1 "$T/done")', expected 42"
}

test_boot_pvh() { vmm --boot pvh -- sh -c 'exit 7'; expect_rc 7; }
test_boot_linux64() { vmm --boot linux64 -- sh -c 'exit 8'; expect_rc 8; }

test_boot_bzimage() {
	timeout -k 5 "$GUEST_TIMEOUT" "$VMM" --kernel "$KDIR/bzImage" --initrd "$INITRD" \
		--cpus 2 -- sh -c 'nproc; exit 9' >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 9
	expect_out "2"
}

test_guest_gets_command_line() {
	vmm --cmdline "airlock_test_marker=1" -- cat /proc/cmdline
	expect_rc 0
	grep -q 'airlock_test_marker=1' "$T/out" || fail "extra parameter missing: $(cat "$T/out")"
	grep -q 'reboot=k' "$T/out" || fail "our parameters missing"
}

# --- failures ---------------------------------------------------------------

test_kernel_panic_is_reported() {
	vmm -- sh -c 'echo c > /proc/sysrq-trigger'
	[ "$RC" -ne 0 ] || fail "a panicking guest exited 0"
	expect_rc 125
	expect_err 'guest kernel panicked: Kernel panic - not syncing'
}

test_missing_kernel() {
	timeout 20 "$VMM" --kernel "$T/nope" -- true >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 2
	expect_err "cannot read kernel '.*nope': No such file or directory"
}

test_corrupt_kernel() {
	head -c 4096 "$KDIR/vmlinux" >"$T/truncated"
	timeout 20 "$VMM" --kernel "$T/truncated" -- true >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 2
	expect_err "kernel '.*truncated': "
	head -c 100000 /dev/urandom >"$T/random"
	timeout 20 "$VMM" --kernel "$T/random" -- true >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 2
	expect_err "not a kernel image"
	: >"$T/empty"
	timeout 20 "$VMM" --kernel "$T/empty" -- true >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 2
	expect_err "empty"
}

test_missing_initrd() {
	timeout 20 "$VMM" --kernel "$KDIR/vmlinux" --initrd "$T/nope.cpio" -- true >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 2
	expect_err "cannot read initrd"
}

test_bad_options() {
	for args in "--bogus" "--cpus 0" "--cpus 65" "--cpus x" "-m 0" "-m 12X" "--boot efi" "-m"; do
		# shellcheck disable=SC2086
		timeout 20 "$VMM" --kernel "$KDIR/vmlinux" $args >"$T/out" 2>"$T/err"
		RC=$?
		expect_rc 2
		[ -s "$T/err" ] || fail "no message for '$args'"
		grep -q 'Segmentation\|Aborted\|core dumped' "$T/err" && fail "crash for '$args'"
	done
}

test_too_little_memory() {
	vmm -m 16 -- true
	expect_rc 2
	expect_err "too small for this kernel and initrd: give at least [0-9]+ MiB"
}

test_command_line_too_long() {
	vmm -- sh -c "$(head -c 3000 /dev/zero | tr '\0' x)"
	expect_rc 2
	expect_err "command line would be longer"
}

test_no_dev_kvm_is_named() {
	# A private mount namespace whose /dev lacks kvm.
	unshare -m sh -c 'mount -t tmpfs tmpfs /dev && exec "$@"' sh \
		"$VMM" --kernel "$KDIR/vmlinux" --initrd "$INITRD" -- true >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 2
	expect_err "/dev/kvm does not exist: KVM is not available"
}

test_kvm_permission_denied_is_named() {
	# An unprivileged user who may read the images but not open /dev/kvm.
	cp "$KDIR/bzImage" "$INITRD" "$T/" && chmod 755 "$T" && chmod 644 "$T"/*
	if [ -w /dev/kvm ] && setpriv --reuid=65534 --regid=65534 --clear-groups \
		test -w /dev/kvm; then
		fail "/dev/kvm is writable by nobody here: cannot stage the test"
		return
	fi
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$VMM" --kernel "$T/bzImage" --initrd "$T/$(basename "$INITRD")" -- true \
		>"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 2
	expect_err "permission denied opening /dev/kvm: add this user to the group"
}

# --- lifecycle and hardening ------------------------------------------------

test_sigterm_stops_vm() {
	"$VMM" --kernel "$KDIR/vmlinux" --initrd "$INITRD" -- sleep 600 >"$T/out" 2>"$T/err" &
	local pid=$! i
	sleep 3
	kill -TERM $pid
	for i in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	if kill -0 $pid 2>/dev/null; then
		fail "still running 10 s after SIGTERM"
		kill -9 $pid
	fi
	wait $pid
	RC=$?
	expect_rc 143
	expect_err "stopped by signal 15"
}

test_seccomp_filter_installed() {
	"$VMM" --kernel "$KDIR/vmlinux" --initrd "$INITRD" --cpus 2 -- sleep 600 >"$T/out" 2>"$T/err" &
	local pid=$! tid modes nnp core
	sleep 3
	modes=$(for tid in /proc/$pid/task/*; do awk '/^Seccomp:/ {print $2}' "$tid/status"; done | sort | uniq -c | tr -s ' ')
	# No_new_privs on every thread, and no core file of guest data.
	nnp=$(for tid in /proc/$pid/task/*; do awk '/^NoNewPrivs:/ {print $2}' "$tid/status"; done | sort -u | xargs)
	core=$(awk '/^Max core file size/ {print $5, $6}' /proc/$pid/limits)
	kill -TERM $pid
	wait $pid
	# main thread + 2 vCPU threads, all in filter mode (2).
	[ "$(echo "$modes" | xargs)" = "3 2" ] || fail "seccomp modes per thread: $modes"
	[ "$nnp" = 1 ] || fail "NoNewPrivs per thread: $nnp"
	[ "$core" = "0 0" ] || fail "core file size limit: $core"
	"$VMM" --no-seccomp --kernel "$KDIR/vmlinux" --initrd "$INITRD" -- true >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 0
}

test_no_fd_leaks_into_vmm() {
	# An fd the caller forgot to close must not reach the process that runs
	# guest code.
	exec 7>"$T/leak"
	"$VMM" --kernel "$KDIR/vmlinux" --initrd "$INITRD" -- sleep 600 >"$T/out" 2>"$T/err" &
	local pid=$!
	sleep 3
	# Our own fds may reuse the number: look at what they point to.
	ls -l /proc/$pid/fd/ | grep -q "$T/leak" && fail "the caller's fd 7 leaked into airlock-vmm"
	ls -l /proc/$pid/fd/ | grep -q kvm-vm || fail "cannot see airlock-vmm's fds (test broken?)"
	kill -TERM $pid
	wait $pid
	exec 7>&-
}

test_boot_timing() {
	vmm --boot-timing -- true
	expect_rc 0
	local line
	line=$(grep 'boot-timing' "$T/err")
	[ -n "$line" ] || { fail "no boot-timing line"; return; }
	# All milestones reached and in order.
	echo "$line" | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		ok = v["first_instruction_ms"] > 0 && v["init_ms"] > v["first_instruction_ms"] &&
		     v["command_ms"] >= v["init_ms"] && v["exit_ms"] >= v["command_ms"] &&
		     v["end_ms"] >= v["exit_ms"] && v["peak_rss_kib"] > 0
		exit ok ? 0 : 1 }' || fail "milestones out of order: $line"
}


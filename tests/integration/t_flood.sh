# A guest flooding its virtio queues cannot hold airlock-vmm's I/O thread:
# SIGTERM, read from a signalfd in the same loop, still ends the VM within a
# second (docs/vmm.md, "Batches"). Sourced by tests/integration/run.

# flood_term WORD -- VMM ARGS...: start airlock-vmm with ARGS in the
# background; once WORD is on its stdout, let the guest flood for 2 s, then
# SIGTERM it. Sets RC, TERM_MS (SIGTERM to exit; a VMM still there 10 s
# later is killed) and IO_CPU (percent of a CPU the main thread, which runs
# the I/O loop, used during those 2 s: proof that the flood reached it).
flood_term() {
	local word=$1 pid i t0 t1 c0 c1 watchdog hz
	shift 2
	"$VMM" "$@" >"$T/out" 2>"$T/err" &
	pid=$!
	for i in $(seq 1 600); do
		grep -q "$word" "$T/out" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "$word" "$T/out" || fail "the guest never said '$word': $(head -c 300 "$T/out") $(head -c 600 "$T/err")"
	hz=$(getconf CLK_TCK)
	c0=$(awk '{print $14 + $15}' "/proc/$pid/task/$pid/stat" 2>/dev/null || echo 0)
	sleep 2
	c1=$(awk '{print $14 + $15}' "/proc/$pid/task/$pid/stat" 2>/dev/null || echo 0)
	IO_CPU=$(((c1 - c0) * 100 / hz / 2))
	# Kills a VMM that ignores the signal; itself stopped, with its sleep,
	# once the VMM is gone.
	(
		trap 'kill $s 2>/dev/null; exit 0' TERM
		sleep 10 &
		s=$!
		wait $s && kill -9 "$pid"
	) 2>/dev/null &
	watchdog=$!
	t0=$EPOCHREALTIME
	kill -TERM "$pid"
	wait "$pid"
	RC=$?
	t1=$EPOCHREALTIME
	kill "$watchdog" 2>/dev/null
	wait "$watchdog" 2>/dev/null
	TERM_MS=$(((${t1/./} - ${t0/./}) / 1000))
	echo "#   SIGTERM to exit: $TERM_MS ms; I/O thread busy $IO_CPU% of a CPU while flooded"
}

# A hostile guest kernel (floodguest.c) keeps the virtio-blk, virtio-rng
# and virtio-vsock (tx) rings full without ever waiting for an interrupt.
# Before queue handlers worked in batches this VMM never saw the signal.
test_flood_hostile_guest_cannot_hold_sigterm() {
	local guest
	guest=$(dirname "$VMM")/../tests/integration/floodguest
	[ -f "$guest" ] || { fail "missing $guest: build first"; return; }
	truncate -s 1M "$T/flood.img"
	rm -f "$T/flood.sock"
	flood_term "flooding" -- --kernel "$guest" --boot linux64 -m 64 --cpus 2 \
		--disk "$T/flood.img" --vsock "$T/flood.sock"
	grep -q "flooding 3 or more devices" "$T/out" || fail "the guest flooded only: $(cat "$T/out")"
	# (an idle VM: 0%; measured 49-74%)
	[ "$IO_CPU" -ge 20 ] || fail "the I/O thread was busy only $IO_CPU% of a CPU: no flood"
	expect_rc 143
	expect_err "stopped by signal 15"
	[ "$TERM_MS" -le 1000 ] || fail "SIGTERM took $TERM_MS ms to end the VM (at most 1000)"
}

# Linux with 2 vCPUs: two readers of /dev/vda at queue depth 128 (O_DIRECT,
# Linux AIO) and two of /dev/hwrng, as root in the initramfs. An honest
# driver waits for completions, so this is heavy load rather than an attack.
test_flood_linux_guest_cannot_hold_sigterm() {
	local tools=$ROOT/build/tests/integration/testtools.cpio.gz
	[ -f "$tools" ] || { fail "missing $tools: build first"; return; }
	cat "$INITRD" "$tools" >"$T/initrd-tools"
	truncate -s 64M "$T/flood.img"
	flood_term "floodblk: running" -- --kernel "$KDIR/vmlinux" --initrd "$T/initrd-tools" \
		-m 256 --cpus 2 --disk "$T/flood.img" -- sh -c '
		floodblk /dev/vda 128 4096 & floodblk /dev/vda 128 65536 &
		for i in 1 2; do (while :; do dd if=/dev/hwrng of=/dev/null bs=4k 2>/dev/null; done) & done
		sleep 600'
	# (an idle VM: 0%; measured 29-49%)
	[ "$IO_CPU" -ge 10 ] || fail "the I/O thread was busy only $IO_CPU% of a CPU: no flood"
	expect_rc 143
	expect_err "stopped by signal 15"
	[ "$TERM_MS" -le 1000 ] || fail "SIGTERM took $TERM_MS ms to end the VM (at most 1000)"
}

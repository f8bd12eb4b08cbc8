# virtio-rng, attached to every VM in the MMIO slot after the disks and
# before vsock. Sourced by tests/integration/run.

test_rng_feeds_the_guest() {
	# The kernel picked our device, and what it reads is not a pattern:
	# 4 KiB of random bytes hold nearly every byte value.
	vmm -- sh -c 'cat /sys/class/misc/hw_random/rng_current
		head -c 4096 /dev/hwrng | od -An -v -tx1 | tr -s " " "\n" | grep . | sort -u | wc -l'
	expect_rc 0
	[ "$(head -1 "$T/out")" = virtio_rng.0 ] || fail "rng_current: $(head -1 "$T/out")"
	[ "$(sed -n 2p "$T/out")" -ge 240 ] 2>/dev/null ||
		fail "4 KiB from /dev/hwrng hold only $(sed -n 2p "$T/out") byte values"
}

test_rng_slot_between_disks_and_vsock() {
	# Devices in MMIO order: two disks (block, 2), rng (4), vsock (19); the
	# disks keep vda, vdb and vsock still carries a stream to the host.
	local tools=$ROOT/build/tests/integration/testtools.cpio.gz
	[ -f "$tools" ] || { fail "missing $tools: build first"; return; }
	cat "$INITRD" "$tools" >"$T/initrd-tools"
	truncate -s 1M "$T/r1.img"
	truncate -s 2M "$T/r2.img"
	rm -f "$T/v.sock" "$T/v.sock_5000"
	python3 "$ROOT/tests/integration/vsock_host.py" serve "$T/v.sock_5000" 3000 >"$T/host" 2>&1 &
	local pid=$! i
	for i in $(seq 100); do [ -S "$T/v.sock_5000" ] && break; sleep 0.1; done
	vmm --initrd "$T/initrd-tools" --disk "$T/r1.img" --disk "$T/r2.img" --vsock "$T/v.sock" --vsock-port 5000 -- sh -c '
		for d in /sys/bus/virtio/devices/virtio*; do cat "$d/device"; done
		cat /sys/block/vda/size /sys/block/vdb/size
		vsockcat send 2 5000 3000'
	expect_rc 0
	[ "$(head -6 "$T/out")" = "0x0002
0x0002
0x0004
0x0013
2048
4096" ] || fail "devices: $(head -c 300 "$T/out")"
	wait "$pid" || fail "host side: $(tail -1 "$T/host"); guest: $(tail -n +7 "$T/out")"
}

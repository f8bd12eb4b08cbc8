# virtio-blk disks attached with --disk. Sourced by tests/integration/run.

# --- disks (virtio-blk) -----------------------------------------------------

mkimage() { # mkimage FILE SIZE: an ext4 image holding hello.txt
	mkdir -p "$T/src" && echo "hello from the disk" >"$T/src/hello.txt" &&
		mkfs.ext4 -q -F -d "$T/src" "$1" "$2" >/dev/null 2>&1
}

test_disk_write_persists_across_boots() {
	truncate -s 64M "$T/w.img" && mkfs.ext4 -q -F "$T/w.img"
	vmm --disk "$T/w.img" -- sh -c 'mkdir /w && mount /dev/vda /w && seq 1 50000 >/w/x && sync && umount /w'
	expect_rc 0
	vmm --disk "$T/w.img" -- sh -c 'mkdir /w && mount /dev/vda /w && md5sum </w/x && rm /w/x && umount /w'
	expect_rc 0
	expect_out "$(seq 1 50000 | md5sum)"
	e2fsck -fn "$T/w.img" >"$T/fsck" 2>&1 || fail "e2fsck after two boots: $(tail -3 "$T/fsck")"
}

test_disk_read_only() {
	mkimage "$T/t.img" 16M
	local before
	before=$(sha256sum <"$T/t.img")
	vmm --disk "$T/t.img,ro" -- sh -c 'cat /sys/block/vda/ro; mkdir /m && mount -o ro /dev/vda /m && cat /m/hello.txt;
		mount -o remount,rw /m 2>/dev/null && echo remounted-rw;
		dd if=/dev/zero of=/dev/vda bs=512 count=1 2>/dev/null && echo wrote; true'
	expect_rc 0
	expect_out $'1
hello from the disk'
	[ "$(sha256sum <"$T/t.img")" = "$before" ] || fail "read-only image changed"
}

test_disk_two_disks_in_order() {
	mkimage "$T/a.img" 8M
	truncate -s 3M "$T/b.img"
	vmm --disk "$T/a.img,ro" --disk "$T/b.img" -- sh -c 'cat /sys/block/vda/size /sys/block/vdb/size /sys/block/vda/ro /sys/block/vdb/ro'
	expect_rc 0
	expect_out $'16384
6144
1
0'
}

test_disk_partial_sector_not_offered() {
	truncate -s $((1024 * 1024 + 100)) "$T/odd.img"
	vmm --disk "$T/odd.img" -- cat /sys/block/vda/size
	expect_rc 0
	expect_out "2048"
	expect_err "not a multiple of 512: the guest sees only the whole sectors"
}

test_disk_discard_frees_space() {
	truncate -s 64M "$T/d.img" && mkfs.ext4 -q -F "$T/d.img"
	vmm --disk "$T/d.img" -- sh -c 'mkdir /w && mount /dev/vda /w && dd if=/dev/urandom of=/w/big bs=1M count=24 2>/dev/null && sync && umount /w'
	local full
	full=$(du -k "$T/d.img" | cut -f1)
	vmm --disk "$T/d.img" -- sh -c 'mkdir /w && mount /dev/vda /w && rm /w/big && sync && fstrim /w && umount /w'
	expect_rc 0
	[ "$(du -k "$T/d.img" | cut -f1)" -lt $((full - 16000)) ] ||
		fail "discard did not free space: $full KiB before, $(du -k "$T/d.img" | cut -f1) after"
}

test_disk_missing() {
	vmm --disk "$T/no-such.img" -- true
	expect_rc 2
	expect_err "cannot open disk '.*no-such.img': No such file or directory"
}

test_disk_too_small() {
	head -c 100 /dev/zero >"$T/tiny.img"
	vmm --disk "$T/tiny.img" -- true
	expect_rc 2
	expect_err "smaller than one 512-byte sector"
}

test_disk_not_a_file() {
	vmm --disk /dev/null -- true
	expect_rc 2
	expect_err "not a regular file or block device"
}

test_disk_on_read_only_fs_needs_ro() {
	# The kernel image lives on the read-only root here: writable it is not.
	vmm --disk "$KDIR/bzImage" -- true
	expect_rc 2
	expect_err "cannot open disk .* read-write: .*add ,ro"
	vmm --disk "$KDIR/bzImage,ro" -- cat /sys/block/vda/ro
	expect_rc 0
	expect_out "1"
}

test_disk_in_use_by_another_vm() {
	truncate -s 8M "$T/shared.img"
	"$VMM" --kernel "$KDIR/vmlinux" --initrd "$INITRD" --disk "$T/shared.img" -- sleep 600 \
		>/dev/null 2>&1 &
	local pid=$!
	sleep 2
	vmm --disk "$T/shared.img" -- true
	expect_rc 2
	expect_err "disk '.*shared.img' is in use by another VM"
	kill -TERM $pid
	wait $pid
}


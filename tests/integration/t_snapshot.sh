# Snapshots (docs/snapshot.md): airlock-vmm saves a guest at its snapshot
# point and restores it; `airlock run` starts sandboxes from the template's
# snapshots (new sandboxes from the one with a copy of an empty disk
# mounted, the others from the one before the disk). A restored sandbox is
# a working one (its own disk, memory, vCPUs, time, -e variables), fresh
# where it must be (entropy, UUIDs, the disk as it is now), and a damaged,
# truncated or mismatched snapshot is named and booted around, never run.
# Sourced by tests/integration/run.

# snap_cli ARGS...: airlock with stdin from /dev/null; RC, $T/out, $T/err.
snap_cli() {
	timeout -k 5 "$GUEST_TIMEOUT" "$CLI" "$@" </dev/null >"$T/out" 2>"$T/err"
	RC=$?
}

# snap_home: cli_env with a snapshots folder of this test's own, for tests
# that damage snapshots.
snap_home() {
	cli_env
	rm "$AIRLOCK_HOME/snapshots"
	mkdir "$AIRLOCK_HOME/snapshots"
}

# The one snapshot folder of $AIRLOCK_HOME for the test template.
snap_dir() {
	local d
	for d in "$AIRLOCK_HOME"/snapshots/test-*; do
		[ -f "$d/state" ] && echo "$d" && return 0
	done
	return 1
}

expect_no_stderr() {
	[ ! -s "$T/err" ] || fail "stderr: $(head -c 600 "$T/err")"
}

test_snapshot_vmm_saves_and_restores() {
	# airlock-vmm alone: a one-shot command after the snapshot point; two
	# restores run it with different random bytes and UUIDs, at the time
	# of the restore.
	local i before
	rm -f "$T/state" "$T/mem" "$T/v"*
	vmm --cpus 2 --vsock "$T/v" --snapshot-out "$T/state" --snapshot-mem "$T/mem" \
		--cmdline airlock.snapshot=1 -- sh -c \
		'cat /proc/sys/kernel/random/uuid; head -c 16 /dev/urandom | od -An -tx1; date +%s; nproc'
	expect_rc 0
	expect_out ""
	[ -s "$T/state" ] && [ -s "$T/mem" ] || fail "no snapshot files"
	for i in 1 2; do
		before=$(date +%s)
		timeout -k 5 "$GUEST_TIMEOUT" "$VMM" -m 256 --cpus 2 --vsock "$T/v$i" \
			--restore "$T/state" --snapshot-mem "$T/mem" >"$T/r$i" 2>"$T/e$i" &
		"$(dirname "$CLI")/airlock-exec" --timeout 60000 --resume "$T/v$i" ||
			fail "restore $i did not resume"
		wait $!
		RC=$?
		expect_rc 0
		[ "$(sed -n 4p "$T/r$i")" = 2 ] || fail "restore $i: $(cat "$T/r$i" "$T/e$i")"
		[ "$(sed -n 3p "$T/r$i")" -ge "$((before - 1))" ] &&
			[ "$(sed -n 3p "$T/r$i")" -le "$(($(date +%s) + 1))" ] ||
			fail "restore $i: guest time $(sed -n 3p "$T/r$i"), host $before..$(date +%s)"
	done
	[ "$(head -2 "$T/r1")" != "$(head -2 "$T/r2")" ] ||
		fail "two restores read the same random bytes: $(head -2 "$T/r1")"
	[ "$(head -1 "$T/r1")" != "$(head -1 "$T/r2")" ] || fail "the same UUID twice"

	# Not a snapshot, cut short, another VM's: exit 3 and a reason, no guest.
	# (Names of this test's own: $T is shared by every test of the run.)
	rm -rf "$T/snap-junk" "$T/snap-short" "$T/snap-other"
	head -c 100 /dev/urandom >"$T/snap-junk"
	for f in junk short other; do
		case $f in
		short) head -c 1000 "$T/state" >"$T/snap-short" ;;
		other) cp "$T/state" "$T/snap-other" ;;
		esac
		timeout -k 5 "$GUEST_TIMEOUT" "$VMM" -m 256 --cpus "$([ $f = other ] && echo 1 || echo 2)" \
			--vsock "$T/vx" --restore "$T/snap-$f" --snapshot-mem "$T/mem" >"$T/out" 2>"$T/err"
		RC=$?
		expect_rc 3
		case $f in
		junk) expect_err "cannot restore the snapshot .*: not an airlock snapshot" ;;
		short) expect_err "cannot restore the snapshot .*: truncated" ;;
		other) expect_err "made for another number of vCPUs" ;;
		esac
	done
	# A memory file of another snapshot, or cut short.
	head -c 4096 "$T/mem" >"$T/mem2"
	timeout -k 5 "$GUEST_TIMEOUT" "$VMM" -m 256 --cpus 2 --vsock "$T/vx" \
		--restore "$T/state" --snapshot-mem "$T/mem2" >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 3
	expect_err "the memory file is truncated"
}

test_snapshot_restored_sandbox_works() {
	cli_env
	local before after
	snap_cli template warm --cpus 2 -m 256 test
	expect_rc 0
	[ "$(wc -l <"$T/out")" -eq 2 ] && [ -f "$(sed -n 1p "$T/out")/state" ] &&
		[ -f "$(sed -n 2p "$T/out")/state" ] && [ -f "$(sed -n 2p "$T/out")/disk" ] ||
		fail "template warm printed $(cat "$T/out")"
	snap_cli run --rm --warm-only --template test --cpus 2 -m 256 -- true
	expect_rc 0
	expect_out ""
	expect_no_stderr
	# Its own disk, kept: written by one run, read back by the next.
	snap_cli run --name w --warm-only --template test --cpus 2 -m 256 -- sh -c 'echo kept >~/note'
	expect_rc 0
	expect_no_stderr
	e2fsck -fn "$AIRLOCK_HOME/sandboxes/w/disk.ext4" >"$T/fsck" 2>&1 ||
		fail "a new sandbox's disk not clean after its first run: $(tail -3 "$T/fsck")"
	before=$(date +%s)
	snap_cli run --name w --warm-only -e GREETING='hi there' -- sh -c \
		'cat ~/note; nproc; grep MemTotal /proc/meminfo; echo "$GREETING"; date +%s'
	after=$(date +%s)
	expect_rc 0
	expect_no_stderr
	[ "$(sed -n 1p "$T/out")" = kept ] || fail "the disk: $(cat "$T/out")"
	[ "$(sed -n 2p "$T/out")" = 2 ] || fail "vCPUs: $(cat "$T/out")"
	# 256 MiB less what the kernel keeps for itself.
	awk '$1 == "MemTotal:" && $2 > 200 * 1024 && $2 <= 256 * 1024 { ok = 1 } END { exit !ok }' \
		"$T/out" || fail "memory: $(sed -n 3p "$T/out")"
	[ "$(sed -n 4p "$T/out")" = "hi there" ] || fail "-e: $(cat "$T/out")"
	local g
	g=$(sed -n 5p "$T/out")
	[ "$g" -ge "$((before - 1))" ] && [ "$g" -le "$((after + 1))" ] ||
		fail "guest time $g, host $before..$after"
	e2fsck -fn "$AIRLOCK_HOME/sandboxes/w/disk.ext4" >"$T/fsck" 2>&1 ||
		fail "sandbox disk not clean after a restored run: $(tail -3 "$T/fsck")"
}

test_snapshot_fresh_entropy_per_sandbox() {
	cli_env
	local i
	for i in 1 2; do
		snap_cli run --rm --warm-only --template test -m 256 -- sh -c \
			'head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n"; echo; cat /proc/sys/kernel/random/uuid'
		expect_rc 0
		cp "$T/out" "$T/rand$i"
	done
	[ "$(wc -l <"$T/rand1")" -eq 2 ] || fail "output: $(cat "$T/rand1")"
	[ "$(sed -n 1p "$T/rand1")" != "$(sed -n 1p "$T/rand2")" ] ||
		fail "two sandboxes read the same /dev/urandom bytes"
	[ "$(sed -n 2p "$T/rand1")" != "$(sed -n 2p "$T/rand2")" ] ||
		fail "two sandboxes got the same UUID"
}

# A new sandbox starts from the snapshot with the disk mounted, on a copy
# of that disk: each its own, the snapshot's never written, clean after,
# and kept for the runs after (which start from the other snapshot).
test_snapshot_new_sandbox_starts_with_its_disk() {
	snap_home
	local s sum n
	snap_cli run --rm --warm-only --template test -m 256 --disk-size 2G -- true
	expect_rc 0
	s=$(grep -l '"stage": 2' "$AIRLOCK_HOME"/snapshots/test-*/key.json | head -1)
	s=${s%/key.json}
	[ -n "$s" ] && [ -f "$s/disk" ] ||
		{ fail "no snapshot with a disk: $(ls "$AIRLOCK_HOME/snapshots")"; return; }
	[ "$(stat -c %s "$s/disk")" -eq $((2 << 30)) ] || fail "its disk: $(stat -c %s "$s/disk") bytes"
	sum=$(stat -c '%y %s %b' "$s/disk")
	for n in a b; do
		snap_cli run --name "$n" --warm-only --template test -m 256 --disk-size 2G -- 			sh -c "echo $n >~/own; grep ' / ' /proc/mounts | cut -d' ' -f3"
		expect_rc 0
		expect_out "overlay"
		expect_no_stderr
		e2fsck -fn "$AIRLOCK_HOME/sandboxes/$n/disk.ext4" >"$T/fsck" 2>&1 ||
			fail "$n's disk not clean after its first run: $(tail -3 "$T/fsck")"
	done
	[ "$(stat -c '%y %s %b' "$s/disk")" = "$sum" ] || fail "a sandbox wrote into the snapshot's disk"
	# The second runs: from the snapshot before the disk, each its own.
	for n in a b; do
		snap_cli run --name "$n" --warm-only -- sh -c 'cat ~/own; cat /proc/sys/kernel/random/uuid'
		expect_rc 0
		expect_no_stderr
		[ "$(sed -n 1p "$T/out")" = "$n" ] || fail "$n's disk: $(cat "$T/out")"
		sed -n 2p "$T/out" >"$T/uuid-$n"
	done
	cmp -s "$T/uuid-a" "$T/uuid-b" && fail "two restored sandboxes got the same UUID"
	[ "$(grep -l '"stage": 1' "$AIRLOCK_HOME"/snapshots/test-*/key.json | wc -l)" -eq 1 ] ||
		fail "snapshots: $(ls "$AIRLOCK_HOME/snapshots")"
}

test_snapshot_disk_as_it_is_now() {
	cli_env
	local disk=$AIRLOCK_HOME/sandboxes/g/disk.ext4
	snap_cli run --name g --warm-only --template test -m 256 --disk-size 1G -- sh -c 'echo one >~/a'
	expect_rc 0
	# Rewritten on the host since, and grown: the guest sees both.
	echo "written on the host" >"$T/hostfile"
	debugfs -w -R "write $T/hostfile upper/hostfile" "$disk" >/dev/null 2>&1 ||
		fail "debugfs could not write into the disk"
	truncate -s 3G "$disk"
	snap_cli run --name g --warm-only -- sh -c 'cat /hostfile ~/a; cat /sys/block/vdb/size'
	expect_rc 0
	expect_out $'written on the host\none\n6291456'
	expect_no_stderr
}

test_snapshot_unusable_is_named_and_booted_around() {
	snap_home
	local d
	snap_cli run --rm --template test -m 256 -- true
	expect_rc 0
	d=$(snap_dir) || { fail "no snapshot made on first use"; return; }
	# One byte changed: named, removed, a cold boot runs the command.
	printf 'X' | dd of="$d/state" bs=1 seek=300 conv=notrunc 2>/dev/null
	snap_cli run --rm --template test -m 256 -- echo ran
	expect_rc 0
	expect_out "ran"
	expect_err "the snapshot .* cannot be used \(damaged: its checksum does not match\): removed; booting instead"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "more than one line: $(cat "$T/err")"
	[ -e "$d" ] && fail "the damaged snapshot was kept"
	# The next run makes it again and starts from it.
	snap_cli run --rm --warm-only --template test -m 256 -- true
	expect_rc 0
	expect_no_stderr
	d=$(snap_dir) || { fail "not made again"; return; }

	# Truncated: --warm-only exits 2 instead of booting.
	truncate -s 5000 "$d/state"
	snap_cli run --rm --warm-only --template test -m 256 -- echo ran
	expect_rc 2
	expect_out ""
	expect_err "cannot be used \(truncated.*\): removed \(--warm-only: no cold boot\)"
	snap_cli run --rm --template test -m 256 -- true
	d=$(snap_dir) || { fail "not made again"; return; }

	# The memory file cut short.
	truncate -s 8192 "$d/memory"
	snap_cli run --rm --template test -m 256 -- echo ran
	expect_rc 0
	expect_out "ran"
	expect_err "the memory file is truncated or of the wrong size\): removed; booting instead"
	snap_cli run --rm --template test -m 256 -- true
	d=$(snap_dir) || { fail "not made again"; return; }

	# Another snapshot's state beside this memory file (same key, as if
	# files were mixed up): its memory file does not belong.
	snap_cli template warm --cpus 1 -m 256 test
	cp "$(sed -n 2p "$T/out")/state" "$d/state"
	snap_cli run --rm --template test -m 256 -- echo ran
	expect_rc 0
	expect_out "ran"
	expect_err "cannot be used \(made for another number of vCPUs\): removed; booting instead"
}

test_snapshot_cold_and_warm_only() {
	snap_home
	# --cold boots and makes no snapshot.
	snap_cli run --rm --cold --template test -m 256 -- echo cold
	expect_rc 0
	expect_out "cold"
	expect_no_stderr
	snap_dir >/dev/null && fail "--cold made a snapshot"
	# --warm-only makes the snapshot on first use, then starts from it.
	snap_cli run --rm --warm-only --template test -m 256 -- echo warm
	expect_rc 0
	expect_out "warm"
	snap_dir >/dev/null || fail "no snapshot after --warm-only"
	# A template that changes gets a snapshot of its own.
	snap_cli run --rm --warm-only --template test -m 300 -- true
	expect_rc 0
	[ "$(ls -d "$AIRLOCK_HOME"/snapshots/test-*/ | wc -l)" -eq 2 ] ||
		fail "snapshots: $(ls "$AIRLOCK_HOME/snapshots")"
}

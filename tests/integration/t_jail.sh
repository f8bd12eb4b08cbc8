# The VMM as `airlock run` starts it, seen from outside: who it runs as,
# what it may do, what it can see. Read from /proc/<vmm>/status, ns/*, root
# and limits while a sandbox runs — as root (the VMM becomes airlock-vmm)
# and as an ordinary user (a user namespace). Sourced by tests/integration/run.

# jail_check USER_LABEL EXPECT_UID EXPECT_USERNS(same|new): checks the VMM
# of the sandbox started by cli_start (whose airlock run is $RUN_PID).
jail_check() {
	local who=$1 want_uid=$2 userns=$3 pid st ns mine theirs tid lim
	pid=$(pgrep -f '^airlock-vmm ' | head -1)
	[ -n "$pid" ] || { fail "$who: no airlock-vmm running"; return; }
	st=/proc/$pid/status
	[ "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "$st")" = "$want_uid $want_uid $want_uid $want_uid" ] ||
		fail "$who: VMM uids: $(grep ^Uid: "$st")"
	grep -q '^Groups:[[:space:]]*$' "$st" || fail "$who: VMM groups: $(grep ^Groups: "$st")"
	for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
		grep -q "^$cap:[[:space:]]*0000000000000000$" "$st" || fail "$who: $(grep "^$cap:" "$st")"
	done
	# Every thread: no_new_privs and a seccomp filter of its own.
	for tid in /proc/$pid/task/*; do
		grep -q '^NoNewPrivs:[[:space:]]*1$' "$tid/status" || fail "$who: thread $tid: no no_new_privs"
		grep -q '^Seccomp:[[:space:]]*2$' "$tid/status" || fail "$who: thread $tid: no seccomp filter"
	done
	# Namespaces of its own (the PID one makes it PID 1 there).
	for ns in mnt net ipc uts pid; do
		mine=$(readlink /proc/self/ns/$ns) theirs=$(readlink /proc/$pid/ns/$ns)
		[ "$mine" != "$theirs" ] || fail "$who: the VMM shares our $ns namespace ($mine)"
	done
	grep -q '^NSpid:.*[[:space:]]1$' "$st" || fail "$who: not PID 1 in its namespace: $(grep ^NSpid: "$st")"
	mine=$(readlink /proc/self/ns/user) theirs=$(readlink /proc/$pid/ns/user)
	if [ "$userns" = same ]; then
		[ "$mine" = "$theirs" ] || fail "$who: the VMM has a user namespace ($theirs)"
	else
		[ "$mine" != "$theirs" ] || fail "$who: the VMM has no user namespace of its own"
	fi
	# Its root is an empty directory: no path leads anywhere.
	[ -z "$(ls -A "/proc/$pid/root/" 2>&1)" ] || fail "$who: the VMM's root is not empty: $(ls -A "/proc/$pid/root/" 2>&1 | head -3)"
	# Limits: open files, address space (guest RAM 256 MiB + at most a few
	# hundred MiB), no core.
	lim=/proc/$pid/limits
	[ "$(awk '/^Max open files/ {print $4}' "$lim")" -le 1024 ] || fail "$who: $(grep 'open files' "$lim")"
	[ "$(awk '/^Max address space/ {print $4}' "$lim")" -le $((1024 << 20)) ] ||
		fail "$who: $(grep 'address space' "$lim")"
	[ "$(awk '/^Max core file size/ {print $5}' "$lim")" = 0 ] || fail "$who: $(grep 'core' "$lim")"
	# Nothing of the host but what it was handed: no directory, no path
	# outside the sandbox folder and the images.
	ls -l "/proc/$pid/fd/" | grep -E -- '-> /' |
		grep -vE "/dev/null|/dev/kvm|/dev/net/tun|$AIRLOCK_HOME/sandboxes/|rootfs.ext4|vmlinux|initramfs|memfd:airlock-guest-ram" &&
		fail "$who: the VMM holds files it was not handed"
	true
}

test_jail_vmm_as_root() {
	[ "$(id -u)" -eq 0 ] || { fail "needs root (the test host runs tests as root)"; return; }
	cli_env
	cli_start jr 'sleep 600' || return
	jail_check root "$(id -u airlock-vmm)" same
	"$CLI" stop -t 0 jr >/dev/null 2>&1
	wait "$RUN_PID"
}

test_jail_vmm_as_user() {
	[ "$(id -u)" -eq 0 ] || { fail "needs root to set up the user"; return; }
	# nobody, with /dev/kvm and /dev/net/tun open to it and a home of its
	# own: what an ordinary user in group kvm has on a distribution that
	# leaves the TUN device open. The images must be readable by it. The
	# devices' modes are put back however the test ends.
	local kvm_mode tun_mode
	kvm_mode=$(stat -c %a /dev/kvm) tun_mode=$(stat -c %a /dev/net/tun)
	chmod 666 /dev/kvm /dev/net/tun
	jail_as_nobody
	chmod "$kvm_mode" /dev/kvm
	chmod "$tun_mode" /dev/net/tun
}

jail_as_nobody() {
	local home=$T/nobody
	rm -rf "$home" && mkdir -p "$home/templates" && chown -R nobody: "$home"
	cp "$KDIR/vmlinux" "$INITRD" "$home/" && chmod 644 "$home/vmlinux" "$home/$(basename "$INITRD")"
	cp -r "$AIRLOCK_TEMPLATE_TEST" "$home/templates/test"
	chmod o+x "$T"
	setpriv --reuid=nobody --regid=nogroup --clear-groups env AIRLOCK_HOME="$home" \
		AIRLOCK_VMM="$VMM" AIRLOCK_INITRD="$home/$(basename "$INITRD")" \
		AIRLOCK_KERNEL="$home/vmlinux" HOME="$home" \
		"$CLI" run --name ju --template test -m 256 -- sh -c 'echo up; sleep 600' \
		</dev/null >"$T/run.out" 2>"$T/run.err" &
	RUN_PID=$!
	for _ in $(seq 1 600); do
		grep -q up "$T/run.out" 2>/dev/null && break
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -q up "$T/run.out" || { fail "the sandbox of nobody did not come up: $(cat "$T/run.err")"; return; }
	AIRLOCK_HOME=$home jail_check nobody "$(id -u nobody)" new
	setpriv --reuid=nobody --regid=nogroup --clear-groups env AIRLOCK_HOME="$home" \
		"$CLI" stop -t 0 ju >/dev/null 2>"$T/stop.err" || fail "stop as nobody: $(cat "$T/stop.err")"
	wait "$RUN_PID"
}

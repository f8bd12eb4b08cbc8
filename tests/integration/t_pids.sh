# The pids limit (airlock run --pids-limit, guest/pids.c): each command runs
# in a cgroup of its own whose pids.max is the limit (4096 by default), so a
# fork bomb in one command leaves the sandbox usable to `airlock exec`.
# Sourced by tests/integration/run.

# pids_of_self: what a command in the guest reads as its own cgroup's limit.
PIDS_OF_SELF='cat "/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/pids.max"; cut -d: -f3 /proc/self/cgroup'

test_pids_limit_applies_to_each_command() {
	cli_env
	timeout -k 5 "$GUEST_TIMEOUT" "$CLI" run --rm --template test -m 256 -- sh -c "$PIDS_OF_SELF" \
		</dev/null >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 0
	[ "$(head -1 "$T/out")" = 4096 ] || fail "default pids.max: $(cat "$T/out" "$T/err")"
	[[ $(sed -n 2p "$T/out") =~ ^/airlock-cmd-[0-9]+$ ]] || fail "cgroup: $(cat "$T/out")"
	timeout -k 5 "$GUEST_TIMEOUT" "$CLI" run --rm --template test -m 256 --pids-limit 50 -- \
		sh -c "$PIDS_OF_SELF" </dev/null >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 0
	[ "$(head -1 "$T/out")" = 50 ] || fail "--pids-limit 50: $(cat "$T/out" "$T/err")"
	# The limit holds: with 50, starting 60 sleeps fails part way.
	timeout -k 5 "$GUEST_TIMEOUT" "$CLI" run --rm --template test -m 256 --pids-limit 50 -- \
		sh -c 'n=0; while [ $n -lt 60 ]; do sleep 30 </dev/null >/dev/null 2>&1 & n=$((n+1)); done; echo started' \
		</dev/null >"$T/out" 2>"$T/err"
	RC=$?
	grep -q "can't fork\|Resource temporarily unavailable" "$T/err" ||
		fail "60 processes started under a limit of 50: rc $RC, $(cat "$T/out") $(head -c 300 "$T/err")"
	# Bad values are named.
	al run --rm --template test --pids-limit 0 -- true </dev/null
	expect_rc 125
	expect_err "--pids-limit '0'"
	al run --rm --template test --pids-limit lots -- true </dev/null
	expect_rc 125
	expect_err "--pids-limit 'lots'"
}

test_pids_fork_bomb_leaves_exec_usable() {
	cli_env
	# The classic bomb, under a limit of 1024: its cgroup fills, it keeps
	# forking and failing, and every vCPU is busy with it. The command's own
	# shell then waits without forking (exec): it shares the bomb's cgroup,
	# and a shell that cannot fork ends (status 2), and the run with it.
	cli_start bomb 'while [ ! -e /tmp/go ]; do sleep 0.2; done; b() { b | b & }; b; exec sleep 100000' \
		-m 512 --pids-limit 1024
	[ "$CUR_FAIL" -eq 0 ] || return
	# How long an exec takes here without a bomb (the machine may be busy).
	local i t0 t1 base=0 ms procs refused
	for i in 1 2 3; do
		t0=$(date +%s%N)
		al exec bomb -- true
		t1=$(date +%s%N)
		ms=$(((t1 - t0) / 1000000))
		[ "$ms" -gt "$base" ] && base=$ms
	done
	al exec bomb -- touch /tmp/go
	# Until the bomb's cgroup is full and refusing forks (slow under
	# emulation), as another command sees it: "processes refused".
	local bombcg='for d in /sys/fs/cgroup/airlock-cmd-*; do
		[ "$(cat $d/pids.max)" = 1024 ] && [ "$(cat $d/pids.current)" -gt 10 ] &&
			echo "$(cat $d/pids.current) $(sed -n "s/^max //p" $d/pids.events)"; done | head -1'
	for i in $(seq 120); do
		al exec bomb -- sh -c "$bombcg"
		[[ $(cat "$T/out") =~ ^[0-9]+\ [1-9][0-9]*$ ]] && break
		sleep 1
	done
	read -r procs refused <"$T/out"
	echo "#   after ${i} s: the bomb's cgroup holds ${procs:-?} processes, ${refused:-?} forks refused"
	[ "${refused:-0}" -gt 0 ] || fail "the bomb never reached its limit: $(cat "$T/out" "$T/err")"
	[ "${procs:-9999}" -le 1024 ] || fail "the bomb holds ${procs:-?} processes"
	# Now, with the bomb at its limit and every vCPU busy: exec answers,
	# and another command forks freely in its own cgroup.
	sleep 3
	t0=$(date +%s%N)
	al exec bomb -- true
	t1=$(date +%s%N)
	expect_rc 0
	[ "$RC" -eq 0 ] || fail "the sandbox under the bomb; its console: $(tail -15 \
		"$AIRLOCK_HOME/sandboxes/bomb/console.log" 2>/dev/null); run: $(tail -5 "$T/run.err")"
	ms=$(((t1 - t0) / 1000000))
	echo "#   airlock exec bomb -- true: ${base} ms before the bomb (slowest of 3), ${ms} ms with the bomb at its limit"
	# A few seconds; more only if this machine is slow already.
	[ "$ms" -lt 10000 ] || [ "$ms" -lt $((10 * base)) ] ||
		fail "exec took $ms ms under the bomb (${base} ms without)"
	al exec bomb -- sh -c 'echo forked | cat; ls / | wc -l'
	expect_rc 0
	grep -qx forked "$T/out" || fail "a pipe in another command: $(cat "$T/out" "$T/err")"
	al exec bomb -- sh -c "$bombcg"
	read -r procs refused <"$T/out"
	[ "${procs:-9999}" -le 1024 ] || fail "the bomb holds ${procs:-?} processes"
	# The sandbox stops: SIGTERM, then power-off (init kills the bomb). Under
	# emulation that can outlast `airlock stop`'s patience (it then kills
	# `airlock run`), so the time is reported, not judged; a sandbox that
	# powered off has a clean disk.
	t0=$(date +%s%N)
	al stop -t 2 bomb
	expect_rc 0
	wait "$RUN_PID" 2>/dev/null
	RC=$?
	t1=$(date +%s%N)
	echo "#   airlock stop -t 2: $(((t1 - t0) / 1000000)) ms, airlock run ended $RC"
	if [ "$RC" -ne 137 ]; then
		e2fsck -fn "$AIRLOCK_HOME/sandboxes/bomb/disk.ext4" >"$T/fsck" 2>&1 ||
			fail "disk not clean after the bomb: $(tail -3 "$T/fsck")"
	fi
}

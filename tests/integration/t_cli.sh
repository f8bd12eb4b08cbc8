# The airlock command end to end: `airlock run` boots a sandbox on the test
# template, runs the command over the exec channel and stops it; sandboxes
# persist, are listed and removed; bad input is named. Sourced by
# tests/integration/run.

# al ARGS...: runs airlock with stdin from /dev/null unless redirected;
# sets RC and $T/out, $T/err like vmm.
al() {
	timeout -k 5 "$GUEST_TIMEOUT" "$CLI" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}

# run_t ARGS... -- CMD: `airlock run` on the test template, 256 MiB.
run_t() { al run --template test -m 256 "$@" </dev/null; }

test_cli_run_exit_statuses() {
	cli_env
	run_t --name s -- true; expect_rc 0; expect_out ""
	run_t --name s -- false; expect_rc 1
	run_t --name s -- sh -c 'exit 42'; expect_rc 42
	run_t --name s -- sh -c 'kill -KILL $$'; expect_rc 137
	run_t --name s -- no-such-command; expect_rc 127
	expect_err "airlock: cannot run 'no-such-command': No such file or directory"
	run_t --name s -- /etc/passwd; expect_rc 126
}

test_cli_run_stdio() {
	cli_env
	# stdout and stderr apart, binary bytes intact, stdin delivered to its end.
	head -c 300000 /dev/urandom >"$T/in"
	timeout -k 5 "$GUEST_TIMEOUT" "$CLI" run --rm --template test -m 256 -- \
		sh -c 'cat; echo to-stderr >&2' <"$T/in" >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 0
	cmp -s "$T/in" "$T/out" || fail "stdin did not come back intact: $(wc -c <"$T/out") bytes"
	[ "$(cat "$T/err")" = "to-stderr" ] || fail "stderr: $(head -c 300 "$T/err")"
}

test_cli_run_env_only_what_is_named() {
	cli_env
	SECRET_ON_HOST=leak OTHER=2 run_t --rm -e A=1 -e 'B=x y=z' -e OTHER -e UNSET_HERE -- env
	expect_rc 0
	grep -qx 'A=1' "$T/out" || fail "A=1 missing: $(cat "$T/out")"
	grep -qx 'B=x y=z' "$T/out" || fail "B missing"
	grep -qx 'OTHER=2' "$T/out" || fail "-e OTHER did not pass the host's value"
	grep -q 'SECRET_ON_HOST\|UNSET_HERE\|AIRLOCK_' "$T/out" && fail "host variables got in: $(cat "$T/out")"
	# Exactly the guest's own login environment plus what was named.
	sed 's/=.*//' "$T/out" | sort | tr '\n' ' ' >"$T/keys"
	[ "$(cat "$T/keys")" = "A B HOME LANG LOGNAME OTHER PATH SHELL TERM USER " ] ||
		fail "unexpected variables: $(cat "$T/keys")"
	grep -qx 'USER=agent' "$T/out" || fail "not run as agent"
}

# What the guest sees of its memory (MiB) and vCPUs.
MEM_CPUS='echo "$(awk "/^MemTotal:/ { print int(\$2 / 1024) }" /proc/meminfo) $(nproc)"'

test_cli_sandbox_persists_and_is_listed() {
	cli_env
	run_t --name keep -- sh -c 'echo kept >~/note; mkdir -p ~/d && echo x >~/d/y; rm ~/d/y'
	expect_rc 0
	# Another boot of the same sandbox finds it; -m and --cpus apply; its
	# console log is that boot's alone.
	echo "from an earlier boot" >>"$AIRLOCK_HOME/sandboxes/keep/console.log"
	al run --name keep -m 300 --cpus 1 -- sh -c 'cat ~/note; ls -A ~/d; nproc' </dev/null
	expect_rc 0
	expect_out $'kept\n1'
	# The guest has the memory and vCPUs asked for (MemTotal is what is
	# left after the kernel's own: within 64 MiB below), and they are
	# remembered for the next run.
	local mem cpus
	al run --name keep -m 384 --cpus 2 -- sh -c "$MEM_CPUS" </dev/null
	expect_rc 0
	read -r mem cpus <"$T/out"
	[ "${cpus:-0}" -eq 2 ] || fail "--cpus 2: the guest has ${cpus:-?} vCPUs"
	[ "${mem:-0}" -le 384 ] && [ "${mem:-0}" -gt 320 ] || fail "-m 384: MemTotal ${mem:-?} MiB"
	al run --name keep -- sh -c "$MEM_CPUS" </dev/null
	read -r mem cpus <"$T/out"
	[ "${cpus:-0}" -eq 2 ] && [ "${mem:-0}" -gt 320 ] && [ "${mem:-0}" -le 384 ] ||
		fail "not remembered: ${mem:-?} MiB, ${cpus:-?} vCPUs"
	al run --name keep -m 300 --cpus 1 -- sh -c "$MEM_CPUS" </dev/null
	read -r mem cpus <"$T/out"
	[ "${cpus:-0}" -eq 1 ] && [ "${mem:-0}" -le 300 ] && [ "${mem:-0}" -gt 236 ] ||
		fail "-m 300 --cpus 1: ${mem:-?} MiB, ${cpus:-?} vCPUs"
	grep -q "from an earlier boot" "$AIRLOCK_HOME/sandboxes/keep/console.log" &&
		fail "console.log kept an earlier boot's lines"
	al ls
	expect_rc 0
	grep -qE '^keep +test +stopped +300M +1 ' "$T/out" || fail "ls: $(cat "$T/out")"
	al ls --json
	expect_rc 0
	[ "$(jq -r '.[0].name + " " + .[0].status + " " + (.[0].memory_mib|tostring)' "$T/out")" = \
		"keep stopped 300" ] || fail "ls --json: $(cat "$T/out")"
	e2fsck -fn "$AIRLOCK_HOME/sandboxes/keep/disk.ext4" >"$T/fsck" 2>&1 ||
		fail "sandbox disk not clean after the run: $(tail -3 "$T/fsck")"
	# Sparse: a 16 GiB disk takes a few MiB here.
	[ "$(du -k "$AIRLOCK_HOME/sandboxes/keep/disk.ext4" | cut -f1)" -lt 65536 ] ||
		fail "disk not sparse: $(du -h "$AIRLOCK_HOME/sandboxes/keep/disk.ext4")"
	al rm keep
	expect_rc 0
	[ -e "$AIRLOCK_HOME/sandboxes/keep" ] && fail "rm left the folder"
	al rm keep
	expect_rc 1
	expect_err "no sandbox 'keep'"
}

test_cli_default_sandbox_is_the_folders() {
	cli_env
	mkdir -p "$T/proj a" "$T/other/proj a"
	cd "$T/proj a" || return
	run_t -- sh -c 'echo one >~/f'
	expect_rc 0
	al run -- cat /home/agent/f </dev/null
	expect_rc 0
	expect_out "one"
	# A folder of the same name elsewhere is another sandbox.
	cd "$T/other/proj a" || return
	run_t -- sh -c 'cat ~/f 2>/dev/null || echo none'
	expect_out "none"
	cd "$ROOT" || return
	al ls
	[ "$(grep -c '^proj-a-[0-9a-f]\{6\} ' "$T/out")" -eq 2 ] || fail "ls: $(cat "$T/out")"
}

test_cli_rm_flag_leaves_nothing() {
	cli_env
	run_t --rm -- sh -c 'echo hi'
	expect_rc 0
	expect_out "hi"
	[ -z "$(ls -A "$AIRLOCK_HOME/sandboxes")" ] || fail "left: $(ls "$AIRLOCK_HOME/sandboxes")"
	run_t --rm -- false
	expect_rc 1
	[ -z "$(ls -A "$AIRLOCK_HOME/sandboxes")" ] || fail "left after a failing command"
	# --rm returns before the kernel has freed the VM and its helpers,
	# but none of them runs on: within moments nothing is left but what
	# init reaps.
	local i left
	for i in $(seq 1 30); do
		left=$(ps -eo stat=,comm= | awk '$1 !~ /^Z/ && $2 ~ /^airlock-(vmm|gateway|sync)$/')
		[ -z "$left" ] && break
		sleep 0.1
	done
	[ -z "$left" ] || fail "still running 3 s after --rm: $left"
}

test_cli_running_sandbox_is_locked_and_exec_reaches_it() {
	cli_env
	cli_start live 'i=0; while [ ! -e /tmp/done ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo main-done'
	local i
	al ls
	grep -qE '^live +test +running' "$T/out" || fail "ls while running: $(cat "$T/out")"
	run_t --name live -- true
	expect_rc 125
	expect_err "sandbox 'live' is running already"
	al rm live
	expect_rc 1
	expect_err "sandbox 'live' is running"
	# Four commands at once in the running sandbox, each its own output.
	for i in 1 2 3 4; do
		"$CLI" exec -e N=$i live -- sh -c 'sleep 1; echo "exec $N as $(id -un)"; exit $N' \
			</dev/null >"$T/e$i.out" 2>&1 &
	done
	for i in 1 2 3 4; do
		wait %$((i + 1))
		RC=$?
		expect_rc "$i"
		[ "$(cat "$T/e$i.out")" = "exec $i as agent" ] || fail "exec $i: $(cat "$T/e$i.out")"
	done
	al exec live -- touch /tmp/done
	wait "$RUN_PID"
	RC=$?
	expect_rc 0
	[ "$(cat "$T/run.out")" = "main-done" ] || fail "main: $(cat "$T/run.out" "$T/run.err")"
	al exec live -- true
	expect_rc 125
	expect_err "sandbox 'live' is not running"
}

test_cli_stop_ends_a_running_sandbox() {
	cli_env
	# The command gets SIGTERM; airlock run ends with its status.
	cli_start st 'trap "echo got TERM; exit 7" TERM; while :; do sleep 0.1; done'
	al stop st
	expect_rc 0
	expect_out "st"
	wait "$RUN_PID" 2>/dev/null
	RC=$?
	expect_rc 7
	[ "$(cat "$T/run.out")" = "got TERM" ] || fail "run: $(cat "$T/run.out" "$T/run.err")"
	al ls
	grep -qE '^st +test +stopped' "$T/out" || fail "ls after stop: $(cat "$T/out")"
	e2fsck -fn "$AIRLOCK_HOME/sandboxes/st/disk.ext4" >"$T/fsck" 2>&1 ||
		fail "disk not clean after stop: $(tail -3 "$T/fsck")"
	# A stopped sandbox stays as it is; an unknown one is named.
	al stop st
	expect_rc 0
	expect_out "st"
	al stop st nope
	expect_rc 1
	expect_err "no sandbox 'nope'"
	al stop
	expect_rc 2
	al stop -t x st
	expect_rc 2
	expect_err "-t 'x'"

	# A command that ignores SIGTERM: after -t the guest is powered off,
	# its disk left clean.
	cli_start st 'trap "" TERM; while :; do sleep 0.1; done'
	al stop -t 1 st
	expect_rc 0
	wait "$RUN_PID" 2>/dev/null
	RC=$?
	[ "$RC" -ne 0 ] || fail "airlock run of a powered-off sandbox exited 0"
	grep -q "ended before the command did" "$T/run.err" || fail "run: $(cat "$T/run.err")"
	grep -q "did not stop by itself" "$T/run.err" && fail "run killed a VM that was powering off: $(cat "$T/run.err")"
	e2fsck -fn "$AIRLOCK_HOME/sandboxes/st/disk.ext4" >"$T/fsck" 2>&1 ||
		fail "disk not clean after power-off: $(tail -3 "$T/fsck")"

	# A guest that cannot answer (its VMM frozen): its supervisor kills the
	# VMM; airlock run says the VM stopped under the command.
	cli_start st 'trap "" TERM; while :; do sleep 0.1; done'
	local vmm sup
	vmm=$("$CLI" ls --json | jq -r '.[] | select(.name == "st") | .vmm_pid')
	[ -n "$vmm" ] && [ "$vmm" != null ] || fail "ls --json names no VMM: $("$CLI" ls --json)"
	kill -STOP "$vmm"
	al stop -t 1 st
	expect_rc 0
	wait "$RUN_PID" 2>/dev/null
	RC=$?
	expect_rc 125
	grep -q "ended before the command did" "$T/run.err" || fail "run: $(cat "$T/run.err")"
	kill -0 "$vmm" 2>/dev/null && { kill -KILL "$vmm"; fail "the VMM outlived its stop"; }

	# A supervisor that cannot answer (frozen): airlock stop kills it,
	# and its VMM goes with it.
	cli_start st 'sleep 600'
	vmm=$("$CLI" ls --json | jq -r '.[] | select(.name == "st") | .vmm_pid')
	sup=$("$CLI" ls --json | jq -r '.[] | select(.name == "st") | .pid')
	[ -n "$sup" ] && [ "$sup" != null ] || fail "ls --json names no supervisor"
	kill -STOP "$sup"
	al stop -t 1 st
	expect_rc 0
	wait "$RUN_PID" 2>/dev/null
	RC=$?
	expect_rc 137
	sleep 0.5
	kill -0 "$vmm" 2>/dev/null && { kill -KILL "$vmm"; fail "the VMM outlived its airlock run"; }
	al rm st
	expect_rc 0
}

test_cli_interactive_login_shell() {
	cli_env
	# No command and a terminal: the user's login shell on a PTY; typing,
	# resizing and ^C as exec_pty.py does them.
	TERM=xterm timeout 180 python3 "$ROOT/tests/integration/exec_pty.py" \
		"$CLI" run --rm --template test -m 256 >"$T/out" 2>&1
	RC=$?
	expect_rc 0
	[ "$RC" -eq 0 ] || fail "$(cat "$T/out")"
}

test_cli_bad_input_is_named() {
	cli_env
	run_t --bogus -- true; expect_rc 125; expect_err "unknown option '--bogus'"
	run_t -m 0 -- true; expect_rc 125; expect_err "--memory '0'"
	run_t -m 12X -- true; expect_rc 125; expect_err "--memory '12X'"
	run_t --cpus 0 -- true; expect_rc 125; expect_err "--cpus '0'"
	run_t --cpus 65 -- true; expect_rc 125; expect_err "--cpus '65'"
	run_t --name ../x -- true; expect_rc 125; expect_err "--name '../x'"
	run_t --name s -e =x -- true; expect_rc 125; expect_err "-e '=x'"
	run_t -w relative -- true; expect_rc 125; expect_err "--workdir 'relative'"
	al run --template no-such -m 256 -- true </dev/null
	expect_rc 125
	expect_err "no template 'no-such'"
	AIRLOCK_KERNEL=$T/nope al run --template test -m 256 -- true </dev/null
	expect_rc 125
	expect_err "no guest kernel at .*nope"
	al frobnicate; expect_rc 2; expect_err "unknown command 'frobnicate'"
	al rm; expect_rc 2
	al ls --bogus; expect_rc 2
	# None of that left a sandbox behind.
	[ -z "$(ls -A "$AIRLOCK_HOME/sandboxes" 2>/dev/null)" ] ||
		fail "sandboxes left: $(ls "$AIRLOCK_HOME/sandboxes")"
	# Another template for an existing sandbox is refused, naming both.
	run_t --name s -- true
	mkdir -p "$T/t2" && cp "$AIRLOCK_TEMPLATE_TEST"/* "$T/t2/"
	al run --name s --template "$T/t2" -- true </dev/null
	expect_rc 125
	expect_err "sandbox 's' was made from template 'test'"
	# A guest user that does not exist: the command never ran.
	run_t --name s -u nobody-here -- true
	expect_rc 125
	expect_err "nobody-here"
}

test_cli_vm_failure_is_reported() {
	cli_env
	run_t --name broken -- true
	expect_rc 0
	# A sandbox disk that is not ext4 any more: airlock-init cannot mount it;
	# the VMM's own words reach the user and nothing hangs.
	head -c 1M /dev/zero | dd of="$AIRLOCK_HOME/sandboxes/broken/disk.ext4" conv=notrunc 2>/dev/null
	al run --name broken -- true </dev/null
	expect_rc 125
	expect_err "VM stopped before the command could run"
	expect_err "sandbox disk"
}

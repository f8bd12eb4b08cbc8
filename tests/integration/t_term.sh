# The user's terminal is the user's: what the guest prints passes the
# terminal filter (lib/termfilter.h) on its way to a terminal, every mode it
# switched on is switched off however the session ends, answers still on
# their way are not left for the user's shell, ~. and a second SIGINT get
# the user out, and pipes stay byte-exact. Through a real PTY whose other
# end is a terminal model (term_pty.py, pyte). Sourced by
# tests/integration/run.

# term SCENARIO [ARG]: term_pty.py with `airlock run` on the test template.
term() {
	TERM=xterm timeout -k 5 300 /usr/bin/python3 "$ROOT/tests/integration/term_pty.py" \
		"$@" "$CLI" run --rm --template test -m 256 -- >"$T/out" 2>&1
	RC=$?
	[ "$RC" -eq 0 ] || fail "$(tail -c 3000 "$T/out")"
}

test_term_filter_drops_dangerous_sequences() {
	cli_env
	term filter
}

test_term_reset_after_the_command_is_killed() {
	cli_env
	term reset kill
}

test_term_tilde_dot_ends_a_session_that_ignores_signals() {
	cli_env
	term reset tilde
}

test_term_second_sigint_ends_a_session_that_ignores_signals() {
	cli_env
	term reset sigint
}

test_term_answers_in_flight_are_drained() {
	cli_env
	term drain
}

test_term_less_draws_as_it_does_here() {
	cli_env
	term fullscreen less
}

test_term_vi_draws_as_it_does_here() {
	cli_env
	term fullscreen vi
}

test_term_top_draws() {
	cli_env
	term fullscreen top
}

test_term_pipes_and_files_stay_byte_exact() {
	cli_env
	local fmt='' i
	# Every byte value, and the sequences the filter drops on a terminal.
	for i in $(seq 0 255); do fmt+=$(printf '\\%03o' "$i"); done
	fmt+='\033]52;c;eA==\007\033P$qm\033\\\233\0621t\302\235\0652;c;x\302\234'
	printf "$fmt" >"$T/want"
	timeout -k 5 "$GUEST_TIMEOUT" "$CLI" run --rm --template test -m 256 -T -- \
		printf "$fmt" </dev/null >"$T/got" 2>"$T/err"
	RC=$?
	expect_rc 0
	cmp "$T/want" "$T/got" || fail "pipe output changed: $(od -c "$T/got" | head -5)"
	# A TTY session whose stdout is a file: the guest's PTY turns \n into
	# \r\n, nothing else touches it.
	timeout -k 5 "$GUEST_TIMEOUT" "$CLI" run --rm --template test -m 256 -t -- \
		printf '\033]52;c;eA==\007\233\0621t' </dev/null >"$T/got" 2>"$T/err"
	RC=$?
	expect_rc 0
	printf '\033]52;c;eA==\007\233\0621t' | cmp - "$T/got" ||
		fail "file output of a TTY session changed: $(od -c "$T/got" | head -5)"
}

test_term_tilde_dot_ends_a_session_whose_vm_is_frozen() {
	cli_env
	term reset frozen
}

# A guest line that looks like a panic, with escape sequences in it, then a
# reset without an exit status (a second later, so the console has
# written the line out): airlock-vmm quotes it, escaped; and
# airlock run, showing vmm.log, escapes what it shows again.
FAKE_PANIC='printf "Kernel panic - not syncing: \033]52;c;eA==\007\233\0621t \302\2332J end\n" >/dev/console; sleep 1; echo b >/proc/sysrq-trigger; sleep 10'
WANT_PANIC='guest kernel panicked: Kernel panic - not syncing: \x1b]52;c;eA==\x07\x9b21t \u009b2J end'

test_term_guest_text_in_messages_is_escaped() {
	vmm -- sh -c "$FAKE_PANIC"
	expect_rc 125
	grep -qF -- "$WANT_PANIC" "$T/err" || fail "vmm: $(od -c "$T/err" | head -20)"
	LC_ALL=C grep -q $'[\x1b\x80-\x9f]' "$T/err" && fail "raw escapes on stderr: $(od -c "$T/err" | head)"
	cli_env
	al run --rm --template test -m 256 -u 0 -- sh -c "$FAKE_PANIC" </dev/null
	expect_rc 125
	expect_err "VM.*(stopped while the command ran|ended with status)"
	grep -qF -- "$WANT_PANIC" "$T/err" || fail "airlock: $(cat -v "$T/err" | head -20)"
	LC_ALL=C grep -q $'[\x1b\x80-\x9f]' "$T/err" && fail "raw escapes on stderr: $(od -c "$T/err" | head)"
}

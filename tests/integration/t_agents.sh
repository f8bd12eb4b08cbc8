# The four agents end to end: `airlock run AGENT -- <unattended prompt>` in a
# project folder, each agent's real CLI from its template, against a
# stand-in for its API (agents/standin.py) that the gateway's test-only name
# map puts behind the agent's real API host, with a test CA trusted in the
# guest for that run only. Each test checks that
#   - the agent ran with its permission prompts off (its command line or
#     environment in the guest, and the stand-in got the tool's success),
#   - the file the stand-in had it write came back to the host through sync,
#   - the gateway log shows its API host allowed and nothing else reached,
#   - a request from inside to a host outside the preset was refused (and
#     the API host, from the same sandbox, was reachable).
# The CLIs themselves are proven against the same stand-ins without a VM by
# tests/integration/agents/offline (docs/agents.md).
#
# What they use of the workspace sync and the gateway is in the two
# functions below. Sourced by tests/integration/run.

# shellcheck source=tests/integration/agents/agents.sh
source "$ROOT/tests/integration/agents/agents.sh"

# A name the name map sends to the stand-in too, but no preset allows: if
# the gateway let it through, the stand-in would log it.
AGENT_DENIED_HOST=denied.airlock.test

# --- what these tests assume of sync and the gateway -------------------------

# gateway_name_map FILE HOST...: the gateway's test-only name map
# (docs/network.md: AIRLOCK_TEST_NAME_MAP=FILE, lines "NAME ADDRESS"), as
# the environment of `airlock run`, sending each HOST to the stand-in on
# this machine ($AGENT_STANDIN_ADDR:443). The policy still applies to the
# address: the run allows that one loopback address (a CIDR rule), which
# makes no name resolvable that the preset does not name.
AGENT_STANDIN_ADDR=127.0.0.1
gateway_name_map() {
	local file=$1 h
	shift
	for h in "$@"; do printf '%s %s\n' "$h" "$AGENT_STANDIN_ADDR"; done >"$file"
	printf 'AIRLOCK_TEST_NAME_MAP=%s\n' "$file"
}

# policy_decisions NAME: one line per DNS or TCP decision of sandbox NAME's
# gateway, "allow|deny|error NAME PORT" (PORT "-" for DNS), from `airlock
# policy log NAME --json` (JSON lines, docs/network.md).
policy_decisions() {
	"$CLI" policy log "$1" --json 2>/dev/null | jq -r '
		select(.kind == "dns" or .kind == "tcp")
		| [ .action, (.name // "-"), ((.port // "-") | tostring) ] | @tsv' | tr '\t' ' '
}

# --- the test ----------------------------------------------------------------

# agent_e2e AGENT
agent_e2e() {
	local agent=$1 var tpl proj=$T/proj-$1 sb=e2e-$1 ca=$T/ca-$1 log=$T/api-$1.log
	local hosts=() argv=() flag api_host i standin rc got
	cli_env
	var=AIRLOCK_TEMPLATE_${agent^^}
	tpl=${!var:-}
	if [ -z "$tpl" ] || [ ! -f "$tpl/rootfs.ext4" ]; then
		fail "no $agent template: rootfs/build $agent (as root, with the network) before the tests"
		return
	fi
	ln -s "$tpl" "$AIRLOCK_HOME/templates/$agent"

	# The project: a git repository, plus the test CA for this run only.
	mapfile -t hosts < <(preset_hosts "$agent")
	api_host=${hosts[0]}
	"$ROOT/tests/integration/agents/testca" "$ca" "${hosts[@]}" "$AGENT_DENIED_HOST" ||
		{ fail "testca failed"; return; }
	mkdir -p "$proj"
	printf 'hello\n' >"$proj/README"
	cp "$ca/ca.pem" "$proj/.airlock-test-ca.pem"
	cp "$ca/bundle.pem" "$proj/.airlock-test-bundle.pem"
	git -C "$proj" init -q && git -C "$proj" add -A &&
		git -C "$proj" -c user.name=t -c user.email=t@t.invalid commit -qm init ||
		{ fail "cannot make the project repository"; return; }

	python3 "$ROOT/tests/integration/agents/standin.py" --api "$(standin_api "$agent")" \
		--cert "$ca/server.pem" --key "$ca/server.key" --log "$log" --dir "$proj" \
		--file "$AGENT_FILE" --content "$AGENT_CONTENT" --hold "$T/hold-$agent" \
		--listen "$AGENT_STANDIN_ADDR:443" >"$T/standin.out" 2>&1 &
	standin=$!
	for i in $(seq 50); do grep -q ready "$T/standin.out" 2>/dev/null && break; sleep 0.1; done
	grep -q ready "$T/standin.out" || { fail "the stand-in did not start: $(cat "$T/standin.out")"; return; }

	# airlock run AGENT -- <unattended arguments>, from the project folder.
	mapfile -t argv < <(jq -r --arg p "$AGENT_PROMPT" \
		'.unattended[] | if . == "{prompt}" then $p else . end' "$PRESETS/$agent.json")
	(cd "$proj" && env "$(gateway_name_map "$T/map-$agent" "${hosts[@]}" "$AGENT_DENIED_HOST")" \
		timeout -k 5 900 "$CLI" run --name "$sb" -m 1536 --allow "$AGENT_STANDIN_ADDR/32" \
		-e "$(jq -r '.credentials[0].env' "$PRESETS/$agent.json")=airlock-test-key-not-secret" \
		-e "NODE_EXTRA_CA_CERTS=$proj/.airlock-test-ca.pem" \
		-e "SSL_CERT_FILE=$proj/.airlock-test-bundle.pem" \
		"$agent" -- "${argv[@]}") </dev/null >"$T/run.out" 2>"$T/run.err" &
	RUN_PID=$!

	# While the stand-in holds its tool call: look into the sandbox.
	for i in $(seq 600); do
		[ -e "$T/hold-$agent.waiting" ] && break
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.5
	done
	if [ ! -e "$T/hold-$agent.waiting" ]; then
		fail "$agent never asked its API for a turn: $(tail -c 800 "$T/run.err"); stand-in: $(tail -5 "$log" 2>/dev/null)"
	else
		# Permission prompts off: the switch is on the agent's command line
		# or in its environment.
		flag=$(jq -r '(.permissions_off.args + .permissions_off.env)[0]' "$PRESETS/$agent.json")
		al exec "$sb" -- sh -c 'for p in /proc/[0-9]*; do
			tr "\0" " " <$p/cmdline 2>/dev/null; echo; tr "\0" "\n" <$p/environ 2>/dev/null; done'
		grep -qF -- "$flag" "$T/out" || fail "$agent runs without '$flag'"
		# A host outside the preset is refused; its API host answers.
		al exec "$sb" -- curl -sS -m 30 -o /dev/null "https://$AGENT_DENIED_HOST/"
		[ "$RC" -ne 0 ] || fail "https://$AGENT_DENIED_HOST/ was reachable from the sandbox"
		al exec "$sb" -- curl -sS -m 30 -o /dev/null -w '%{http_code}' \
			--cacert "$proj/.airlock-test-ca.pem" "https://$api_host/airlock-e2e-probe"
		[ "$(cat "$T/out")" = 404 ] || fail "https://$api_host/ from the sandbox: rc $RC, $(cat "$T/out" "$T/err")"
	fi
	touch "$T/hold-$agent"
	wait "$RUN_PID"
	rc=$?
	kill "$standin" 2>/dev/null
	wait "$standin" 2>/dev/null

	[ "$rc" -eq 0 ] || fail "airlock run $agent exited $rc: $(tail -c 1500 "$T/run.err")"
	grep -qF "$AGENT_DONE" "$T/run.out" || fail "no final message: $(tail -c 600 "$T/run.out")"
	# The edit came back to the host through sync.
	got=$(cat "$proj/$AGENT_FILE" 2>/dev/null)
	[ "$got" = "$AGENT_CONTENT" ] || fail "$proj/$AGENT_FILE on the host holds '$got'"
	# The stand-in: a tool call, then its result (not a refusal), from the
	# API host's name only.
	jq -s -e 'any(.[]; .answer | startswith("tool_call:"))' "$log" >/dev/null 2>&1 ||
		fail "the stand-in never sent the tool call: $(cat "$log" 2>/dev/null)"
	jq -r 'select(.answer == "final") | .tool_result' "$log" 2>/dev/null >"$T/result"
	[ -s "$T/result" ] || fail "the tool's result never came back to the stand-in"
	grep -qiE "permission|not allowed|denied|rejected|blocked" "$T/result" &&
		fail "the tool was refused: $(cat "$T/result")"
	jq -r '.host' "$log" | sed 's/:443$//' | sort -u >"$T/asked"
	grep -qxF "$AGENT_DENIED_HOST" "$T/asked" && fail "$AGENT_DENIED_HOST reached the stand-in"
	# The gateway: the API host allowed, no other name allowed, the
	# denied name refused.
	policy_decisions "$sb" >"$T/decisions"
	grep -q "^allow $api_host " "$T/decisions" ||
		fail "the gateway log has no allowed $api_host: $(cat "$T/decisions")"
	grep -q "^deny $AGENT_DENIED_HOST " "$T/decisions" ||
		fail "the gateway log has no refused $AGENT_DENIED_HOST: $(cat "$T/decisions")"
	while read -r decision host _; do
		[ "$decision" = allow ] || continue
		printf '%s\n' "${hosts[@]}" | grep -qxF "$host" ||
			fail "the gateway allowed $host, which the $agent preset does not name"
	done <"$T/decisions"
	echo "#   $agent: $(jq -r '.method + " " + .path' "$log" | sort | uniq -c | tr -s ' ' | paste -sd, -)"
	# The run's snapshot of this template (1.5 GiB of guest RAM) and the
	# sandbox go: the test host's /tmp holds them.
	"$CLI" rm "$sb" >/dev/null 2>&1
	rm -rf "$T/snapshots/$agent"-*
}

test_agents_claude_end_to_end() { agent_e2e claude; }
test_agents_codex_end_to_end() { agent_e2e codex; }
test_agents_gemini_end_to_end() { agent_e2e gemini; }
test_agents_opencode_end_to_end() { agent_e2e opencode; }

# `airlock agents` and the agent run's options, which need no network.
test_agents_cli_presets_and_options() {
	cli_env
	al agents
	expect_rc 0
	local a
	for a in $AGENTS; do
		grep -q "^$a  " "$T/out" || fail "airlock agents lacks $a"
	done
	grep -q 'claude --dangerously-skip-permissions \[ARGS\]' "$T/out" || fail "claude's command line"
	grep -q 'codex --dangerously-bypass-approvals-and-sandbox \[ARGS\]' "$T/out" || fail "codex's"
	grep -q 'gemini --yolo \[ARGS\]' "$T/out" || fail "gemini's"
	grep -q "OPENCODE_PERMISSION='{\"\*\":\"allow\"}' opencode \[ARGS\]" "$T/out" || fail "opencode's"
	al agents --json
	expect_rc 0
	[ "$(jq -r '[.[].name] | join(" ")' "$T/out")" = "$AGENTS" ] || fail "agents --json: $(head -c 300 "$T/out")"
	# The JSON is the presets' own.
	for a in $AGENTS; do
		[ "$(jq -c ".[] | select(.name == \"$a\")" "$T/out")" = "$(jq -c . "$PRESETS/$a.json")" ] ||
			fail "agents --json differs from $a.json"
	done
	al agents nope
	expect_rc 1
	expect_err "no agent preset 'nope'"
	al run --agent-network dev -- true </dev/null
	expect_rc 125
	expect_err "--agent-network is for an agent run"
	al run --agent-network everything claude </dev/null
	expect_rc 125
	expect_err "--agent-network 'everything'"
	# An agent run, with a stand-in `claude` put in a sandbox of the test
	# template: it gets the preset's command line (permission switch first,
	# ARGS after), the preset's environment under -e's, nothing else of
	# this one's; the credential note is said once.
	al run --name fake --template test -m 256 -u root -- sh -c \
		'printf "#!/bin/sh\necho \"argv: \$*\"\nenv | sort\n" >/usr/bin/claude && chmod 755 /usr/bin/claude' </dev/null
	expect_rc 0
	ANTHROPIC_API_KEY=host-key SECRET_ON_HOST=x al run --name fake --template test \
		-e ANTHROPIC_API_KEY -e DISABLE_TELEMETRY=0 claude -- -p "a prompt" </dev/null
	expect_rc 0
	grep -qx 'argv: --dangerously-skip-permissions -p a prompt' "$T/out" || fail "argv: $(cat "$T/out")"
	grep -qx 'ANTHROPIC_API_KEY=host-key' "$T/out" || fail "-e ANTHROPIC_API_KEY did not go in"
	grep -qx 'DISABLE_TELEMETRY=0' "$T/out" || fail "-e did not override the preset's DISABLE_TELEMETRY"
	grep -qx 'DISABLE_AUTOUPDATER=1' "$T/out" || fail "the preset's environment is missing"
	grep -q 'SECRET_ON_HOST' "$T/out" && fail "an unnamed host variable went in"
	[ "$(grep -c 'ANTHROPIC_API_KEY goes into the sandbox' "$T/err")" -eq 1 ] ||
		fail "the credential note: $(cat "$T/err")"
	# `airlock run -- claude` is the command claude, not the agent.
	al run --name fake --template test -- claude -p x </dev/null
	expect_rc 0
	grep -qx 'argv: -p x' "$T/out" || fail "run -- claude: $(head -1 "$T/out")"
	grep -q DISABLE_AUTOUPDATER "$T/out" && fail "run -- claude got the preset's environment"
	# An agent's default template is its own, and its default sandbox the
	# folder's with the agent's name after it, apart from plain runs'.
	al run --rm claude </dev/null
	expect_rc 125
	expect_err "no template 'claude'"
	mkdir -p "$T/myproj" && cd "$T/myproj" || return
	al run --template test -- true </dev/null
	expect_rc 0
	al run --template test codex </dev/null
	expect_rc 127
	cd "$ROOT" || return
	al ls
	grep -qE '^myproj-[0-9a-f]{6} ' "$T/out" || fail "the folder's sandbox: $(cat "$T/out")"
	grep -qE '^myproj-[0-9a-f]{6}-codex ' "$T/out" || fail "codex's sandbox: $(cat "$T/out")"
}

# Each agent's template boots and its CLI runs in the guest, as `agent`,
# with its config folder there, the agent's own. Claude Code and OpenCode
# are Bun binaries built for x86-64-v3 (AVX2): in a test host they need
# TESTHOST_CPU=EPYC,+svm,+npt (qemu64 has no AVX2: "Illegal instruction").
agent_in_vm() {
	local agent=$1 var=AIRLOCK_TEMPLATE_${1^^} tpl cmd
	cli_env
	tpl=${!var:-}
	if [ -z "$tpl" ] || [ ! -f "$tpl/rootfs.ext4" ]; then
		fail "no $agent template: rootfs/build $agent (as root, with the network) before the tests"
		return
	fi
	ln -s "$tpl" "$AIRLOCK_HOME/templates/$agent"
	cmd=$(jq -r '.command[0]' "$PRESETS/$agent.json")
	timeout -k 5 600 "$CLI" run --rm --template "$agent" -m 1536 -- sh -c "
		$cmd --version && id -un && stat -c '%U %a' $(jq -r '.config[0]' "$PRESETS/$agent.json" | sed 's|^~|$HOME|')" \
		</dev/null >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 0
	local want
	want=$(jq -r --arg a "$agent" '.packages.npm | to_entries[0].value' "$tpl/manifest.json")
	grep -qF "$want" "$T/out" || fail "$cmd --version does not say $want: $(cat "$T/out" "$T/err" | head -c 600)"
	grep -qx agent "$T/out" || fail "not run as agent: $(cat "$T/out")"
	grep -qxE 'agent 7[0-5][0-5]' "$T/out" || fail "the config folder: $(cat "$T/out")"
	echo "#   $agent $want: $(du -h --apparent-size "$tpl/rootfs.ext4" | cut -f1) image; $(jq -r .build_seconds "$tpl/manifest.json") s to build"
}

test_agents_claude_in_vm() { agent_in_vm claude; }
test_agents_codex_in_vm() { agent_in_vm codex; }
test_agents_gemini_in_vm() { agent_in_vm gemini; }
test_agents_opencode_in_vm() { agent_in_vm opencode; }

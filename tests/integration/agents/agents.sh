# shellcheck shell=bash
# What the agent tests need to know about each agent beyond its preset
# (tools/airlock/agents/NAME.json): which stand-in API answers it and how it
# is told to trust the test CA, plus helpers that read the preset. Sourced by
# tests/integration/agents/offline and tests/integration/t_agents.sh.

AGENTS="claude codex gemini opencode"
PRESETS=${AIRLOCK_PRESETS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/tools/airlock/agents}

# The prompt every run gives; the stand-in answers it the same way whatever
# it says.
AGENT_PROMPT="Create the file airlock-e2e.txt in this folder."
# What the stand-in makes the agent write, and where.
AGENT_FILE=airlock-e2e.txt
AGENT_CONTENT="written by the agent through airlock"
# The stand-in's final message; the agent prints it when it is done.
AGENT_DONE="airlock-e2e: done"

agent_known() { [[ " $AGENTS " == *" $1 "* ]]; }
preset_get() { jq -r "$2" "$PRESETS/$1.json"; }
preset_hosts() { jq -r '.hosts[].host' "$PRESETS/$1.json"; }

# standin_api AGENT: the API flavour standin.py speaks for it.
standin_api() {
	case $1 in
	claude | opencode) echo anthropic ;;
	codex) echo openai ;;
	gemini) echo gemini ;;
	esac
}

# agent_argv AGENT WITHOUT: the preset's command, its permission switch's
# arguments (not if WITHOUT is 1) and its unattended arguments with the
# prompt, one per line: what `airlock run AGENT -- ARGS` runs.
agent_argv() {
	jq -r --arg p "$AGENT_PROMPT" --argjson without "$2" '
		.command + (if $without == 1 then [] else .permissions_off.args end)
		+ (.unattended | map(if . == "{prompt}" then $p else . end)) | .[]' \
		"$PRESETS/$1.json"
}

# agent_env AGENT WITHOUT: the preset's environment and its permission
# switch's (not if WITHOUT is 1), NAME=VALUE one per line.
agent_env() {
	jq -r --argjson without "$2" '
		.env + (if $without == 1 then [] else .permissions_off.env end) | .[]' \
		"$PRESETS/$1.json"
}

# agent_test_env AGENT CA BUNDLE: NAME=VALUE lines the test adds for AGENT:
# a fake credential in its first credential variable, and trust in the test
# CA (CA: the test CA alone, BUNDLE: the system's CAs plus it). Node and Bun
# read NODE_EXTRA_CA_CERTS; Codex's Rust TLS reads SSL_CERT_FILE.
agent_test_env() {
	local agent=$1 ca=$2 bundle=$3
	echo "$(jq -r '.credentials[0].env' "$PRESETS/$agent.json")=airlock-test-key-not-secret"
	echo "NODE_EXTRA_CA_CERTS=$ca"
	echo "SSL_CERT_FILE=$bundle"
}

# The part of `offline` that runs inside the new namespaces (see there).
inner_run() {
	local img lower=$W/lower rw=$W/rw root=$W/root proj=/home/agent/project dest
	local argv=() envs=() e rc=0 dns_pid standin_pid fail=0
	img=$(cat "$W/image")
	ip link set lo up
	mkdir -p "$lower" "$rw" "$root"
	mount -o loop,ro,noload "$img" "$lower"
	mount -t tmpfs -o mode=0755 tmpfs "$rw"
	mkdir -p "$W/bodies"
	mkdir -p "$rw/upper" "$rw/work"
	mount -t overlay -o "lowerdir=$lower,upperdir=$rw/upper,workdir=$rw/work" overlay "$root"
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
	mount -t tmpfs -o mode=0755 tmpfs "$root/run"
	printf 'nameserver 127.0.0.1\n' >"$root/etc/resolv.conf"

	# The project: a git repository with one file, as a user's would be.
	install -d -o 1000 -g 1000 "$root$proj"
	cp "$W/ca/ca.pem" "$root$proj/.airlock-test-ca.pem"
	cp "$W/ca/bundle.pem" "$root$proj/.airlock-test-bundle.pem"
	printf 'hello\n' >"$root$proj/README"
	chown -R 1000:1000 "$root$proj"
	chroot --userspec=1000:1000 "$root" /usr/bin/env -i HOME=/home/agent PATH=/usr/bin:/bin \
		sh -c "cd $proj && git init -q && git add -A && git -c user.name=t -c user.email=t@t.invalid commit -qm init"

	dest=$proj
	[ "$OUTSIDE" = 1 ] && dest=/home/agent
	local names=()
	for e in $(cat "$W/hosts"); do names+=("$e=127.0.0.1"); done
	python3 "$HERE/dnslog.py" --log "$W/dns.log" "${names[@]}" >"$W/dns.out" 2>&1 &
	dns_pid=$!
	python3 "$HERE/standin.py" --api "$(standin_api "$AGENT")" --cert "$W/ca/server.pem" \
		--key "$W/ca/server.key" --log "$W/api.log" --dir "$dest" --file "$AGENT_FILE" \
		--content "$AGENT_CONTENT" --dump "$W/bodies" >"$W/standin.out" 2>&1 &
	standin_pid=$!
	for _ in $(seq 50); do
		grep -q ready "$W/standin.out" 2>/dev/null && grep -q ready "$W/dns.out" 2>/dev/null && break
		sleep 0.1
	done
	grep -q ready "$W/standin.out" || { cat "$W/standin.out" >&2; die "the stand-in did not start"; }

	mapfile -t argv < <(agent_argv "$AGENT" "$WITHOUT")
	mapfile -t envs < <(agent_env "$AGENT" "$WITHOUT"
		agent_test_env "$AGENT" "$proj/.airlock-test-ca.pem" "$proj/.airlock-test-bundle.pem")
	echo "== $AGENT: ${argv[*]}"
	echo "== env: ${envs[*]}"
	local t0=$SECONDS
	set +e
	(cd / && timeout -k 5 300 chroot --userspec=1000:1000 "$root" /usr/bin/env -i \
		HOME=/home/agent USER=agent LOGNAME=agent SHELL=/bin/bash LANG=C.UTF-8 \
		PATH=/usr/local/bin:/usr/bin:/bin "${envs[@]}" \
		sh -c 'cd "$0" && exec "$@"' "$proj" "${argv[@]}") </dev/null >"$W/agent.out" 2>"$W/agent.err"
	rc=$?
	set -e
	echo "== exit $rc after $((SECONDS - t0)) s; stdout:"
	cat "$W/agent.out"
	echo "== stderr (last 30 lines):"
	tail -30 "$W/agent.err"
	echo "== API requests (stand-in log):"
	jq -r '[.n, .method, .host, .path, (.model // "-"), (.answer // "-"),
		((.tools // []) | length | tostring) + " tools", (.tool_result // "" | .[0:120])] | @tsv' \
		"$W/api.log" 2>/dev/null || echo "(none)"
	echo "== DNS questions:"
	jq -r '[.name, .type, .answer] | @tsv' "$W/dns.log" 2>/dev/null | sort | uniq -c || echo "(none)"
	kill "$standin_pid" "$dns_pid" 2>/dev/null || true

	local got
	got=$(cat "$root$dest/$AGENT_FILE" 2>/dev/null || true)
	if [ "$WITHOUT" = 1 ]; then
		if [ "$got" = "$AGENT_CONTENT" ]; then
			echo "offline $AGENT: the file was written without the permission flag"
			return 1
		fi
		echo "offline $AGENT (without its permission flag): the edit was not made: ok"
		return 0
	fi
	[ "$rc" -eq 0 ] || { echo "# the agent exited $rc"; fail=1; }
	[ "$got" = "$AGENT_CONTENT" ] || { echo "# $AGENT_FILE holds '$got'"; fail=1; }
	grep -q '"answer": "final"' "$W/api.log" 2>/dev/null ||
		{ echo "# the agent never sent the tool's result back"; fail=1; }
	grep -qF "$AGENT_DONE" "$W/agent.out" || { echo "# the final message was not printed"; fail=1; }
	[ "$fail" -eq 0 ] && echo "offline $AGENT: ok"
	return $fail
}

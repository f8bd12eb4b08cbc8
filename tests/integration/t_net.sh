# The sandbox network (docs/network.md): real guests of the base template
# reach servers this test starts on the test host's loopback
# (net_servers.py) through the gateway, or are refused, and every decision
# is in network.log. Names reach those servers through the gateway's
# test-only name map (AIRLOCK_TEST_NAME_MAP) or through a counting DNS
# server on 127.0.0.53 (AIRLOCK_RESOLV_CONF); nothing leaves the machine.

NET=$T/net
NET_SRV_PID=

# net_fixtures: a test CA and a certificate for the servers' names, a bare
# git repository, an npm package; once per run.
net_fixtures() {
	[ -f "$NET/ready-fixtures" ] && return 0
	rm -rf "$NET" && mkdir -p "$NET/npm/package" "$NET/w" || return 1
	(
		set -e
		cd "$NET"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout ca.key -out ca.pem -days 2 -subj /CN=airlock-test-ca 2>/dev/null
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout server.key -out server.csr -subj /CN=web.test 2>/dev/null
		printf 'subjectAltName=DNS:web.test,DNS:git.test,DNS:registry.test\n' >ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
			-out server.pem -days 2 -extfile ext 2>/dev/null
		git init -q --bare repo.git
		git -C w init -q
		echo "hello from git" >w/README
		git -C w add README
		git -C w -c user.name=t -c user.email=t@t commit -qm one
		git -C w push -q "$NET/repo.git" HEAD:refs/heads/main
		git -C repo.git symbolic-ref HEAD refs/heads/main
		printf '{"name":"hello-airlock","version":"1.0.0","main":"index.js"}\n' \
			>npm/package/package.json
		echo 'module.exports = "hello from npm";' >npm/package/index.js
		tar -C npm -czf npm/hello-airlock-1.0.0.tgz package
		printf 'web.test 127.0.0.2\ngit.test 127.0.0.3\nregistry.test 127.0.0.4\n' >map
		printf 'late.test 127.0.0.2\ndl.test 127.0.0.2\npar.test 127.0.0.2\n' >>map
		echo "nameserver 127.0.0.53" >resolv.conf
		touch ready-fixtures
	) || { fail "cannot make the network test fixtures"; return 1; }
}

# net_setup: fixtures, servers, and a fresh AIRLOCK_HOME with the base
# template whose global policy is $1 (JSON).
net_setup() {
	need_template "$TPL_BASE" base || return 1
	net_fixtures || return 1
	cli_env
	ln -s "$TPL_BASE" "$AIRLOCK_HOME/templates/base"
	printf '%s\n' "$1" >"$AIRLOCK_HOME/policy.json"
	rm -f "$NET/ready" "$NET/dns-counts.json"
	python3 "$ROOT/tests/integration/net_servers.py" "$NET" >"$T/net-servers.log" 2>&1 &
	NET_SRV_PID=$!
	for _ in $(seq 1 300); do
		[ -f "$NET/ready" ] && return 0
		kill -0 "$NET_SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "the test servers did not start: $(cat "$T/net-servers.log")"
	return 1
}

net_teardown() {
	[ -n "$NET_SRV_PID" ] && kill "$NET_SRV_PID" 2>/dev/null && wait "$NET_SRV_PID" 2>/dev/null
	NET_SRV_PID=
	unset AIRLOCK_TEST_NAME_MAP AIRLOCK_RESOLV_CONF
}

# net_run NAME [RUN OPTIONS...] -- CMD: airlock run on the base template
# with the CA on stdin; output in $T/out and $T/err, status in RC.
net_run() {
	local name=$1
	shift
	timeout -k 5 600 "$CLI" run --name "$name" --template base -m 512 "$@" \
		<"$NET/ca.pem" >"$T/out" 2>"$T/err"
	RC=$?
}

# expect_log NAME JQ-FILTER WHAT: some line of NAME's network.log matches.
expect_log() {
	jq -e -s "map(select($2)) | length > 0" \
		"$AIRLOCK_HOME/sandboxes/$1/network.log" >/dev/null ||
		fail "network.log has no $3: $(tail -c 1500 "$AIRLOCK_HOME/sandboxes/$1/network.log")"
}

net_out_has() {
	grep -qF -- "$1" "$T/out" || fail "stdout lacks '$1': $(head -c 1500 "$T/out"); stderr: $(head -c 600 "$T/err")"
}

test_net_allowed_http_https_git_npm() {
	net_setup '{"preset": "none", "allow": ["git.test", "registry.test", "127.0.0.0/8"]}' || return
	export AIRLOCK_TEST_NAME_MAP=$NET/map
	net_run ok --allow web.test -- sh -c '
		cat >/tmp/ca.pem
		echo "http: $(curl -sS -m 30 http://web.test/)"
		echo "https: $(curl -sS -m 30 --cacert /tmp/ca.pem https://web.test/)"
		GIT_SSL_CAINFO=/tmp/ca.pem git clone -q https://git.test/repo.git /tmp/r &&
			echo "git: $(cat /tmp/r/README)"
		mkdir /tmp/p && cd /tmp/p &&
			npm install --no-audit --no-fund --no-update-notifier --loglevel=error \
				--registry https://registry.test/ --cafile /tmp/ca.pem hello-airlock >/dev/null &&
			echo "npm: $(node -e "console.log(require(\"hello-airlock\"))")"'
	expect_rc 0
	net_out_has "http: hello-www"
	net_out_has "https: hello-www"
	net_out_has "git: hello from git"
	net_out_has "npm: hello from npm"
	expect_log ok '.kind=="tcp" and .name=="web.test" and .port==80 and .action=="allow" and .received>0' "HTTP connection"
	expect_log ok '.kind=="tcp" and .name=="web.test" and .port==443 and .action=="allow" and (.rule|test("--allow"))' "HTTPS connection credited to --allow"
	expect_log ok '.kind=="tcp" and .name=="git.test" and .action=="allow" and .sent>0 and .received>0' "git connection"
	expect_log ok '.kind=="tcp" and .name=="registry.test" and .action=="allow"' "registry connection"
	expect_log ok '.kind=="dns" and .name=="web.test" and .qtype=="A" and (.answer|startswith("198.18."))' "synthetic DNS answer"
	"$CLI" policy log ok >"$T/log" 2>&1 || fail "airlock policy log failed: $(cat "$T/log")"
	grep -qE 'allow +tcp +git\.test:443 \(127\.0\.0\.3\).*sent [1-9]' "$T/log" ||
		fail "airlock policy log: $(head -c 1500 "$T/log")"
	net_teardown
}

test_net_refused_and_logged() {
	net_setup '{"preset": "none", "allow": ["up.test", "loop.test", "private.test", "meta.test", "web.test:8080", "127.0.0.2/32"]}' || return
	export AIRLOCK_RESOLV_CONF=$NET/resolv.conf
	net_run no -- sh -c '
		echo "up: $(curl -sS -m 30 http://up.test/)"
		getent hosts denied.test || echo "denied: nxdomain"
		curl -sS -m 20 http://denied.test/ 2>&1 | sed "s/^/denied: /"
		echo "port: $(curl -sS -m 20 http://web.test/)"
		echo "raw: $(curl -sS -m 20 http://198.51.100.1/)"
		curl -sS -m 20 -k https://198.51.100.1/ >/dev/null 2>&1; echo "raw-tls: $?"
		echo "loop: $(curl -sS -m 20 http://loop.test/)"
		echo "private: $(curl -sS -m 20 http://private.test/)"
		echo "meta: $(curl -sS -m 20 http://meta.test/)"
		python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(bytes.fromhex(\"abcd01000001000000000000076578616d706c65036f72670000010001\"), (\"8.8.8.8\", 53))
try: s.recv(512); print(\"udp: answered\")
except OSError as e: print(\"udp: nothing\")"
		curl -sS -m 10 -6 http://up.test/ >/dev/null 2>&1; echo "v6-name: $?"
		curl -sS -m 10 -g "http://[2001:db8::1]/" >/dev/null 2>&1; echo "v6-addr: $?"
		echo "v6-addrs: $(grep -c eth0 /proc/net/if_inet6)"'
	expect_rc 0
	net_out_has "up: hello-www"
	net_out_has "denied: nxdomain"
	net_out_has "denied: curl: (6) Could not resolve host: denied.test"
	net_out_has "port: airlock: web.test is not allowed for sandbox no (airlock policy allow no web.test)"
	net_out_has "raw: airlock: 198.51.100.1 is an address, not a name, and is not allowed for sandbox no"
	grep -q "^raw-tls: [1-9]" "$T/out" || fail "a TLS connection to an address was not refused: $(cat "$T/out")"
	net_out_has "loop: airlock: loop.test: it resolves to 127.0.0.1, a loopback address"
	net_out_has "private: airlock: private.test: it resolves to 10.9.9.9, a private address"
	net_out_has "meta: airlock: meta.test: it resolves to 169.254.169.254, a cloud metadata address"
	net_out_has "udp: nothing"
	grep -q "^v6-name: [1-9]" "$T/out" || fail "IPv6 by name worked: $(cat "$T/out")"
	grep -q "^v6-addr: [1-9]" "$T/out" || fail "IPv6 by address worked: $(cat "$T/out")"
	grep -q "^v6-addrs: 0" "$T/out" || fail "eth0 has IPv6 addresses: $(cat "$T/out")"
	# The upstream resolver was asked for what was allowed, never for
	# what was not: DNS carries nothing out.
	jq -e '."up.test" >= 1 and ."loop.test" >= 1 and (has("denied.test") | not)' \
		"$NET/dns-counts.json" >/dev/null ||
		fail "upstream DNS queries: $(cat "$NET/dns-counts.json" 2>&1)"
	expect_log no '.kind=="dns" and .name=="denied.test" and .action=="deny" and (.reason|test("no rule"))' "DNS denial"
	expect_log no '.kind=="tcp" and .name=="web.test" and .port==80 and .action=="deny"' "port refusal"
	expect_log no '.kind=="tcp" and .addr=="198.51.100.1" and .port==443 and .action=="deny"' "refused TLS"
	expect_log no '.kind=="tcp" and .name=="loop.test" and .action=="deny" and (.reason|test("loopback"))' "loopback refusal"
	expect_log no '.kind=="tcp" and .name=="private.test" and .action=="deny"' "private refusal"
	expect_log no '.kind=="udp" and .addr=="8.8.8.8" and .action=="deny"' "UDP refusal"
	expect_log no '.kind=="dns" and .qtype=="AAAA" and .name=="up.test" and .answer==""' "empty AAAA answer"
	# ICMP gets nothing either, from anywhere: an echo request (raw, so
	# as root in the guest) to an outside address and to the gateway.
	net_run no -u root -- python3 -c '
import os, socket, struct
def ping(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); s.settimeout(3)
    body = struct.pack("!BBHHH", 8, 0, 0, os.getpid() & 0xffff, 1) + b"airlock"
    c = sum(struct.unpack("!%dH" % (len(body) // 2), body[:len(body) // 2 * 2])) + (body[-1] << 8 if len(body) % 2 else 0)
    c = (c >> 16) + (c & 0xffff); c = ~(c + (c >> 16)) & 0xffff
    s.sendto(body[:2] + struct.pack("!H", c) + body[4:], (addr, 0))
    try:
        while True:
            d = s.recv(512)
            if d[20] == 0: return "answered"
    except OSError: return "nothing"
print("icmp-out:", ping("198.51.100.1")); print("icmp-gw:", ping("10.0.2.1"))'
	expect_rc 0
	net_out_has "icmp-out: nothing"
	net_out_has "icmp-gw: nothing"
	net_teardown
}

test_net_policy_live_parallel_and_gateway_death() {
	local gw rc
	net_setup '{"preset": "none", "allow": ["web.test", "dl.test", "par.test", "127.0.0.0/8"]}' || return
	export AIRLOCK_TEST_NAME_MAP=$NET/map
	timeout -k 5 600 "$CLI" run --name live --template base -m 512 -- sleep 600 \
		</dev/null >"$T/run.out" 2>"$T/run.err" &
	RUN_PID=$!
	for _ in $(seq 1 900); do
		"$CLI" exec live -- true </dev/null >/dev/null 2>&1 && break
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.2
	done
	ex() { timeout -k 5 120 "$CLI" exec live -- sh -c "$1" </dev/null >"$T/out" 2>"$T/err"; RC=$?; }

	ex 'curl -sS -m 20 http://late.test:8080/ 2>&1'
	net_out_has "Could not resolve host: late.test"
	# A rule added now, on a port the namespace did not listen on.
	"$CLI" policy allow live late.test:8080 >"$T/pol" 2>&1 || fail "policy allow: $(cat "$T/pol")"
	sleep 1
	ex 'curl -sS -m 20 http://late.test:8080/'
	net_out_has "hello-www"
	"$CLI" policy deny live web.test >"$T/pol" 2>&1 || fail "policy deny: $(cat "$T/pol")"
	sleep 1
	ex 'curl -sS -m 20 http://web.test/ 2>&1'
	net_out_has "Could not resolve host: web.test"
	"$CLI" policy show live >"$T/pol" 2>&1
	grep -qE '^deny +web\.test +.*sandboxes/live/policy\.json' "$T/pol" ||
		fail "policy show: $(cat "$T/pol")"

	# 200 connections at once, each held for a second by the server.
	ex 'python3 -c "
import socket, threading
ok = []
def one():
    try:
        s = socket.create_connection((\"par.test\", 80), timeout=60)
        s.sendall(b\"GET /sleep HTTP/1.0\\r\\nHost: par.test\\r\\n\\r\\n\")
        d = b\"\"
        while True:
            b = s.recv(4096)
            if not b: break
            d += b
        if d.split(b\" \")[1] == b\"200\" and d.endswith(b\"slept\\n\"): ok.append(1)
    except OSError as e:
        print(\"error:\", e)
ts = [threading.Thread(target=one) for _ in range(200)]
[t.start() for t in ts]; [t.join() for t in ts]
print(\"parallel:\", len(ok))"'
	net_out_has "parallel: 200"

	# The gateway killed mid-transfer: the guest sees a reset, at once.
	timeout -k 5 120 "$CLI" exec live -- sh -c \
		'curl -sS -m 100 -o /dev/null "http://dl.test/big?mib=100&slow=1"; echo "dl: $?"' \
		</dev/null >"$T/dl.out" 2>"$T/dl.err" &
	local dl=$!
	sleep 4
	gw=$(pgrep -P "$RUN_PID" -x airlock-gateway)
	[ -n "$gw" ] || gw=$(pgrep -P "$(pgrep -P "$RUN_PID" | head -1)" -x airlock-gateway)
	if [ -z "$gw" ]; then
		fail "no airlock-gateway under airlock run $RUN_PID"
	else
		kill -9 "$gw"
	fi
	local t0=$SECONDS
	wait "$dl"
	[ $((SECONDS - t0)) -lt 30 ] || fail "the download hung for $((SECONDS - t0)) s after the gateway died"
	grep -qE '^dl: (56|18|52)$' "$T/dl.out" ||
		fail "the download did not end with a reset: $(cat "$T/dl.out" "$T/dl.err")"
	# New connections are refused at once too.
	ex 'curl -sS -m 20 http://par.test/ 2>&1; echo "after: $?"'
	grep -qE '^after: (6|7|56)$' "$T/out" || fail "after the gateway died: $(cat "$T/out")"
	"$CLI" stop -t 2 live >/dev/null 2>&1
	wait "$RUN_PID"
	rc=$?
	grep -q "network of sandbox 'live' went away during the run" "$T/run.err" ||
		fail "airlock run (status $rc) did not say the network went away: $(cat "$T/run.err")"
	net_teardown
}

test_net_none_means_no_device() {
	cli_env
	timeout -k 5 300 "$CLI" run --rm --template test -m 256 --network none -- \
		sh -c 'ls /sys/class/net | tr "\n" " "' </dev/null >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 0
	expect_out "lo "
	timeout -k 5 300 "$CLI" run --rm --template test -m 256 -- \
		sh -c 'ls /sys/class/net | tr "\n" " "; grep nameserver /etc/resolv.conf' \
		</dev/null >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 0
	expect_out "eth0 lo nameserver 10.0.2.1"
}

test_net_policy_cli() {
	cli_env
	local s
	"$CLI" policy show >"$T/out" 2>"$T/err" || fail "policy show: $(cat "$T/err")"
	grep -qE '^allow +registry\.npmjs\.org +preset dev$' "$T/out" ||
		fail "the default preset is not dev: $(head -5 "$T/out")"
	"$CLI" policy allow --global 'Example.COM' '*.example.net:8443' >"$T/out" 2>&1 ||
		fail "policy allow --global: $(cat "$T/out")"
	jq -e '.allow == ["example.com", "*.example.net:8443"]' "$AIRLOCK_HOME/policy.json" >/dev/null ||
		fail "policy.json: $(cat "$AIRLOCK_HOME/policy.json")"
	"$CLI" policy deny --global example.com >"$T/out" 2>&1
	jq -e '.allow == ["*.example.net:8443"] and .deny == ["example.com"]' \
		"$AIRLOCK_HOME/policy.json" >/dev/null ||
		fail "deny did not move the rule: $(cat "$AIRLOCK_HOME/policy.json")"
	"$CLI" policy show >"$T/out" 2>&1
	grep -qE "^deny +example\.com +$AIRLOCK_HOME/policy\.json$" "$T/out" ||
		fail "policy show: $(cat "$T/out")"
	grep -qE "ports the sandbox listens on: 80 443 .*8443" "$T/out" || fail "ports: $(cat "$T/out")"
	# Bad input: named, nothing written.
	s=$(sha256sum <"$AIRLOCK_HOME/policy.json")
	"$CLI" policy allow --global '10.1.2.3/24' >"$T/out" 2>&1
	[ $? -eq 2 ] || fail "a bad rule was not refused with status 2"
	grep -q "did you mean 10.1.2.0/24" "$T/out" || fail "bad rule message: $(cat "$T/out")"
	[ "$(sha256sum <"$AIRLOCK_HOME/policy.json")" = "$s" ] || fail "a bad rule changed policy.json"
	"$CLI" policy allow nosuch example.com >"$T/out" 2>&1 && fail "allowed for a missing sandbox"
	grep -q "no sandbox 'nosuch'" "$T/out" || fail "missing sandbox: $(cat "$T/out")"
	echo '{"preset": "dev", "alow": []}' >"$AIRLOCK_HOME/policy.json"
	"$CLI" policy show >"$T/out" 2>&1 && fail "a misspelt key was accepted"
	grep -q 'unknown key "alow"' "$T/out" || fail "misspelt key: $(cat "$T/out")"
	"$CLI" run --allow 'a b' -- true >"$T/out" 2>&1
	[ $? -eq 125 ] || fail "run --allow 'a b' did not fail with 125"
	grep -q "\-\-allow: 'a b' is not a rule" "$T/out" || fail "run --allow: $(cat "$T/out")"
	"$CLI" run --network sometimes -- true >"$T/out" 2>&1
	grep -q "allowlist, open or none" "$T/out" || fail "run --network: $(cat "$T/out")"
}

# The namespace as an ordinary user: with /dev/net/tun root's alone it says
# what is missing; once it is open to all, it works, through a user
# namespace. No VM: "the guest" is a process in the namespace.
test_net_namespace_as_a_user() {
	local up=$ROOT/build/tests/net/netns_up home=$T/user-home pid mode userns=
	local clone=/proc/sys/kernel/unprivileged_userns_clone th=
	[ -x "$up" ] || up=$(dirname "$VMM")/../tests/net/netns_up
	mkdir -p "$home" && chown 65534:65534 "$home"
	printf '{"preset": "none", "allow": ["web.test", "127.0.0.0/8"]}\n' >"$home/policy.json"
	printf 'web.test 127.0.0.2\n' >"$T/user-map"
	chmod 0644 "$T/user-map" "$home/policy.json"
	chmod 0755 "$T"
	mode=$(stat -c %a /dev/net/tun)
	# The test host is ours to change: there both cases are tried. On a
	# machine of one's own, only the case its /dev/net/tun is in.
	[ -d /run/testhost ] && th=1
	# Debian's switch for unprivileged user namespaces: the test host's
	# kernel (allnoconfig) has it off; a desktop's is on.
	if [ -n "$th" ] && [ -f "$clone" ]; then
		userns=$(cat "$clone")
		echo 1 >"$clone"
	fi
	# u CMD...: CMD as uid 65534 without groups. The kernel refuses user
	# namespaces to a chrooted process: where the test host runs its job
	# chrooted (PID 1's root is not ours), the host's root is first moved
	# to the top of a private mount namespace, as switch_root would have.
	u() {
		local as=(setpriv --reuid=65534 --regid=65534 --clear-groups env
			  AIRLOCK_HOME="$home" AIRLOCK_TEST_NAME_MAP="$T/user-map")
		if [ -n "$th" ] && [ "$(stat -c %d:%i /)" != "$(stat -L -c %d:%i /proc/1/root)" ]; then
			nsenter -t 1 -m -r -w/ /bin/busybox unshare -m /bin/busybox sh -c \
				'cd /mnt && /bin/busybox mount --move . / && exec /bin/busybox chroot . "$@"' \
				sh /usr/bin/"${as[@]}" "$@"
		else
			"${as[@]}" "$@"
		fi
	}

	if [ -n "$th" ] || [ "$mode" != 666 ]; then
		[ -z "$th" ] || chmod 0600 /dev/net/tun
		u "$up" usb </dev/null >"$T/out" 2>"$T/err"
		[ $? -ne 0 ] || fail "a network was made as a user with /dev/net/tun mode 0600"
		grep -q "/dev/net/tun is not open to this user.*chmod 0666 /dev/net/tun" "$T/err" ||
			fail "no clear message: $(cat "$T/err")"
	fi
	if [ -z "$th" ] && [ "$mode" != 666 ]; then
		return
	fi
	[ -z "$th" ] || chmod 0666 /dev/net/tun
	mkfifo "$T/user-ctl"
	u "$up" usb <"$T/user-ctl" >"$T/out" 2>"$T/err" &
	local upid=$!
	exec 8>"$T/user-ctl"
	for _ in $(seq 1 100); do [ -s "$T/out" ] && break; sleep 0.1; done
	pid=$(cut -d' ' -f1 "$T/out")
	# Not holding the FIFO open (fd 8): netns_up ends when it closes.
	python3 -m http.server 18081 --bind 127.0.0.2 >/dev/null 2>&1 8>&- &
	local http=$!
	for _ in $(seq 1 150); do
		curl -s -o /dev/null http://127.0.0.2:18081/ && break
		sleep 0.2
	done
	# A rule on a port the namespace does not listen on yet: the opener
	# (in the user's namespace) makes the listener.
	printf '{"preset": "none", "allow": ["web.test:18081", "127.0.0.0/8"]}\n' >"$home/policy.json"
	sleep 2
	u nsenter -t "$pid" -U -n --preserve-credentials \
		python3 "$ROOT/tests/net/guest.py" get web.test 18081 >"$T/get" 2>&1
	grep -q "200 OK" "$T/get" || fail "no answer through the user's namespace: $(cat "$T/get" "$T/err")"
	exec 8>&-
	wait "$upid" || fail "the user's network did not end cleanly: $(cat "$T/err")"
	kill "$http"
	wait "$http" 2>/dev/null
	[ -z "$th" ] || chmod "$mode" /dev/net/tun
	[ -z "$userns" ] || echo "$userns" >"$clone"
}

# virtio-net: airlock-vmm --net fd:N on a TAP in a network namespace of the
# test's own (tap0 at 10.0.2.1/24; the guest configures 10.0.2.15 on eth0),
# the TAP opened by tapexec as the supervisor will open it. The far side
# is tests/integration/net_host.py in that namespace. Sourced by
# tests/integration/run.

NET_TAPEXEC=$(dirname "$VMM")/../tests/integration/tapexec
NET_HOST_PY=$ROOT/tests/integration/net_host.py
NET_NS=airlock-net-$$
NET_GUEST_UP='ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up'

# net_ns_up: the namespace, with tap0 made persistent first so that it has
# its address before the VMM attaches to it.
net_ns_up() {
	ip netns del "$NET_NS" 2>/dev/null
	ip netns add "$NET_NS" &&
		ip -n "$NET_NS" link set lo up &&
		ip -n "$NET_NS" tuntap add dev tap0 mode tap vnet_hdr &&
		ip -n "$NET_NS" addr add 10.0.2.1/24 dev tap0 &&
		ip -n "$NET_NS" link set tap0 up ||
		{ fail "cannot make network namespace $NET_NS with tap0"; return 1; }
	[ -x "$NET_TAPEXEC" ] || { fail "missing $NET_TAPEXEC: build first"; return 1; }
}

net_ns_down() {
	ip netns del "$NET_NS" 2>/dev/null
	return 0
}

# net_host MODE PORT [FILE]: net_host.py in the namespace, in the
# background (pid NET_HOST_PID, output $T/host.PORT), back once it listens.
net_host() {
	local i
	rm -f "$T/$2.ready"
	NET_HOST_DIR=$T ip netns exec "$NET_NS" python3 "$NET_HOST_PY" "$1" 10.0.2.1 "$2" ${3:+"$3"} \
		>"$T/host.$2" 2>&1 &
	NET_HOST_PID=$!
	for i in $(seq 1 300); do
		[ -e "$T/$2.ready" ] && return 0
		sleep 0.1
	done
	fail "net_host.py $1 $2 did not start: $(cat "$T/host.$2")"
	return 1
}

# net_vmm [VMM ARGS...] -- CMD...: the default guest with eth0 on tap0,
# --net fd:3 (a ,mac=... in NET_MAC_OPT); RC, $T/out, $T/err as from vmm.
net_vmm() {
	timeout -k 5 "$GUEST_TIMEOUT" ip netns exec "$NET_NS" "$NET_TAPEXEC" tap0 3 \
		"$VMM" --kernel "$KDIR/vmlinux" --initrd "$INITRD" -m 256 \
		--net "fd:3${NET_MAC_OPT:-}" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}

test_netdev_ping_and_tcp_both_ways() {
	local h2g g2h p1 p2
	net_ns_up || return
	head -c $((6 << 20)) /dev/urandom >"$T/h2g"
	h2g=$(md5sum <"$T/h2g" | cut -d' ' -f1)
	g2h=$(seq 1 700000 | md5sum | cut -d' ' -f1)
	net_host http 8080 "$T/h2g" && p1=$NET_HOST_PID &&
		net_host sink 8081 && p2=$NET_HOST_PID || { net_ns_down; return; }
	NET_MAC_OPT=,mac=02:11:22:33:44:55 net_vmm -- sh -c "$NET_GUEST_UP"' &&
		cat /sys/class/net/eth0/address &&
		ping -c 3 -W 20 10.0.2.1 >/dev/null && echo ping-ok &&
		wget -q -O - http://10.0.2.1:8080/ | md5sum | cut -d" " -f1 &&
		seq 1 700000 | nc 10.0.2.1 8081 && echo sent'
	expect_rc 0
	expect_out "02:11:22:33:44:55
ping-ok
$h2g
sent"
	wait "$p1" || fail "http side: $(cat "$T/host.8080")"
	wait "$p2" || fail "sink side: $(cat "$T/host.8081")"
	[ "$(cut -d' ' -f1,2 "$T/host.8081")" = "$(seq 1 700000 | wc -c) $g2h" ] ||
		fail "the namespace got $(cat "$T/host.8081"), not $g2h"
	# Nothing dropped or refused on the way, nothing the guest got wrong.
	grep -q virtio-net "$T/err" && fail "VMM messages: $(grep virtio-net "$T/err" | head -3)"
	net_ns_down
}

# As airlock run starts it: jailed (no capability, an identity of its own,
# a network namespace without the TAP's interface), seccomp on. The TAP's
# fd still works, offloads included.
test_netdev_works_jailed() {
	local h2g p1
	net_ns_up || return
	head -c $((1 << 20)) /dev/urandom >"$T/h2g"
	h2g=$(md5sum <"$T/h2g" | cut -d' ' -f1)
	net_host http 8080 "$T/h2g" && p1=$NET_HOST_PID || { net_ns_down; return; }
	net_vmm --jail=65534:65534 -- sh -c "$NET_GUEST_UP"' &&
		ping -c 1 -W 20 10.0.2.1 >/dev/null && echo ping-ok &&
		wget -q -O - http://10.0.2.1:8080/ | md5sum | cut -d" " -f1'
	expect_rc 0
	expect_out "ping-ok
$h2g"
	wait "$p1" || fail "http side: $(cat "$T/host.8080")"
	# The offloads were set (a refused TUNSETOFFLOAD would say so).
	grep -q virtio-net "$T/err" && fail "VMM messages: $(grep virtio-net "$T/err" | head -3)"
	net_ns_down
}

test_netdev_refuses_what_is_not_a_tap() {
	vmm --net fd:3 -- true 3</dev/null
	expect_rc 2
	expect_err "^airlock-vmm: --net fd:3: not a TAP attached to an interface, opened with IFF_TAP, IFF_NO_PI and IFF_VNET_HDR$"
	vmm --net fd:77 -- true
	expect_rc 2
	expect_err "^airlock-vmm: --net fd:77: no such open file descriptor$"
	vmm --net /dev/net/tun -- true
	expect_rc 2
	expect_err "^airlock-vmm: --net '/dev/net/tun': expected fd:N"
	vmm --net fd:3,mac=01:00:5e:00:00:01 -- true
	expect_rc 2
	expect_err "not a multicast address"
}

# The TAP's interface deleted under a running guest: one line, the guest's
# link goes down, and the VMM does not spin on the dead TAP.
test_netdev_tap_removed_takes_the_link_down() {
	local pid i t0 t1
	net_ns_up || return
	ip netns exec "$NET_NS" "$NET_TAPEXEC" tap0 3 \
		"$VMM" --kernel "$KDIR/vmlinux" --initrd "$INITRD" -m 256 --net fd:3 -- sh -c "$NET_GUEST_UP"' &&
		cat /sys/class/net/eth0/address &&
		ping -c 1 -W 20 10.0.2.1 >/dev/null && echo ping-ok
		i=0
		while [ "$(cat /sys/class/net/eth0/carrier)" = 1 ] && [ $i -lt 600 ]; do
			sleep 0.1; i=$((i + 1))
		done
		echo carrier $(cat /sys/class/net/eth0/carrier)
		sleep 5' >"$T/out" 2>"$T/err" &
	pid=$!
	for i in $(seq 1 600); do
		ip -n "$NET_NS" neigh show dev tap0 2>/dev/null | grep -q '^10\.0\.2\.15 ' && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	ip -n "$NET_NS" link del tap0 || fail "cannot delete tap0"
	sleep 1
	# The I/O loop (the main thread): CPU ticks over 3 s.
	t0=$(awk '{print $14 + $15}' "/proc/$pid/task/$pid/stat" 2>/dev/null)
	sleep 3
	t1=$(awk '{print $14 + $15}' "/proc/$pid/task/$pid/stat" 2>/dev/null)
	[ -n "$t0" ] && [ -n "$t1" ] && [ $((t1 - t0)) -lt 50 ] ||
		fail "the VMM's I/O thread used $((t1 - t0)) ticks in 3 s after its TAP went away"
	for i in $(seq 1 "$GUEST_TIMEOUT"); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	RC=$?
	expect_rc 0
	expect_out "02:00:0a:00:02:0f
ping-ok
carrier 0"
	expect_err "^airlock-vmm: virtio-net: the TAP's interface is gone; the guest's link is down from now on$"
	net_ns_down
}

# Templates and sandbox disks: airlock-init boots a template (read-only
# ext4, rootfs/build) under an overlay whose upper layer is a sandbox disk
# (rootfs/mkdisk), and runs the command as `agent`. Sourced by
# tests/integration/run, which finds or builds the templates before entering
# the test host (AIRLOCK_TEMPLATE_TEST, AIRLOCK_TEMPLATE_BASE).

TPL_TEST=${AIRLOCK_TEMPLATE_TEST:-}
TPL_BASE=${AIRLOCK_TEMPLATE_BASE:-}
MKDISK=$ROOT/rootfs/mkdisk
AGENT_PATH=/usr/local/bin:/usr/bin:/bin

# need_template DIR NAME: true if DIR holds a built template, else a failure.
need_template() {
	[ -n "$1" ] && [ -f "$1/rootfs.ext4" ] && [ -f "$1/manifest.json" ] && return 0
	fail "no $2 template (AIRLOCK_TEMPLATE_${2^^}='$1'): rootfs/build $2 (as root) before the tests"
	return 1
}

# A private copy of the test template's image at $T/tpl.ext4 (7 MiB), so a
# test may attach it any way it likes and compare hashes; prints its sha256.
tpl_copy() {
	need_template "$TPL_TEST" test || return 1
	rm -f "$T/tpl.ext4"
	cp "$TPL_TEST/rootfs.ext4" "$T/tpl.ext4" && chmod 0644 "$T/tpl.ext4" &&
		sha256sum <"$T/tpl.ext4"
}

# new_disk SIZE: a fresh sandbox disk at $T/sb.img.
new_disk() {
	rm -f "$T/sb.img"
	"$MKDISK" "$T/sb.img" "$1" || fail "rootfs/mkdisk $T/sb.img $1 failed"
}

# tvm TEMPLATE[,ro] DISK[,ro] [VMM ARGS...] -- CMD...: boot the template
# with the sandbox disk as its upper layer (kernel parameters added from
# $TVM_PARAMS).
tvm() {
	local tpl=$1 disk=$2
	shift 2
	vmm --disk "$tpl" --disk "$disk" \
		--cmdline "airlock.root=vda airlock.upper=vdb${TVM_PARAMS:+ $TVM_PARAMS}" "$@"
}

expect_same() { # expect_same FILE SHA256-LINE WHAT
	[ "$(sha256sum <"$1")" = "$2" ] || fail "$3 changed: $1"
}

expect_fsck_clean() {
	e2fsck -fn "$1" >"$T/fsck" 2>&1 || fail "e2fsck -fn $1: $(tail -5 "$T/fsck")"
}

# --- the test template --------------------------------------------------------

test_template_files_persist_across_boots() {
	local h
	h=$(tpl_copy) || return
	new_disk 256M
	# Create, write, read back, rename, delete; sync.
	tvm "$T/tpl.ext4,ro" "$T/sb.img" -- sh -c 'set -e; cd
		echo one >a; echo two >b; seq 1 20000 >big; mkdir -p d/e; echo three >d/e/c
		cat a b d/e/c; md5sum <big
		mv b b2; mv d d2; rm a; printf "%s " $(ls); echo; sync'
	expect_rc 0
	expect_out "one
two
three
$(seq 1 20000 | md5sum)
b2 big d2 "
	# Another boot finds what the first left, and only that.
	tvm "$T/tpl.ext4,ro" "$T/sb.img" -- sh -c 'cd; printf "%s " $(ls -A); echo
		cat b2 d2/e/c; md5sum <big; test -e a || echo a-gone; test -e b || echo b-gone'
	expect_rc 0
	expect_out "b2 big d2 
two
three
$(seq 1 20000 | md5sum)
a-gone
b-gone"
	# On the sandbox disk, in the overlay's upper layer; the template intact.
	[ "$(debugfs -R 'cat /upper/home/agent/b2' "$T/sb.img" 2>/dev/null)" = two ] ||
		fail "/upper/home/agent/b2 is not on the sandbox disk"
	expect_fsck_clean "$T/sb.img"
	expect_same "$T/tpl.ext4" "$h" "the template image"
}

test_template_command_runs_as_agent() {
	tpl_copy >/dev/null || return
	new_disk 64M
	tvm "$T/tpl.ext4,ro" "$T/sb.img" -- sh -c 'id -u; id -g; id -un; pwd; echo "$HOME"
		echo "$PATH"; umask; echo "$USER $LOGNAME $SHELL $TERM $LANG"
		env | cut -d= -f1 | grep -vxE "HOME|USER|LOGNAME|SHELL|PATH|TERM|LANG|PWD|SHLVL|OLDPWD|_" |
			sed "s/^/unexpected variable /"
		touch /etc/x 2>/dev/null && echo wrote-etc
		echo x >new && stat -c "%u:%g %a" new'
	expect_rc 0
	expect_out "1000
1000
agent
/home/agent
/home/agent
$AGENT_PATH
0022
agent agent /bin/sh linux C.UTF-8
1000:1000 644"
}

test_template_attached_read_write_stays_unchanged() {
	# Even attached writable and with root in the guest trying, the
	# template's own read-only feature keeps ext4 from writing it.
	local h
	h=$(tpl_copy) || return
	new_disk 64M
	TVM_PARAMS=airlock.user=root tvm "$T/tpl.ext4" "$T/sb.img" -- sh -c '
		echo x >/etc/new-file; touch /etc/passwd /bin/busybox; rm -f /etc/group
		mkdir -p /mnt/t; mount -t ext4 /dev/vda /mnt/t 2>/dev/null && echo mounted-rw
		cat /etc/new-file; id -u'
	expect_rc 0
	expect_out "x
0"
	expect_same "$T/tpl.ext4" "$h" "the template image attached read-write"
	expect_fsck_clean "$T/sb.img"
}

# --- bad input ------------------------------------------------------------------

test_template_missing_image() {
	local h
	new_disk 64M
	h=$(sha256sum <"$T/sb.img")
	tvm "$T/no-such-template/rootfs.ext4,ro" "$T/sb.img" -- true
	expect_rc 2
	expect_err "cannot open disk '.*no-such-template/rootfs.ext4': No such file or directory"
	expect_same "$T/sb.img" "$h" "the sandbox disk"
}

test_template_sandbox_disk_not_attached() {
	tpl_copy >/dev/null || return
	vmm --disk "$T/tpl.ext4,ro" --cmdline "airlock.root=vda airlock.upper=vdb" -- true
	expect_rc 125
	expect_err "airlock-init.*the sandbox disk /dev/vdb did not appear"
}

test_template_not_ext4() {
	local h hj
	head -c 8M /dev/urandom >"$T/junk.img"
	hj=$(sha256sum <"$T/junk.img")
	new_disk 64M
	h=$(sha256sum <"$T/sb.img")
	tvm "$T/junk.img,ro" "$T/sb.img" -- true
	expect_rc 125
	expect_err "airlock-init.*cannot mount the template /dev/vda .*not ext4"
	expect_same "$T/junk.img" "$hj" "the bad template"
	expect_same "$T/sb.img" "$h" "the sandbox disk"
}

test_template_sandbox_disk_not_ext4() {
	local h
	tpl_copy >/dev/null || return
	truncate -s 64M "$T/blank.img"
	h=$(sha256sum <"$T/blank.img")
	tvm "$T/tpl.ext4,ro" "$T/blank.img" -- true
	expect_rc 125
	expect_err "airlock-init.*cannot mount the sandbox disk /dev/vdb \(ext4, read-write\)"
	expect_same "$T/blank.img" "$h" "the unformatted sandbox disk"
}

test_template_sandbox_disk_too_small() {
	# An ext4 sandbox disk with no inode left for upper/ and work/.
	local h
	h=$(tpl_copy) || return
	rm -rf "$T/full" "$T/full.img" && mkdir "$T/full" && touch "$T/full/f"{1,2,3,4,5} &&
		mkfs.ext4 -q -F -N 16 -m 0 -d "$T/full" "$T/full.img" 1M >/dev/null 2>&1 ||
		{ fail "cannot make a full ext4 image"; return; }
	tvm "$T/tpl.ext4,ro" "$T/full.img" -- true
	expect_rc 125
	expect_err "airlock-init.*the sandbox disk /dev/vdb could not be prepared \(full or too small\?\)"
	expect_fsck_clean "$T/full.img"
	expect_same "$T/tpl.ext4" "$h" "the template image"
}

test_template_sandbox_disk_read_only() {
	local h
	tpl_copy >/dev/null || return
	new_disk 64M
	h=$(sha256sum <"$T/sb.img")
	tvm "$T/tpl.ext4,ro" "$T/sb.img,ro" -- true
	expect_rc 125
	expect_err "airlock-init.*the sandbox disk /dev/vdb is read-only: it must be writable"
	expect_same "$T/sb.img" "$h" "the read-only sandbox disk"
}

test_template_mkdisk_refuses_bad_input() {
	local out
	rm -f "$T/m.img"
	out=$("$MKDISK" "$T/m.img" 8M 2>&1) && fail "mkdisk made an 8M disk"
	[[ $out == *"too small for a sandbox disk: give at least 16M"* ]] || fail "8M: $out"
	out=$("$MKDISK" "$T/m.img" 1.5G 2>&1) && fail "mkdisk took 1.5G"
	[[ $out == *"expected a whole number"* ]] || fail "1.5G: $out"
	out=$("$MKDISK" "$T/no-dir/m.img" 1G 2>&1) && fail "mkdisk made a disk in a missing folder"
	[[ $out == *"no folder"* ]] || fail "missing folder: $out"
	"$MKDISK" "$T/m.img" 1G || fail "mkdisk 1G failed"
	out=$("$MKDISK" "$T/m.img" 2G 2>&1) && fail "mkdisk replaced a disk"
	[[ $out == *"exists; not replacing it"* ]] || fail "existing: $out"
	[ "$(stat -c %s "$T/m.img")" = $((1 << 30)) ] || fail "the 1G disk changed size"
	[ "$(du -k "$T/m.img" | cut -f1)" -lt 4096 ] || fail "the 1G disk is not sparse: $(du -k "$T/m.img")"
	[ -z "$(find "$T" -maxdepth 1 -name 'm.img.*')" ] || fail "temporary files left: $(ls "$T")"
	expect_fsck_clean "$T/m.img"
	rm -f "$T/m.img"
}

# --- the base template (Debian) ----------------------------------------------------

test_template_base_node_npm_python_git() {
	need_template "$TPL_BASE" base || return
	new_disk 1G
	# Read straight from the cache (read-only in the test host).
	tvm "$TPL_BASE/rootfs.ext4,ro" "$T/sb.img" -m 512 -- sh -c 'set -e
		id -un; echo "$HOME"
		node -e "console.log(String(6 * 7))"
		npm --version
		python3 -c "print(2 ** 10)"
		git init -q proj && cd proj && echo hello >README
		git add README && git -c user.name=Agent -c user.email=agent@airlock.invalid commit -q -m first
		git --no-pager log --format=%s'
	expect_rc 0
	grep -qxE '[0-9]+\.[0-9]+\.[0-9]+' "$T/out" || fail "no npm version: $(cat "$T/out")"
	[ "$(grep -vxE '[0-9]+\.[0-9]+\.[0-9]+' "$T/out")" = "agent
/home/agent
42
1024
first" ] || fail "unexpected output: $(head -c 600 "$T/out"); stderr $(head -c 600 "$T/err")"
	# The repository is still there on the next boot.
	tvm "$TPL_BASE/rootfs.ext4,ro" "$T/sb.img" -m 512 -- sh -c 'cd proj && git --no-pager log --format=%s && cat README && git status --short | wc -l'
	expect_rc 0
	expect_out "first
hello
0"
	expect_fsck_clean "$T/sb.img"
	[ "$(sha256sum <"$TPL_BASE/rootfs.ext4" | cut -d' ' -f1)" = "$(jq -r .image.sha256 "$TPL_BASE/manifest.json")" ] ||
		fail "the base template's sha256 differs from its manifest"
}

# The workspace sync end to end (docs/sync.md): `airlock run` copies the
# current folder into a real guest, the agent's changes come back while it
# runs, the host's go in, a named sandbox reconciles on its next run, and
# what a hostile or confused guest sends is refused or held. Sourced by
# tests/integration/run; every test works in its own empty folder ($PWD).

# srun NAME [OPTIONS...] -- CMD...: `airlock run` of sandbox NAME on the
# test template in the current folder; sets RC, $T/out, $T/err.
srun() {
	local name=$1
	shift
	timeout -k 5 300 "$CLI" run --name "$name" --template test -m 256 "$@" \
		</dev/null >"$T/out" 2>"$T/err"
	RC=$?
}

# The listing both sides compare: every path's type and mode bits, its
# mtime (seconds; a folder's only with "full": folders' mtimes move with
# what is made in them), each file's md5, each link's target. The same
# commands run in the guest (busybox) and on the host (GNU).
LIST_SCRIPT='
export LC_ALL=C
find . -mindepth 1 ! -type d -exec stat -c "%n %f %a %Y" {} + | sort
if [ "${1:-}" = full ]; then
	find . -mindepth 1 -type d -exec stat -c "%n %f %a %Y" {} + | sort
else
	find . -mindepth 1 -type d -exec stat -c "%n %f %a" {} + | sort
fi
find . -type f -exec md5sum {} + | sort -k2
find . -type l | sort | while IFS= read -r l; do printf "%s -> %s\n" "$l" "$(readlink "$l")"; done
'

host_list() { sh -c "$LIST_SCRIPT" list "$@"; }

# same_listing FILE-A FILE-B WHAT: fails with the first differences.
same_listing() {
	if ! cmp -s "$1" "$2"; then
		fail "$3: $(diff "$1" "$2" | head -20)"
	fi
}

# A project made here: a few thousand files in nested folders, binaries,
# links (relative, to a folder, dangling, absolute), empty folders, exec
# bits, names with spaces and UTF-8, mtimes with nanoseconds.
make_tree() {
	python3 - "$1" "${2:-2500}" <<'EOF'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
dirs = [""]
for i in range(40):
    parent = random.choice(dirs)
    name = random.choice(["src", "lib", "doc", "dir with space", "données", "日本"]) + str(i)
    d = os.path.join(parent, name)
    os.makedirs(os.path.join(root, d), exist_ok=True)
    dirs.append(d)
for i in range(n):
    d = random.choice(dirs)
    name = random.choice(["file", "x y", "é", "README", "main"]) + "%d.%s" % (i, random.choice(["c", "txt", "md", "sh"]))
    p = os.path.join(root, d, name)
    with open(p, "wb") as f:
        if i % 50 == 0:
            f.write(os.urandom(random.randint(10000, 150000)))
        else:
            f.write(("line %d of %s\n" % (i, name) * random.randint(0, 60)).encode())
    os.chmod(p, 0o755 if i % 7 == 0 else 0o644)
    os.utime(p, ns=(1600000000123456789 + i * 1000003, 1600000000123456789 + i * 1000003))
for i, d in enumerate(["empty", "src0/empty too", "deep/a/b/c/d/e/f/g"]):
    os.makedirs(os.path.join(root, d), exist_ok=True)
os.symlink("file1.c", os.path.join(root, "rel-link"))
os.symlink("src0", os.path.join(root, "dir-link"))
os.symlink("no/such/target", os.path.join(root, "dangling"))
os.symlink("/etc/hostname", os.path.join(root, "absolute"))
with open(os.path.join(root, "file1.c"), "w") as f:
    f.write("int main(void) { return 0; }\n")
EOF
}

test_sync_round_trip() {
	cli_env
	mkdir proj && cd proj || return
	make_tree . 2500
	# The folders' own mtimes are kept on the way in too.
	host_list full >"$T/host0"
	srun rt -- sh -c "$LIST_SCRIPT" list full
	expect_rc 0
	same_listing "$T/host0" "$T/out" "the guest's copy differs from the host's"
	[ "$(grep -c . "$T/host0")" -gt 5000 ] || fail "the listing is too short: $(wc -l <"$T/host0")"
	grep -qE '^airlock: [0-9]+ files in; synced 0 changes back; 0 held for review; 0 conflicts$' \
		"$T/err" || fail "summary: $(cat "$T/err")"

	# The agent's edits: new, changed, deleted, renamed (file and folder),
	# modes, links, an empty folder; the host gets exactly its tree.
	srun rt -- sh -c '
		set -e
		echo new >"new file é.txt"
		mkdir -p "made/in guest/empty"
		printf "changed\n" >>file1.c
		rm -f src1*/main*.c 2>/dev/null || true
		rm -rf deep/a/b/c
		mv rel-link rel-link-moved
		mv dir-link dir-link-moved
		for d in src*; do [ -d "$d" ] && mv "$d" "$d-renamed" && break; done
		chmod 700 empty
		chmod +x "new file é.txt"
		ln -s "../etc/passwd" made/escape
		head -c 300000 /dev/urandom >made/random.bin
		touch -d @1234567890 file1.c
		sleep 1
		'"$LIST_SCRIPT"
	expect_rc 0
	host_list >"$T/host1"
	same_listing "$T/out" "$T/host1" "the host's tree differs from the guest's after its edits"

	# The host's edits go in on the next run of the same sandbox.
	echo "host edit" >>file1.c
	mkdir -p host-made/sub && echo h >host-made/sub/f
	rm -f "new file é.txt"
	chmod 600 made/random.bin
	host_list >"$T/host2"
	srun rt -- sh -c "$LIST_SCRIPT" list
	expect_rc 0
	same_listing "$T/host2" "$T/out" "the guest's tree differs from the host's after the host's edits"
	grep -qE '^airlock: [1-9][0-9]? files? in;' "$T/err" ||
		fail "the second run should send only what changed: $(cat "$T/err")"
}

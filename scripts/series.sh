#!/bin/bash
# The patch series as a maintainer receives it, and its proof.
#
#   series.sh export   (make series)       build/series/: git format-patch of build/linux's chain
#                                          (cdev-dev..HEAD, one commit per patch of patches/series,
#                                          new files in the patch that introduces them), numbered,
#                                          with the cover letter from patches/cover-letter
#   series.sh check    (make series-check) apply build/series/ with git am to a clean base in a
#                                          worktree of its own, and after every patch: build the
#                                          debug VM kernel (incremental, ccache), build the
#                                          selftests, checkpatch --strict the patch, W=1 + sparse
#                                          on the C files it touches; from the patch that adds
#                                          the KUnit suite on: the UML KUnit suite.
#                                          Report: build/results/series-check.md
#
# env (check): SERIES_KUNIT=each|ends|last (default each: KUnit after every patch from the suite's
#              on; ends: after the patch that adds it and after the last; last: after the last only),
#              SERIES_FROM=N (start checking at patch N; the tree is still applied from 1, and the
#              rows of patches before N are kept from the previous report)
set -uo pipefail
. "$(dirname "$0")/common.sh"

SER=$BUILD/series
SC=$BUILD/series-check
SCL=$SC/linux        # same depth as build/linux: ccache (CCACHE_BASEDIR=$REPO) hits across both
SCO=$SC/out
G() { git -C "$LINUX" -c core.quotepath=off "$@"; }

cmd_export() {
	"$REPO/scripts/tree.sh" apply >/dev/null || die "make tree failed"
	local n
	n=$(G rev-list --count refs/tags/cdev-dev..HEAD)
	rm -rf "$SER"; mkdir -p "$SER"
	# the cover letter's From: is the author of the series, not the workbench
	GIT_COMMITTER_NAME="$(G log -1 --format=%an HEAD)" GIT_COMMITTER_EMAIL="$(G log -1 --format=%ae HEAD)" \
		G format-patch -q --cover-letter --thread=shallow --subject-prefix=PATCH -o "$SER" \
		refs/tags/cdev-dev..HEAD || die "format-patch failed"
	python3 "$REPO/scripts/series-cover.py" "$LINUX" "$REPO/patches/cover-letter" "$SER"/0000-cover-letter.patch \
		"$(base_version)" || die "cover letter failed"
	info "build/series: cover letter + $n patches"
	(cd "$SER" && ls | sed 's/^/  /')
}

# patch_files PATCH -> paths the patch touches (new side)
patch_files() { sed -n 's|^+++ b/||p' "$1" | sort -u; }

# checkpatch_one PATCH LOGDIR: sets cp to "ok" or what is wrong
checkpatch_one() {
	local p=$1 l=$2
	# checkpatch on the patch as mailed.  Two findings are checked here instead: a Fixes: id
	# cannot be looked up in a base without upstream history (UNKNOWN_COMMIT_ID), and
	# "does MAINTAINERS need updating?" (FILE_PATH_CHANGES) is right when get_maintainer.pl
	# finds a section for every new file
	local ign=UNKNOWN_COMMIT_ID uncovered=() f
	while IFS= read -r f; do
		(cd "$SCL" && ./scripts/get_maintainer.pl --no-git --no-git-fallback --no-rolestats -f "$f" 2>/dev/null) |
		grep -qvE 'linux-kernel@vger.kernel.org|Linus Torvalds' || uncovered+=("$f")
	done < <(awk '/^--- \/dev\/null/ { getline; sub(/^\+\+\+ b\//, ""); print }' "$p")
	[ ${#uncovered[@]} -eq 0 ] && ign+=,FILE_PATH_CHANGES
	# Debian's python3 (python3-ply) for spdxcheck.py: a python3 earlier in PATH may lack ply
	(cd "$SCL" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict -q --ignore "$ign" --summary-file "$p") \
		>"$l/checkpatch.log" 2>&1
	if grep -q 'Traceback' "$l/checkpatch.log"; then
		cp="checkpatch failed to run"
	elif ! grep -qE '^(ERROR|WARNING|CHECK):' "$l/checkpatch.log"; then
		cp=ok
	else
		cp="$(grep -cE '^(ERROR|WARNING|CHECK):' "$l/checkpatch.log") findings"
	fi
	[ ${#uncovered[@]} -eq 0 ] || echo "no MAINTAINERS section: ${uncovered[*]}" >>"$l/checkpatch.log"
}

cmd_check() {
	[ -f "$SER/0000-cover-letter.patch" ] || cmd_export >/dev/null || die "make series failed"
	# a copy: make series may run again while this checks
	rm -rf "$SC/series"; mkdir -p "$SC"; cp -r "$SER" "$SC/series"
	mapfile -t pats < <(ls "$SC"/series/[0-9]*.patch | grep -v /0000-)
	local n=${#pats[@]} from=${SERIES_FROM:-1} kmode=${SERIES_KUNIT:-each}
	mkdir -p "$SC" "$RES"
	local rep=$RES/series-check.md log=$SC/log
	[ -f "$rep" ] && cp "$rep" "$SC/report.prev"
	mkdir -p "$log"
	# a worktree at the base, the series applied with git am as a maintainer would
	if [ -e "$SCL/.git" ]; then
		git -C "$SCL" am --abort >/dev/null 2>&1 || true
		git -C "$SCL" checkout -q --detach refs/tags/cdev-dev || die "series-check worktree"
	else
		G worktree prune
		G worktree add -q --detach "$SCL" refs/tags/cdev-dev || die "cannot create $SCL"
	fi
	git -C "$SCL" clean -q -fdx -e '!.git'
	local frags=("$REPO/vm/base.config" "$REPO/vm/debug.config" "$REPO/vm/9p-root.config")
	cp "$LINUX/tools/testing/selftests/cdev_revoke/config" "$SC/selftests.config"
	local t0 i p name kunit_on=0 fail=0 results=()
	t0=$(date +%s)
	{
		echo "# make series-check: $n patches on $(base_version)"
		echo
		echo "Started $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs; each patch applied with \`git am\`,"
		echo "then: the debug VM kernel (the configuration of make check: base + debug + 9p + the selftests'"
		echo "config of the whole series; options of later patches are dropped), the"
		echo "selftests, \`checkpatch.pl --strict\`, \`W=1\` and sparse (\`C=2\`) on the C files the patch touches,"
		echo "and the UML KUnit suite once the patch that adds it is in."
		echo
		echo "| # | patch | am | VM build | selftests | checkpatch | W=1 | sparse | KUnit (UML) | s |"
		echo "|---|---|---|---|---|---|---|---|---|---|"
	} >"$rep"
	for ((i = 0; i < n; i++)); do
		p=${pats[$i]}; name=$(basename "$p" .patch)
		local num=$((i + 1)) ts am=ok vb=- st=- cp=- w1=- sp=- ku=- l=$log/$name
		ts=$(date +%s)
		mkdir -p "$l"
		if ! git -C "$SCL" am -q --keep-cr "$p" >"$l/am.log" 2>&1; then
			am=FAIL; fail=1
			echo "| $num | $name | FAIL | | | | | | | |" >>"$rep"
			echo "ERROR: $name does not apply with git am (see $l/am.log)" >&2
			break
		fi
		grep -q '^+++ b/fs/cdev_revoke/kunit.c' "$p" && kunit_on=1
		if [ "$num" -lt "$from" ]; then
			# checkpatch again (cheap); the other columns from the run that built it, if any
			local prev
			checkpatch_one "$p" "$l"
			[ "$cp" = ok ] || fail=1
			prev=$(grep -E "^\| $num \| $name \| ok \| [a-z]" "$SC/report.prev" 2>/dev/null | tail -1)
			if [ -n "$prev" ]; then
				echo "$prev" | awk -F' [|] ' -v OFS=' | ' -v cp="$cp" '{ $6 = cp; print }' >>"$rep"
			else
				echo "| $num | $name | ok | (skipped) | | $cp | | | | |" >>"$rep"
			fi
			continue
		fi
		info "series-check [$num/$n] $name"
		# the debug VM kernel, one configuration for every patch (that of make check: options of
		# later patches do not exist yet and are dropped), so that each build is incremental
		local cfgs=("${frags[@]}" "$SC/selftests.config")
		if RES=$l ALLOW_MISSING=1 "$REPO/scripts/build-kernel.sh" "$SCL" "$SCO/vm" series-vm "${cfgs[@]}" >"$l/build.log" 2>&1; then
			vb=ok
		else
			vb=FAIL; fail=1
		fi
		if [ "$vb" = ok ] && [ -d "$SCL/tools/testing/selftests/cdev_revoke" ]; then
			mkdir -p "$SCO/selftests"
			if make -C "$SCL/tools/testing/selftests/cdev_revoke" OUTPUT="$SCO/selftests" \
				KHDR_INCLUDES="-isystem $SCO/vm/usr/include" >"$l/selftests.log" 2>&1; then st=ok; else st=FAIL; fail=1; fi
		fi
		checkpatch_one "$p" "$l"
		[ "$cp" = ok ] || fail=1
		# W=1 and sparse on the C files the patch touches that this configuration builds
		local objs=() f
		while IFS= read -r f; do
			case $f in
			*.c) [ -f "$SCO/vm/${f%.c}.o" ] && objs+=("${f%.c}.o") ;;
			esac
		done < <(patch_files "$p")
		if [ "$vb" = ok ] && [ ${#objs[@]} -gt 0 ]; then
			# the objects are rebuilt so that the warnings are seen; touch keeps ccache out of the way
			(cd "$SCO/vm" && rm -f "${objs[@]}")
			if make -C "$SCL" O="$SCO/vm" -j"$JOBS" W=1 "${objs[@]}" >"$l/w1.log" 2>&1; then
				local nw; nw=$(grep -c 'warning:' "$l/w1.log")
				if [ "$nw" -eq 0 ]; then w1="ok (${#objs[@]})"; else w1="$nw warnings"; fail=1; fi
			else
				w1=FAIL; fail=1
			fi
			if make -C "$SCL" O="$SCO/vm" -j"$JOBS" C=2 CF="-D__CHECK_ENDIAN__" "${objs[@]}" >"$l/sparse.log" 2>&1; then
				local ns; ns=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' "$l/sparse.log" | grep -c .)
				if [ "$ns" -eq 0 ]; then sp="ok (${#objs[@]})"; else sp="$ns warnings"; fail=1; fi
			else
				sp=FAIL; fail=1
			fi
		elif [ "$vb" = ok ]; then
			w1="n/a"; sp="n/a"
		fi
		if [ "$kunit_on" = 1 ] && { [ "$kmode" = each ] || [ "$num" = "$n" ] ||
			{ [ "$kmode" = ends ] && grep -q '^+++ b/fs/cdev_revoke/kunit.c' "$p"; }; }; then
			if LINUX=$SCL OUT=$SCO RES=$l "$REPO/scripts/kunit.sh" >"$l/kunit.log" 2>&1; then
				ku=$(python3 "$REPO/scripts/ktap.py" count "$l/kunit-uml.tap" 2>/dev/null | tail -1 | sed "s|^.*: ||")
				[ -n "$ku" ] || ku=ok
			else
				ku="FAIL: $(python3 "$REPO/scripts/ktap.py" count "$l/kunit-uml.tap" 2>/dev/null | tail -1 | sed "s|^.*: ||")"; fail=1
			fi
		fi
		echo "| $num | $name | $am | $vb | $st | $cp | $w1 | $sp | $ku | $(($(date +%s) - ts)) |" >>"$rep"
		tail -1 "$rep"
	done
	local deb
	deb=$(debian_overlap "$SC/series") || fail=1
	{
		echo
		echo "$deb"
		echo
		echo "Total: $(( ($(date +%s) - t0) / 60 )) min; per-patch logs in build/series-check/log/."
		if [ $fail = 0 ]; then echo "RESULT: every patch applies, builds, and is clean"; else echo "RESULT: FAILED (see the table)"; fi
	} >>"$rep"
	cat "$rep"
	return $fail
}

# debian_overlap PATCHDIR -> a line for the report: whether the series touches a file that Debian's own
# patches change. The source package is fetched through a private sources list (deb-src of the
# security suite of the machine's configured mirror): the system's apt configuration is not touched.
debian_overlap() {
	local d=$BUILD/debian-src uri f v
	local A=$d/apt
	mkdir -p "$d"
	papt_init "$A"
	uri=$(apt_mirror_uris | grep -m1 security)
	[ -n "$uri" ] || { echo "Debian's patches: not checked (no security mirror configured)"; return; }
	echo "deb-src $uri $(. /etc/os-release; echo "$VERSION_CODENAME")-security main" >"$A/sources.list"
	local src=linux-${BASE_PKG#linux-source-} vs got=
	PAPT_TIMEOUT=300 papt "$A" -qq update >/dev/null 2>&1 ||
		{ echo "Debian's patches: not checked (the archive cannot be reached)"; return; }
	# the base's own version first; when the archive no longer has it, the newest one it has
	vs=$( { dpkg-query -W -f='${Version}\n' "$BASE_PKG" 2>/dev/null
		papt_cache "$A" showsrc "$src" 2>/dev/null | sed -n 's/^Version: //p' | sort -rV; } | awk '!seen[$0]++')
	for v in $vs; do
		if (cd "$d" && PAPT_TIMEOUT=600 papt "$A" -qq source --download-only --diff-only "$src=$v" >/dev/null 2>&1); then
			got=$v; break
		fi
	done
	[ -n "$got" ] || { echo "Debian's patches: not checked (no version of $src could be fetched)"; return; }
	local note=
	[ "$got" = "$(dpkg-query -W -f='${Version}' "$BASE_PKG" 2>/dev/null)" ] || note=", the nearest the archive serves"
	f=$(ls "$d"/*"_${got}.debian.tar.xz" 2>/dev/null | tail -1)
	[ -n "$f" ] || { echo "Debian's patches: not checked (no debian.tar.xz fetched)"; return; }
	v=$(basename "$f" .debian.tar.xz)
	rm -rf "$d/x"; mkdir -p "$d/x"; tar -xJf "$f" -C "$d/x" debian/patches
	local series=$d/x/debian/patches/series
	sed -e 's/#.*//' -e 's/ .*//' "$series" | grep . | while IFS= read -r p; do
		sed -n -e 's|^+++ b/||p' -e 's|^+++ [^/ ]*/||p' "$d/x/debian/patches/$p" 2>/dev/null
	done | sort -u >"$d/debian-files"
	cat "$1"/[0-9]*.patch | sed -n 's|^+++ b/||p' | sort -u >"$d/series-files"
	local both
	both=$(comm -12 "$d/debian-files" "$d/series-files" | tr '\n' ' ')
	if [ -z "$both" ]; then
		echo "Debian's patches ($v$note: $(grep -c . "$d/debian-files") files in $(sed -e 's/#.*//' "$series" | grep -c .) patches): none of them is touched by the series"
	else
		echo "Debian's patches ($v): the series also touches $both"
		return 1
	fi
}

# every arm exits: bash reads a script as it runs it, and this one may be edited meanwhile
case "${1:-}" in
export) cmd_export; exit $? ;;
check) cmd_check; exit $? ;;
debian) debian_overlap "$SER"; exit $? ;;
*) die "usage: $0 export|check|debian" ;;
esac

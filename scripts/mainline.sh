#!/bin/bash
# mainline.sh: forward port of the project to the newest Debian kernel source of the 7.x line.
#
#   mainline.sh            all of the steps below, in order (make mainline)
#   mainline.sh fetch      download linux-source-7.N (newest N) with apt through a private sources
#                          list made from this machine's configured Debian mirror; extract it to
#                          build/mainline/src (the system's apt configuration is not touched)
#   mainline.sh tree       build/mainline/linux = 7.x base + patches/series (a ported version from
#                          mainline/ where one does not apply) + overlay + the port patches of mainline/series
#                          (scripts/tree.sh with LINUX/BASE_TARBALL/BASE_PKG overridden); writes the
#                          per-patch apply report build/results/mainline.md
#   mainline.sh kunit      UML KUnit of the core on the 7.x tree
#   mainline.sh vm         x86_64 SMP (-smp 2) KUnit boot of the core on the 7.x tree
#   mainline.sh checkpatch checkpatch.pl --strict (of the 7.x tree) on mainline/*.patch
#   mainline.sh check-drivers  compile check (W=1) of the converted drivers, which the VM leaves out
#   mainline.sh report     the apply report alone (build/results/mainline.md)
#
# Everything that differs between the 6.12 base and 7.x lives in mainline/ (a patch series applied
# after patches/series) and in this script. Not part of make check: the 7.x source package is not
# permanent in the archive. Exit non-zero, with a one-line reason, when no 7.x source can be had.
set -uo pipefail
. "$(dirname "$0")/common.sh"
ML=$BUILD/mainline
APT=$ML/apt
SRC=$ML/src
MLINUX=$ML/linux
MREPORT=$RES/mainline.md
PORTS=$REPO/mainline
mkdir -p "$ML" "$RES"
TMPS=()
trap 'rm -rf "${TMPS[@]}"' EXIT

# --- fetch -------------------------------------------------------------------------------------

# pick_mirror -> the first configured Debian mirror that is not a security, snapshot or ports archive
pick_mirror() {
	local u
	while IFS= read -r u; do
		case $u in *security* | *snapshot* | *ports*) continue ;; esac
		echo "${u%/}"; return 0
	done < <(apt_mirror_uris)
	return 1
}

# keyring_for SUITE MIRROR: a keyring that verifies SUITE's Release file. The system's
# debian-archive-keyring may predate the suite's signing key: then fail with that reason (we never
# fetch a key from the network: the archive keyring package is the trust anchor).
check_keyring() {
	local kr=/usr/share/keyrings/debian-archive-keyring.gpg suite=$1 mirror=$2 ir=$APT/check-$1.InRelease
	[ -f "$kr" ] || { echo "no $kr"; return 1; }
	# apt's own downloader (no curl or wget needed)
	/usr/lib/apt/apt-helper -o Acquire::http::Timeout=60 download-file "$mirror/dists/$suite/InRelease" "$ir" >/dev/null 2>&1 ||
		{ echo "cannot download $suite/InRelease"; return 1; }
	if gpgv --keyring "$kr" "$ir" >"$APT/gpgv-$suite.log" 2>&1; then return 0; fi
	echo "$suite is signed by a key not in $kr ($(grep -o 'using [A-Z]* key [0-9A-F]*' "$APT/gpgv-$suite.log" | head -1)); install a newer debian-archive-keyring"
	return 1
}

# fetch_fail REASON: go on with the source fetched earlier if there is one, else stop (exit 2)
fetch_fail() {
	if [ -f "$ML/source.env" ] && [ -f "$(. "$ML/source.env"; echo "$ML_TARBALL")" ]; then
		. "$ML/source.env"
		echo "WARNING: $1; using $ML_PKG $ML_VERSION fetched earlier" >&2
		return 0
	fi
	echo "mainline: no 7.x source: $1" >&2
	exit 2
}

cmd_fetch() {
	local mirror suites=(trixie-backports sid trixie forky) s ok=() why=()
	mirror=$(pick_mirror) || { fetch_fail "no Debian mirror configured in /etc/apt (sources.list or sources.list.d/*.sources)"; return; }
	info "mirror from the machine's apt configuration: $mirror"
	papt_init "$APT"
	for s in "${suites[@]}"; do
		local r
		if r=$(check_keyring "$s" "$mirror"); then ok+=("$s"); else why+=("$s: $r"); fi
	done
	[ ${#ok[@]} -gt 0 ] || { printf '  %s\n' "${why[@]}" >&2; fetch_fail "no suite of $mirror could be verified with the local keyring"; return; }
	[ ${#why[@]} -eq 0 ] || printf '  skipped %s\n' "${why[@]}"
	{
		echo "Types: deb"; echo "URIs: $mirror"; echo "Suites: ${ok[*]}"; echo "Components: main"
		echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
	} >"$APT/sources.list.d/mainline.sources"
	info "apt-get update (private lists in $APT; suites: ${ok[*]})"
	papt "$APT" update >"$APT/update.log" 2>&1 || { tail -5 "$APT/update.log" >&2; fetch_fail "apt-get update of the private list failed (log: $APT/update.log)"; return; }
	# newest linux-source-7.N over all suites: the package with the highest N, its highest version
	local pkg ver
	pkg=$(papt_cache "$APT" pkgnames linux-source-7. 2>/dev/null | grep -E '^linux-source-7\.[0-9]+$' | sort -t. -k2,2n | tail -1)
	[ -n "$pkg" ] || { fetch_fail "no linux-source-7.N package in ${ok[*]} of $mirror"; return; }
	ver=$(papt_cache "$APT" madison "$pkg" | awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -V | tail -1)
	info "newest 7.x source: $pkg $ver"
	if [ -f "$ML/source.env" ] && (. "$ML/source.env"; [ "$ML_PKG $ML_VERSION" = "$pkg $ver" ] && [ -f "$ML_TARBALL" ]); then
		. "$ML/source.env"; info "already fetched: $ML_TARBALL"; return 0
	fi
	(cd "$APT/cache/archives" && rm -f ./*.deb && papt "$APT" download "$pkg=$ver" >"$APT/download.log" 2>&1) ||
		{ tail -5 "$APT/download.log" >&2; fetch_fail "apt-get download $pkg=$ver failed"; return; }
	local deb; deb=$(ls "$APT"/cache/archives/"${pkg}"_*.deb | head -1)
	info "extracting $deb"
	rm -rf "$SRC"; mkdir -p "$SRC"
	dpkg-deb -x "$deb" "$SRC" || { echo "mainline: no 7.x source: dpkg-deb -x $deb failed" >&2; exit 2; }
	local tb; tb=$(ls "$SRC"/usr/src/linux-source-7.*.tar.xz 2>/dev/null | head -1)
	[ -f "$tb" ] || { echo "mainline: no 7.x source: no tarball in $deb" >&2; exit 2; }
	{ echo "ML_PKG=$pkg"; echo "ML_VERSION=$ver"; echo "ML_TARBALL=$tb"; echo "ML_MIRROR_SUITES='${ok[*]}'"; } >"$ML/source.env"
	rm -f "$deb"
	info "7.x source: $pkg $ver -> $tb"
}


# --- tree --------------------------------------------------------------------------------------

load_source() {
	[ -f "$ML/source.env" ] || cmd_fetch
	. "$ML/source.env"
	[ -f "$ML_TARBALL" ] || die "$ML_TARBALL missing: rm $ML/source.env and run $0 fetch"
}
# the tree.sh environment for the 7.x tree
TREE_ENV() { env LINUX="$MLINUX" BASE_TARBALL="$ML_TARBALL" BASE_PKG="$ML_PKG" CCACHE_BASEDIR="$REPO" "$@"; }
MG() { git -C "$MLINUX" -c core.quotepath=off "$@"; }

# series_notes FILE NAME: the indented lines that follow NAME in FILE (what tree.sh may read as
# annotations of that patch, e.g. the new files it introduces), kept in the generated series
series_notes() {
	awk -v n="$2" '/^[^[:space:]#]/ { sub(/[[:space:]]+$/, ""); cur = ($0 == n); next }
		cur && /^[[:space:]]+[^[:space:]]/ { print }' "$1"
}
patch_files() { sed -n 's|^diff --git a/\([^ ]*\) b/.*|\1|p' "$1" | sort -u; }

# The 6.12 preimage of every file the series touches, and the blob after each patch, in the 7.x
# repository: what `git apply -3` needs to merge a patch whose context moved on 7.x.
import_612_blobs() {
	local stamp=$ML/blobs612.stamp want tmp f p
	want=$(cat "$REPO"/patches/*.patch "$REPO/patches/series" | sha1sum | cut -d' ' -f1)
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
	local base612=/usr/src/linux-source-6.12.tar.xz
	[ -f "$base612" ] || { echo "  (no $base612: no 3-way merges, patches that do not apply are conflicts)"; return 0; }
	info "importing the 6.12 preimages of the series (3-way merge bases) from $base612"
	tmp=$(mktemp -d); TMPS+=("$tmp")
	for p in $(series_patches "$REPO/patches/series"); do patch_files "$REPO/patches/$p"; done | sort -u >"$tmp/files"
	mkdir -p "$tmp/src"
	local pats=(); mapfile -t pats < <(sed 's|^|*/|' "$tmp/files")
	tar -xJf "$base612" -C "$tmp/src" --strip-components=1 --wildcards "${pats[@]}" 2>/dev/null || true
	export GIT_INDEX_FILE=$tmp/index
	while IFS= read -r f; do
		[ -f "$tmp/src/$f" ] || continue
		printf '100644 %s\t%s\n' "$(MG hash-object -w --no-filters "$tmp/src/$f")" "$f"
	done <"$tmp/files" | MG update-index --add --index-info
	for p in $(series_patches "$REPO/patches/series"); do
		MG apply --cached "$REPO/patches/$p" 2>/dev/null || echo "  WARNING: $p does not apply to the 6.12 preimages"
	done
	MG write-tree >/dev/null
	# the blobs live in the index file only until written: write them
	MG ls-files -s | awk '{print $2}' | MG cat-file --batch-check >/dev/null
	unset GIT_INDEX_FILE
	echo "$want" >"$stamp"
}

# analyse: try every patch of patches/series on the 7.x base, in order, in a temporary index:
# as it is, else by 3-way merge against its 6.12 preimage, else take the ported version
# mainline/<name> if there is one, else record the conflict and go on without it.
# Writes $ML/repo (a tree.sh REPO: patches/series of what applies + the overlay) and $ML/analysis.
analyse() {
	local tmp p n=0 parent tree
	tmp=$(mktemp -d); TMPS+=("$tmp")
	local G_=$ML/repo
	rm -rf "$G_"; mkdir -p "$G_/patches"
	: >"$ML/analysis"
	export GIT_INDEX_FILE=$tmp/index
	MG read-tree refs/tags/cdev-dev
	parent=$(MG rev-parse 'refs/tags/cdev-dev^{commit}')
	for p in $(series_patches "$REPO/patches/series"); do
		n=$((n + 1))
		local f=$REPO/patches/$p how detail=
		if MG apply --cached --check "$f" 2>/dev/null; then
			how=unchanged
		elif [ -f "$PORTS/$p" ] && MG apply --cached --check "$PORTS/$p" 2>/dev/null; then
			how=ported f=$PORTS/$p
			detail=$(MG apply --cached --check --reject "$REPO/patches/$p" 2>&1 | sed -n 's/^error: patch failed: /hunk at /p' | tr '\n' ' ')
		else
			MG read-tree "$(MG write-tree)"
			detail=$(MG apply --cached --check --reject "$f" 2>&1 | sed -n 's/^error: patch failed: /hunk at /p' | tr '\n' ' ')
			if MG apply --cached -3 "$f" >"$tmp/3way.log" 2>&1; then
				how=3way
			else
				how=conflict
				detail="$detail($(grep -E '^U ' "$tmp/3way.log" | sed 's/^U //' | tr '\n' ' ' | sed 's/ $//'): 3-way conflict)"
				# undo a partial 3-way application
				MG read-tree "$(MG rev-parse "$parent^{tree}")"
			fi
		fi
		if [ "$how" = unchanged ] || [ "$how" = ported ]; then MG apply --cached "$f"; fi
		if [ "$how" != conflict ]; then
			tree=$(MG write-tree)
			MG mailinfo "$tmp/msg" "$tmp/patch" <"$REPO/patches/$p" >"$tmp/info"
			local subj; subj=$(sed -n 's/^Subject: //p' "$tmp/info")
			parent=$( { echo "$subj"; echo; cat "$tmp/msg"; } | GIT_AUTHOR_DATE="2000-01-01T00:00:00 +0000" \
				GIT_COMMITTER_DATE="2000-01-01T00:00:00 +0000" MG commit-tree "$tree" -p "$parent")
			if [ "$how" = unchanged ]; then cp "$REPO/patches/$p" "$G_/patches/$p"
			elif [ "$how" = ported ]; then cp "$PORTS/$p" "$G_/patches/$p"
			else
				# the merged result, as a patch tree.sh applies as it is (original message kept)
				{ sed -n '1,/^---$/p' "$REPO/patches/$p" | sed '$d'; echo "[forward-ported to $ML_PKG by 3-way merge: make mainline]"; echo '---';
					MG diff --no-renames --full-index "$parent^" "$parent"; } >"$G_/patches/$p"
			fi
			{ echo "$p"; series_notes "$REPO/patches/series" "$p"; } >>"$G_/patches/series"
		fi
		printf '%s\t%s\t%s\t%s\n' "$n" "$p" "$how" "$detail" >>"$ML/analysis"
	done
	unset GIT_INDEX_FILE
	# the overlay, as the repo has it (tracked and untracked-not-ignored), in a repository of its own
	git -C "$REPO" -c core.quotepath=off ls-files -co --exclude-standard -- "${OVERLAY_DIRS[@]}" | sort -u |
		while IFS= read -r f; do [ -f "$REPO/$f" ] && echo "$f"; done >"$tmp/overlay"
	(cd "$REPO" && xargs -d '\n' cp --parents -p -t "$G_/" <"$tmp/overlay")
	git -C "$G_" init -q
}

# port patches: mainline/series, applied on top of tree.sh's chain as commits of their own
apply_ports() {
	local p
	for p in $(series_patches "$PORTS/series"); do
		GIT_COMMITTER_DATE="2000-01-01T00:00:00 +0000" MG -c user.name="cdev-revoke workbench" -c user.email=workbench@localhost \
			am -q --committer-date-is-author-date "$PORTS/$p" >"$ML/am.log" 2>&1 ||
			{ cat "$ML/am.log"; MG am --abort 2>/dev/null; die "port patch mainline/$p does not apply on the 7.x chain"; }
		echo "  port: $(MG log -1 --format='%h %s')"
	done
}

write_report() {
	local out=$MREPORT n p how detail
	{
		echo "# make mainline: the series on $ML_PKG $ML_VERSION"
		echo
		echo "Base: Linux $(make -s -C "$MLINUX" kernelversion) from Debian \`$ML_PKG\` $ML_VERSION (suites tried: $ML_MIRROR_SUITES)."
		echo "Each patch of \`patches/series\` is applied in order on that base: *unchanged* (\`git apply\` as it is),"
		echo "*3-way* (its context moved on 7.x; \`git apply -3\` against its 6.12 preimage merged it cleanly),"
		echo "*ported* (a ported version in \`mainline/\` replaces it), or *conflict* (left out of the 7.x tree)."
		echo
		echo "| # | patch | on 7.x | where it did not apply as it is |"
		echo "|---|---|---|---|"
		while IFS=$'\t' read -r n p how detail; do
			echo "| $n | \`$p\` | $how | ${detail:--} |"
		done <"$ML/analysis"
		echo
		echo "Why (\`mainline/notes\`):"
		echo
		while IFS=$'\t' read -r n p how detail; do
			local why; why=$(grep -v '^#' "$PORTS/notes" 2>/dev/null | sed -n "s/^${p%%-*} //p")
			[ -n "$why" ] && echo "- **${p%%-*}** ($how): $why"
		done <"$ML/analysis"
		echo
		echo "Counts: $(cut -f3 "$ML/analysis" | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}' | sed 's/, $//')."
		echo
		echo "Port patches on top of the overlay (\`mainline/series\`):"
		echo
		local c
		for c in $(MG rev-list --reverse "refs/cdev/generated..HEAD"); do echo "- \`$(MG log -1 --format='%s' "$c")\`"; done
		[ -f "$ML/report-extra.md" ] && { echo; cat "$ML/report-extra.md"; }
	} >"$out"
	info "report: $out"
}

cmd_tree() {
	load_source
	# a newer 7.x source: the tree is unpacked anew (tree.sh unpacks only a missing base)
	if [ -d "$MLINUX/.git" ] && [ "$(cat "$ML/linux.base" 2>/dev/null)" != "$ML_PKG $ML_VERSION" ]; then
		info "base changed to $ML_PKG $ML_VERSION: removing $MLINUX"
		rm -rf "$MLINUX" "$ML/blobs612.stamp"
	fi
	TREE_ENV "$REPO/scripts/tree.sh" base >/dev/null || die "unpacking $ML_TARBALL failed"
	echo "$ML_PKG $ML_VERSION" >"$ML/linux.base"
	import_612_blobs
	analyse
	info "per patch on $ML_PKG $ML_VERSION:"; awk -F'\t' '{printf "  %-3s %-10s %s\n", $1, $3, $2}' "$ML/analysis"
	# tree.sh: base + the series that applies + the overlay; FORCE: the port commits on top are ours
	TREE_ENV REPO="$ML/repo" FORCE=1 "$REPO/scripts/tree.sh" apply >"$ML/tree.log" 2>&1 || { cat "$ML/tree.log"; die "tree.sh apply on the 7.x base failed"; }
	tail -n +2 "$ML/tree.log" | grep -v '^  wrote' | sed 's/^/  /' | tail -25
	apply_ports
	write_report
}

# --- tests -------------------------------------------------------------------------------------

# the UML KUnit run of scripts/kunit.sh on the 7.x tree. The project's .kunitconfig, less
# UML_PCI_OVER_VIRTIO_DEVICE_ID: 7.x's kunit enables UML's PCI without virtio (KUNIT_UML_PCI).
cmd_kunit() {
	[ -d "$MLINUX/.git" ] || cmd_tree
	local kc=$ML/kunitconfig s e rc
	grep -v '^CONFIG_UML_PCI_OVER_VIRTIO_DEVICE_ID=' "$REPO/.kunitconfig" >"$kc"
	s=$(date +%s)
	LINUX=$MLINUX OUT=$ML/out RES=$ML/results KUNITCONFIG=$kc "$REPO/scripts/kunit.sh"
	rc=$?
	e=$(date +%s)
	cp -f "$ML/results/kunit-uml.log" "$RES/mainline-kunit-uml.log" 2>/dev/null
	cp -f "$ML/results/kunit-uml.tap" "$RES/mainline-kunit-uml.tap" 2>/dev/null || : >"$RES/mainline-kunit-uml.tap"
	echo "uml	$rc	$((e - s))	$(python3 "$REPO/scripts/ktap.py" count "$RES/mainline-kunit-uml.tap" 2>&1 | head -1 | sed "s|^.*: ||")" >"$ML/kunit-uml.result"
	return $rc
}

# the x86_64 VM kernel (scripts/build-kernel.sh: tinyconfig + fragments), booted under QEMU TCG
# -smp 2 with no root: KUnit runs at boot, then kunit_shutdown powers the VM off.
cmd_vm() {
	[ -d "$MLINUX/.git" ] || cmd_tree
	local B=$ML/out/vm con=$RES/mainline-vm-console.log s e brc rc=0
	s=$(date +%s)
	ALLOW_MISSING=1 "$REPO/scripts/build-kernel.sh" "$MLINUX" "$B" mainline-vm \
		"$REPO/vm/base.config" "$REPO/vm/debug.config" "$PORTS/vm-kunit.config"
	brc=$?
	e=$(date +%s)
	[ $brc = 0 ] || { echo "vm	1	$((e - s))	build failed" >"$ML/kunit-vm.result"; return 1; }
	info "booting $B/arch/x86/boot/bzImage (TCG -smp 2, KUnit at boot)"
	# qboot writes an MP table with every CPU (SeaBIOS's lists the boot CPU only, and the kernel has
	# no ACPI); with no ACPI there is no power-off either: kunit_shutdown=reboot ends QEMU (-no-reboot)
	timeout "${VM_TIMEOUT:-2400}" qemu-system-x86_64 -bios qboot.rom -accel tcg,thread=multi -smp 2 -m 1G \
		-machine pc -nodefaults -nographic -no-reboot -serial stdio -kernel "$B/arch/x86/boot/bzImage" \
		-append "console=ttyS0 panic=-1 kasan_multi_shot kunit_shutdown=reboot" </dev/null >"$con" 2>&1 || rc=1
	python3 "$REPO/scripts/ktap.py" extract "$con" "$RES/mainline-kunit-x86_64.tap" || rc=1
	"$REPO/scripts/splat-check" "$con" >"$ML/vm-splat.txt" || { cat "$ML/vm-splat.txt"; rc=1; }
	local smp; smp=$(grep -a -m1 -oE 'smp: Brought up .*' "$con")
	echo "  ${smp:-no smp line on the console}"
	case $smp in *" 2 CPUs"*) ;; *) echo "ERROR: the VM did not bring up 2 CPUs"; rc=1 ;; esac
	local c; c=$(python3 "$REPO/scripts/ktap.py" count "$RES/mainline-kunit-x86_64.tap" 2>&1 | head -1 | sed "s|^.*: ||")
	echo "  $c"
	case $c in *" 0 failed"*) ;; *) rc=1 ;; esac
	echo "vm	$rc	$(($(date +%s) - s))	$c	${smp#smp: }	build $((e - s)) s" >"$ML/kunit-vm.result"
	return $rc
}

# compile check of the driver patches that are in the 7.x tree (the KUnit VM does not build them)
CHECK_TARGETS=(fs/char_dev.o fs/file_table.o drivers/char/misc.o drivers/usb/core/file.o drivers/mtd/mtdcore.o
	drivers/mtd/mtdchar.o drivers/mtd/mtdpart.o drivers/char/tpm/ lib/test_cdev_revoke_bench.o
	drivers/rtc/class.o drivers/rtc/dev.o drivers/rtc/rtc-test.o drivers/i2c/i2c-dev.o drivers/uio/uio.o
	drivers/gpio/gpiolib.o drivers/gpio/gpiolib-cdev.o drivers/watchdog/watchdog_dev.o
	drivers/platform/chrome/cros_ec_chardev.o drivers/platform/chrome/cros_ec_fake.o
	drivers/char/virtio_console.o drivers/usb/misc/ldusb.o drivers/usb/misc/iowarrior.o
	drivers/hid/hidraw.o drivers/hid/usbhid/hiddev.o drivers/usb/misc/yurex.o drivers/usb/class/cdc-wdm.o
	drivers/usb/misc/usblcd.o drivers/usb/class/usbtmc.o)
cmd_check_drivers() {
	[ -d "$MLINUX/.git" ] || cmd_tree
	local B=$ML/out/check log=$RES/mainline-check-drivers.log s rc=0
	s=$(date +%s)
	local mk=(make -C "$MLINUX" ARCH=x86_64 O="$B" "CC=ccache gcc" -j"$JOBS")
	mkdir -p "$B"
	info "compile check of the converted drivers on $ML_PKG (W=1): ${CHECK_TARGETS[*]}"
	{ "${mk[@]}" tinyconfig && "$MLINUX/scripts/kconfig/merge_config.sh" -m -O "$B" "$B/.config" \
		"$REPO/vm/base.config" "$REPO/vm/debug.config" "$PORTS/check-drivers.config" && "${mk[@]}" olddefconfig; } >"$log" 2>&1 ||
		{ tail -20 "$log"; echo "check-drivers	1	0	configuration failed" >"$ML/check-drivers.result"; return 1; }
	"${mk[@]}" -k W=1 "${CHECK_TARGETS[@]}" >>"$log" 2>&1 || rc=1
	local ne nw
	ne=$(grep -c 'error:' "$log" || true); nw=$(grep -c 'warning:' "$log" || true)
	grep -E 'error:|warning:' "$log" | head -20
	echo "check-drivers	$rc	$(($(date +%s) - s))	$ne errors, $nw warnings (log: build/results/mainline-check-drivers.log)" >"$ML/check-drivers.result"
	cat "$ML/check-drivers.result"
	return $rc
}

# checkpatch.pl --strict of the 7.x tree on every port patch of mainline/
cmd_checkpatch() {
	[ -d "$MLINUX/.git" ] || cmd_tree
	local p out bad=0
	: >"$ML/checkpatch.txt"
	for p in "$PORTS"/[0-9]*.patch; do
		[ -e "$p" ] || continue
		out=$(cd "$MLINUX" && perl scripts/checkpatch.pl --strict -q "$p" 2>&1)
		if [ -n "$out" ]; then bad=$((bad + 1)); printf '%s\n%s\n' "== ${p##*/}" "$out" >>"$ML/checkpatch.txt"; fi
	done
	echo "checkpatch --strict ($ML_PKG's scripts/checkpatch.pl): $(ls "$PORTS"/[0-9]*.patch | wc -l) port patches, $bad with findings" >"$ML/checkpatch.result"
	cat "$ML/checkpatch.result" "$ML/checkpatch.txt"
	[ $bad = 0 ]
}

# the test section of the report, from the result files of the steps that ran
write_summary() {
	{
		echo "## Tests on $ML_PKG $ML_VERSION"
		echo
		echo "| step | exit | seconds | result |"
		echo "|---|---|---|---|"
		local f
		for f in "$ML/checkpatch.result" "$ML/kunit-uml.result" "$ML/kunit-vm.result" "$ML/check-drivers.result"; do
			[ -f "$f" ] || continue
			if [ "$f" = "$ML/checkpatch.result" ]; then echo "| checkpatch | - | - | $(cat "$f") |"
			else awk -F'\t' '{ r = $4; for (i = 5; i <= NF; i++) r = r "; " $i; printf "| %s | %s | %s | %s |\n", $1, $2, $3, r }' "$f"; fi
		done
		echo
		echo "uml: scripts/kunit.sh (kunit.py, UML, the project's .kunitconfig); vm: x86_64 kernel of"
		echo "scripts/build-kernel.sh with mainline/vm-kunit.config, QEMU TCG -smp 2, KUnit at boot;"
		echo "check-drivers: the converted drivers' objects with W=1. KTAP: build/results/mainline-kunit-uml.tap,"
		echo "build/results/mainline-kunit-x86_64.tap; VM console: build/results/mainline-vm-console.log."
		[ -n "${1:-}" ] && echo "make mainline took $1 s."
	} >"$ML/report-extra.md"
	write_report
}

cmd_all() {
	local rc=0 t0; t0=$(date +%s)
	rm -f "$ML"/*.result
	cmd_fetch
	cmd_tree
	cmd_checkpatch || rc=1
	cmd_kunit || rc=1
	cmd_vm || rc=1
	cmd_check_drivers || rc=1
	write_summary $(($(date +%s) - t0))
	cat "$ML/report-extra.md"
	return $rc
}

case "${1:-all}" in
fetch) cmd_fetch ;;
tree) cmd_tree ;;
kunit) load_source; cmd_kunit ;;
vm) load_source; cmd_vm ;;
checkpatch) load_source; cmd_checkpatch ;;
check-drivers) load_source; cmd_check_drivers ;;
all) cmd_all ;;
report) load_source; analyse; write_summary ;;
*) die "usage: $0 [all|fetch|tree|kunit|vm|checkpatch|check-drivers|report]" ;;
esac

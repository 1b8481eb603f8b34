#!/bin/bash
# Manage build/linux: base unpack, patch series + overlay as commits, and the reverse (refresh).
#
#   tree.sh apply            unpack base if needed, rebuild the commit chain base+patches+overlay
#                            and move build/linux to it, writing only files whose content changed
#   tree.sh chain PATCHDIR   build the chain for PATCHDIR/series in a temporary index (no overlay,
#                            work tree untouched), print the resulting commit id (harness self-test)
#   tree.sh refresh          export commits in build/linux as patches/ and overlay files back to repo
#   tree.sh stock            git worktree of the base commit at build/stock/linux (for make demo)
#   tree.sh version          print the base version
#
# env: FORCE=1 lets `apply` discard commits made in build/linux that were not exported by refresh.
set -euo pipefail
. "$(dirname "$0")/common.sh"

BASE_REF=refs/tags/cdev-base   # the unmodified tarball
DEV_REF=refs/tags/cdev-dev     # base + .gitignore without Debian's top-level "/*" rule; patches start here
GEN_REF=refs/cdev/generated
G() { git -C "$LINUX" -c core.quotepath=off "$@"; }
TMPS=()
trap 'rm -rf "${TMPS[@]}"' EXIT

ensure_base() {
	if [ -d "$LINUX/.git" ] && G rev-parse -q --verify $BASE_REF >/dev/null; then ensure_dev; return 0; fi
	[ -f "$BASE_TARBALL" ] || die "$BASE_TARBALL missing (run make deps: apt-get install $BASE_PKG)"
	info "unpacking $BASE_TARBALL into $LINUX (one-time, ~1-2 min)"
	local tmp=$LINUX.unpack
	rm -rf "$tmp"; mkdir -p "$tmp"
	tar -xJf "$BASE_TARBALL" --strip-components=1 -C "$tmp"
	(
		cd "$tmp"
		git init -q -b main .
		git config user.name "cdev-revoke workbench"; git config user.email workbench@localhost
		git config gc.auto 0; git config core.autocrlf false; git config advice.detachedHead false
		git config core.untrackedCache true
		# -f: the tarball is the truth, even files matched by the kernel's .gitignore
		git add -A -f .
		local kv pv d
		kv=$(make -s kernelversion); pv=$(dpkg-query -W -f='${Version}' "$BASE_PKG" 2>/dev/null || echo unknown)
		d="2000-01-01T00:00:00 +0000"
		GIT_AUTHOR_DATE=$d GIT_COMMITTER_DATE=$d git commit -q -m "base: Linux $kv from Debian $BASE_PKG $pv" \
			-m "Unpacked from $BASE_TARBALL, unmodified."
		git tag cdev-base
		git update-ref $GEN_REF HEAD
	)
	rm -rf "$LINUX"; mv "$tmp" "$LINUX"
	ensure_dev
}

# Debian's .gitignore ends with "/*" + "!/debian/" (ignore everything at the top level), which hides
# every new file from git status/add in build/linux. The chain therefore starts at cdev-dev: the base
# with those two lines removed (deterministic commit, created with plumbing, nothing checked out).
ensure_dev() {
	G rev-parse -q --verify $DEV_REF >/dev/null && return 0
	local blob tree c d="2000-01-01T00:00:00 +0000"
	blob=$(G show $BASE_REF:.gitignore | sed -e '\|^/\*$|d' -e '\|^!/debian/$|d' | G hash-object -w --stdin)
	tree=$( (export GIT_INDEX_FILE=$LINUX/.git/cdev-dev-index; G read-tree $BASE_REF &&
		G update-index --cacheinfo 100644,"$blob",.gitignore && G write-tree); rm -f "$LINUX/.git/cdev-dev-index")
	c=$(echo "workbench: drop Debian's top-level ignore-all rule from .gitignore" |
		GIT_AUTHOR_NAME="cdev-revoke workbench" GIT_AUTHOR_EMAIL=workbench@localhost GIT_AUTHOR_DATE=$d GIT_COMMITTER_DATE=$d \
		G commit-tree "$tree" -p $BASE_REF)
	G tag cdev-dev "$c"
}

# patches/series: one patch file name per line, in order; each patch may be followed by indented
# lines naming the new files (repo paths) that the patch introduces, e.g.
#	0001-chrdev-add-cdev_revoke.patch
#		fs/cdev_revoke/fence.c
# The new files live in the repo as whole files (the overlay); the chain adds each one, with its
# current content, in the commit of the patch that declares it, so every commit of the chain is a
# patch of the series (make series). Upstream files, and new files that change across patches,
# are changed by the patches themselves.

# series_files DIR -> "patch<TAB>path" for each new file declared in DIR/series
series_files() {
	local dir=$1
	[ -f "$dir/series" ] || return 0
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$dir/series" | awk '
		/^$/ { next }
		/^[[:space:]]/ { sub(/^[[:space:]]+/, ""); if (p == "") { print "ERROR: new file " $0 " before any patch" > "/dev/stderr"; exit 1 }
				 print p "\t" $0; next }
		{ p = $0 }'
}

# overlay_files -> paths (relative to repo) of the repo overlay: tracked + untracked-not-ignored, existing
overlay_files() {
	local d
	git -C "$REPO" -c core.quotepath=off ls-files -co --exclude-standard -- "${OVERLAY_DIRS[@]}" | sort -u |
		while IFS= read -r d; do [ -f "$REPO/$d" ] || [ -L "$REPO/$d" ] && echo "$d"; done || true
}

# add_repo_files LIST: put the repo's current content of the paths in LIST into the index
add_repo_files() {
	local list=$1 shas p
	[ -s "$list" ] || return 0
	shas=$(sed "s|^|$REPO/|" "$list" | G hash-object -w --no-filters --stdin-paths)
	paste <(while IFS= read -r p; do
			if [ -L "$REPO/$p" ]; then echo 120000; elif [ -x "$REPO/$p" ]; then echo 100755; else echo 100644; fi
		done <"$list") <(echo "$shas") "$list" |
		awk -F'\t' '{ printf "%s %s\t%s\n", $1, $2, $3 }' | G update-index --add --index-info
}

# build_chain PATCHDIR WITH_OVERLAY -> prints commit id; on a failing patch prints its name and error, exits 1
# WITH_OVERLAY=1: each patch's commit also adds the new files the series declares for it (from the
# repo); overlay files that no patch declares go into a last commit of their own, with a warning.
build_chain() {
	local pdir=$1 with_overlay=$2 tmp parent tree p n=0
	tmp=$(mktemp -d)
	CHAIN_TMP=$tmp; trap 'rm -rf "$CHAIN_TMP"' EXIT # build_chain runs in a subshell: $(build_chain ...)
	export GIT_INDEX_FILE=$tmp/index
	G read-tree $DEV_REF
	parent=$(G rev-parse $DEV_REF^{commit})
	: >"$tmp/declared"
	if [ "$with_overlay" = 1 ]; then
		series_files "$pdir" >"$tmp/declared" || return 1
		overlay_files >"$tmp/overlay"
		local missing
		missing=$(cut -f2 "$tmp/declared" | grep -vxF -f "$tmp/overlay" || true)
		[ -z "$missing" ] || { echo "ERROR: $pdir/series declares new files the repo does not have:" >&2; echo "$missing" | sed 's/^/    /' >&2; return 1; }
		missing=$(cut -f2 "$tmp/declared" | sort | uniq -d)
		[ -z "$missing" ] || { echo "ERROR: $pdir/series declares a new file twice:" >&2; echo "$missing" | sed 's/^/    /' >&2; return 1; }
	fi
	while IFS= read -r p; do
		n=$((n + 1))
		local f=$pdir/$p
		[ -f "$f" ] || { echo "ERROR: patch $p listed in $pdir/series does not exist" >&2; return 1; }
		G mailinfo "$tmp/msg" "$tmp/patch" <"$f" >"$tmp/info" || { echo "ERROR: patch $p: cannot parse mail headers" >&2; return 1; }
		if ! [ -s "$tmp/patch" ]; then echo "ERROR: patch $p contains no diff" >&2; return 1; fi
		if ! G apply --cached -v --whitespace=nowarn "$tmp/patch" >"$tmp/apply.log" 2>&1; then
			{
				echo "ERROR: patch $p (#$n in $pdir/series) does not apply:"
				grep -vE '^(Checking patch|Applied patch|Applying patch)' "$tmp/apply.log" | sed 's/^/    /' | head -60
			} >&2
			return 1
		fi
		awk -F'\t' -v p="$p" '$1 == p { print $2 }' "$tmp/declared" >"$tmp/new"
		add_repo_files "$tmp/new"
		local an ae ad subj
		an=$(sed -n 's/^Author: //p' "$tmp/info"); ae=$(sed -n 's/^Email: //p' "$tmp/info")
		ad=$(sed -n 's/^Date: //p' "$tmp/info"); subj=$(sed -n 's/^Subject: //p' "$tmp/info")
		[ -n "$ad" ] || ad="2000-01-01T00:00:00 +0000"
		tree=$(G write-tree)
		parent=$( { echo "$subj"; if [ -s "$tmp/msg" ]; then echo; cat "$tmp/msg"; fi; } |
			GIT_AUTHOR_NAME=${an:-unknown} GIT_AUTHOR_EMAIL=${ae:-unknown} GIT_AUTHOR_DATE=$ad GIT_COMMITTER_DATE=$ad \
			G commit-tree "$tree" -p "$parent")
	done < <(series_patches "$pdir/series")
	if [ "$with_overlay" = 1 ]; then
		local list=$tmp/undeclared
		cut -f2 "$tmp/declared" | grep -vxF -f - "$tmp/overlay" >"$list" || true
		if [ -s "$list" ]; then
			{
				echo "WARNING: new files that no patch of $pdir/series declares (added in a last commit;"
				echo "  list each under the patch that introduces it):"
				sed 's/^/    /' "$list"
			} >&2
			add_repo_files "$list"
			tree=$(G write-tree)
			if [ "$tree" != "$(G rev-parse "$parent^{tree}")" ]; then
				parent=$(echo "$OVERLAY_SUBJECT" | GIT_AUTHOR_NAME="cdev-revoke workbench" GIT_AUTHOR_EMAIL=workbench@localhost \
					GIT_AUTHOR_DATE="2000-01-01T00:00:00 +0000" GIT_COMMITTER_DATE="2000-01-01T00:00:00 +0000" \
					G commit-tree "$tree" -p "$parent")
			fi
		fi
	fi
	unset GIT_INDEX_FILE
	echo "$parent"
}

# sync_worktree OLD NEW: make the work tree of build/linux match NEW, writing only changed files
sync_worktree() {
	local old=$1 new=$2 meta path om nm os ns st cur conflicts=() writes=()
	while IFS=$'\t' read -r meta path; do
		read -r om nm os ns st <<<"${meta#:}"
		if [ -e "$LINUX/$path" ] || [ -L "$LINUX/$path" ]; then
			if [ -L "$LINUX/$path" ]; then cur=$(readlink "$LINUX/$path" | G hash-object --stdin); else cur=$(G hash-object --no-filters "$LINUX/$path"); fi
		else cur=0000000000000000000000000000000000000000; fi
		if [ "$st" = D ]; then
			[ "$cur" = "$os" ] || [ "$cur" = 0000000000000000000000000000000000000000 ] || conflicts+=("$path")
			writes+=("D $path $ns $nm")
			continue
		fi
		# already the wanted content: do not touch (keeps the mtime)
		if [ "$cur" = "$ns" ]; then
			[ "$nm" = 100755 ] && chmod +x "$LINUX/$path"
			continue
		fi
		if [ "$cur" != "$os" ] && [ "$cur" != 0000000000000000000000000000000000000000 ] && [ "$os" != 0000000000000000000000000000000000000000 ]; then
			conflicts+=("$path")
		fi
		writes+=("W $path $ns $nm")
	done < <(G diff-tree -r --no-renames "$old" "$new")
	if [ ${#conflicts[@]} -gt 0 ] && [ "${FORCE:-0}" != 1 ]; then
		echo "ERROR: uncommitted local changes in build/linux would be overwritten:" >&2
		printf '    %s\n' "${conflicts[@]}" >&2
		echo "  commit them and run 'make refresh', or discard them, or use FORCE=1" >&2
		return 1
	fi
	local w op sha mode
	for w in "${writes[@]}"; do
		read -r op path sha mode <<<"$w"
		if [ "$op" = D ]; then rm -f "$LINUX/$path"; echo "  removed $path"; continue; fi
		mkdir -p "$(dirname "$LINUX/$path")"
		if [ "$mode" = 120000 ]; then
			rm -f "$LINUX/$path"; ln -s "$(G cat-file blob "$sha")" "$LINUX/$path"
		else
			G cat-file blob "$sha" >"$LINUX/$path.cdev-tmp"
			[ "$mode" = 100755 ] && chmod +x "$LINUX/$path.cdev-tmp"
			mv -f "$LINUX/$path.cdev-tmp" "$LINUX/$path"
		fi
		echo "  wrote $path"
	done
	G reset -q "$new"
	G update-index -q --refresh >/dev/null || true
}

cmd_apply() {
	ensure_base
	echo "$(base_version)"
	local old new gen
	old=$(G rev-parse HEAD)
	gen=$(G rev-parse -q --verify $GEN_REF || true)
	if [ "$old" != "$gen" ] && [ "${FORCE:-0}" != 1 ]; then
		echo "ERROR: build/linux HEAD ($(G log -1 --format='%h %s' HEAD)) has commits that were not made by 'make tree'." >&2
		echo "  run 'make refresh' to export them into patches/ and the overlay first, or FORCE=1 to discard them" >&2
		return 1
	fi
	new=$(build_chain "$REPO/patches" 1) || return 1
	[ -n "$new" ] || return 1
	if [ "$old" = "$new" ]; then
		info "build/linux up to date ($(G log -1 --format=%h HEAD), $(series_patches "$REPO/patches/series" | wc -l) patches)"
		G update-ref $GEN_REF "$new"
	else
		info "moving build/linux $(G rev-parse --short "$old") -> $(G rev-parse --short "$new")"
		sync_worktree "$old" "$new" || return 1
		G update-ref $GEN_REF "$new"
	fi
	G log --oneline --reverse "$BASE_REF..HEAD" | sed 's/^/  /'
	true
}

cmd_chain() {
	[ -d "$LINUX/.git" ] || die "build/linux missing (make tree)"
	( build_chain "$1" 0 )
}

cmd_refresh() {
	ensure_base
	local tmp p ovl c
	tmp=$(mktemp -d); TMPS+=("$tmp")
	ovl=$tmp/overlay
	# New files of build/linux (under the overlay dirs, absent from the base) are overlay files,
	# kept whole in the repo and declared in patches/series under the patch that adds them,
	# unless the patches manage them: a new file that the current patches/ already create or
	# change, or that several commits of build/linux change, and that the repo does not hold.
	overlay_files >"$tmp/repo"
	{
		G diff --name-only --diff-filter=A $DEV_REF HEAD -- "${OVERLAY_DIRS[@]}"
		G ls-files -o --exclude-standard -- "${OVERLAY_DIRS[@]}"
	} | sort -u >"$tmp/added"
	{
		series_patches "$REPO/patches/series" | sed "s|^|$REPO/patches/|" | xargs -r cat | sed -n 's|^+++ b/||p'
		while IFS= read -r p; do
			[ "$(G rev-list --count $DEV_REF..HEAD -- "$p")" -gt 1 ] && echo "$p"
		done <"$tmp/added"
	} | sort -u | grep -vxF -f "$tmp/repo" >"$tmp/managed" || true
	sort -u "$tmp/repo" "$tmp/added" | grep -vxF -f "$tmp/managed" >"$ovl" || true
	# 1. patches: commits base..HEAD restricted to non-overlay paths
	local excl=()
	while IFS= read -r p; do excl+=(":(exclude,literal)$p"); done <"$ovl"
	mkdir -p "$tmp/p"
	G format-patch -q --zero-commit --no-signature -o "$tmp/p" $DEV_REF..HEAD -- . "${excl[@]}" >/dev/null
	local old_series=() new_names=()
	mapfile -t old_series < <(series_patches "$REPO/patches/series")
	for p in "${old_series[@]}"; do
		[ -f "$tmp/p/$p" ] || rm -f "$REPO/patches/$p"
	done
	for p in "$tmp"/p/*.patch; do
		[ -e "$p" ] || continue
		local b; b=$(basename "$p"); new_names+=("$b")
		if ! cmp -s "$p" "$REPO/patches/$b"; then cp "$p" "$REPO/patches/$b"; echo "  patches/$b"; fi
	done
	# declarations: each overlay file under the patch of the first commit that adds it; format-patch
	# wrote one patch per commit with changes outside the overlay, in order
	local i=0 nc
	: >"$tmp/decl"
	while IFS= read -r c; do
		nc=$(G diff-tree -r --no-commit-id --name-only "$c" -- . "${excl[@]}" | wc -l)
		if [ "$nc" -eq 0 ]; then
			echo "  WARNING: commit $(G log -1 --format='%h %s' "$c") changes only new files: no patch;" \
				"its files are left undeclared"
			continue
		fi
		G diff-tree -r --no-commit-id --name-only --diff-filter=A "$c" -- "${OVERLAY_DIRS[@]}" |
			grep -xF -f "$ovl" | sed "s|^|${new_names[$i]}\t|" >>"$tmp/decl" || true
		i=$((i + 1))
	done < <(G rev-list --reverse $DEV_REF..HEAD)
	{
		[ -f "$REPO/patches/series" ] && grep '^#' "$REPO/patches/series" || echo "# patch series, applied in order by 'make tree' (written by 'make refresh')"
		for p in "${new_names[@]}"; do
			echo "$p"
			awk -F'\t' -v p="$p" '$1 == p { print "\t" $2 }' "$tmp/decl"
		done
	} >"$tmp/series"
	cmp -s "$tmp/series" "$REPO/patches/series" || cp "$tmp/series" "$REPO/patches/series"
	info "patches/series: ${#new_names[@]} patches"
	# 2. overlay files back into the repo (work tree content of build/linux)
	while IFS= read -r p; do
		if [ -f "$LINUX/$p" ]; then
			if ! cmp -s "$LINUX/$p" "$REPO/$p"; then
				mkdir -p "$(dirname "$REPO/$p")"; cp -p "$LINUX/$p" "$REPO/$p"; echo "  overlay: $p"
			fi
		elif [ -f "$REPO/$p" ]; then
			echo "  WARNING: $p is in the repo overlay but deleted in build/linux; remove it from the repo yourself"
		fi
	done <"$ovl"
	local dirty
	dirty=$(G status --porcelain --untracked-files=no | awk '{print $2}' | grep -vxF -f "$ovl" || true)
	[ -z "$dirty" ] || { echo "  WARNING: uncommitted changes to non-overlay files are not exported:"; echo "$dirty" | sed 's/^/    /'; }
	# 3. regenerate build/linux from what was exported (content should be identical)
	FORCE=1 cmd_apply
}

cmd_stock() {
	ensure_base
	if [ ! -e "$STOCK/.git" ]; then
		info "creating stock worktree $STOCK at the base commit"
		G worktree prune
		G worktree add -q --detach "$STOCK" $BASE_REF
	fi
	[ "$(git -C "$STOCK" rev-parse HEAD)" = "$(G rev-parse $BASE_REF^{commit})" ] || die "$STOCK is not at the base commit"
}

case "${1:-apply}" in
apply) cmd_apply ;;
chain) cmd_chain "$2" ;;
refresh) cmd_refresh ;;
stock) cmd_stock ;;
base) ensure_base; base_version ;;
version) base_version ;;
*) die "usage: $0 apply|chain DIR|refresh|stock|version" ;;
esac

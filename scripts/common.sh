# Common settings, sourced by the workbench scripts.
# shellcheck shell=bash
REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-$REPO/build}
LINUX=${LINUX:-$BUILD/linux}
STOCK=${STOCK:-$BUILD/stock/linux}  # same depth as build/linux so ccache (BASEDIR) hits across both
OUT=${OUT:-$BUILD/out}
RES=${RES:-$BUILD/results}
BASE_TARBALL=${BASE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
BASE_PKG=${BASE_PKG:-linux-source-6.12}
JOBS=${JOBS:-$(nproc)}
# top-level directories of the repo whose files are copied over the base tree
OVERLAY_DIRS=(fs include lib drivers Documentation tools)
OVERLAY_SUBJECT="overlay: cdev_revoke new files from the workbench repo"
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/cdev-revoke-ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$REPO}
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-10G}
# deterministic identity for generated commits (same input -> same commit ids)
export GIT_COMMITTER_NAME="cdev-revoke workbench" GIT_COMMITTER_EMAIL="workbench@localhost"

die() { echo "ERROR: $*" >&2; exit 1; }
info() { echo ">>> $*"; }

base_version() {
	local kv pv
	kv=$(make -s -C "$LINUX" kernelversion 2>/dev/null || echo '?')
	pv=$(dpkg-query -W -f='${Version}' "$BASE_PKG" 2>/dev/null || echo '?')
	echo "base: Linux $kv from Debian $BASE_PKG $pv ($BASE_TARBALL)"
}

# series_patches FILE -> the patch names of a series file (patches/series, mainline/series): '#'
# comments, blank lines and indented lines (what a patch introduces, e.g. its new files) removed
series_patches() {
	[ -f "$1" ] || return 0
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$1" | grep -v -e '^$' -e '^[[:space:]]' || true
}

# --- apt with a private configuration: the system's apt configuration is never written ---------

# apt_mirror_uris -> every archive URI this machine's apt is configured with (deb822 .sources,
# then one-line sources.list), in order; callers pick the kind they need (security or not)
apt_mirror_uris() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'BEGIN { IGNORECASE = 1 } /^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" || $1 == "deb-src" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i ~ /:\/\//) { print $i; break } }' "$f"
	done
} 2>/dev/null

# papt_init DIR: an empty private apt state under DIR (sources, lists, cache, status, preferences);
# the sources go into DIR/sources.list or DIR/sources.list.d/*.sources
papt_init() {
	rm -rf "$1"
	mkdir -p "$1/sources.list.d" "$1/preferences.d" "$1/lists/partial" "$1/cache/archives/partial"
	: >"$1/status"; : >"$1/preferences"; : >"$1/sources.list"
}
# papt_opts DIR -> the apt options of the private state under DIR, one per line
papt_opts() {
	printf '%s\n' -o "Dir::Etc::SourceList=$1/sources.list" -o "Dir::Etc::SourceParts=$1/sources.list.d" \
		-o "Dir::Etc::Preferences=$1/preferences" -o "Dir::Etc::PreferencesParts=$1/preferences.d" \
		-o "Dir::State::Lists=$1/lists" -o "Dir::State::status=$1/status" \
		-o "Dir::Cache=$1/cache" -o "Dir::Cache::archives=$1/cache/archives" \
		-o "APT::Architecture=$(dpkg --print-architecture)" -o Debug::NoLocking=1
}
# papt DIR ARGS... / papt_cache DIR ARGS...: apt-get / apt-cache on the private state under DIR;
# PAPT_TIMEOUT=SECONDS bounds apt-get (a function cannot be run under timeout(1) itself)
papt() {
	local d=$1 o; shift; mapfile -t o < <(papt_opts "$d")
	${PAPT_TIMEOUT:+timeout "$PAPT_TIMEOUT"} apt-get -q "${o[@]}" "$@"
}
papt_cache() { local d=$1 o; shift; mapfile -t o < <(papt_opts "$d"); apt-cache "${o[@]}" "$@"; }

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

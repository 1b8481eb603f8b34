# cdev_revoke workbench. `make check` = all tests, `make demo` = the seed scenario.
# Variables: KUNITCONFIG=path (default .kunitconfig), FALLBACK=1 (use an existing KUnit suite in place
# of the project's, for testing the harness before the kernel code lands), JOBS, CCACHE_DIR, ACCEL.
SHELL := /bin/bash
REPO := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
export REPO
ifeq ($(FALLBACK),1)
KUNITCONFIG ?= $(REPO)/scripts/tests/fallback.kunitconfig
export FALLBACK
endif
ifneq ($(KUNITCONFIG),)
export KUNITCONFIG
endif
S := $(REPO)/scripts

.PHONY: all check deps tree refresh kunit vm-test harness-test stress demo controls bench series series-check mainline version clean distclean ccache-stats help
all: help

help:
	@echo "make check         deps + tree + harness-test + kunit + vm-test, ends with 'N passed, N failed'"
	@echo "make demo          seed scenario (mtdchar use-after-free) on the stock and on our kernel"
	@echo "make controls      stock controls of built-in conversions: their selftests in stock mode on the stock kernel"
	@echo "make deps          install missing Debian packages (root)"
	@echo "make tree          build/linux = base + patches/series + overlay (only changed files rewritten)"
	@echo "make refresh       export commits/overlay edits made in build/linux back to patches/ and the repo"
	@echo "make kunit         UML KUnit with .kunitconfig (KUNITCONFIG=... to override)"
	@echo "make vm-test       x86_64 debug VM kernel: KUnit at boot + kselftests under QEMU -smp 2"
	@echo "make harness-test  self-test of the workbench scripts"
	@echo "make stress        device selftests with CYCLES=10000 unbind/bind cycles per device (VM)"
	@echo "make bench         native (UML) + non-debug VM kernel: cost per file operation and of revoke -> build/results/bench.{md,json,png}"
	@echo "make series        the patch series as mailed, with its cover letter -> build/series/"
	@echo "make series-check  git am the series on a clean base; build, checkpatch, W=1, sparse, KUnit per patch"
	@echo "make mainline      forward port to the newest Debian 7.x kernel source (apt, private list): apply report,"
	@echo "                   mainline/ port patches, checkpatch, UML + x86_64 SMP KUnit -> build/results/mainline.md"
	@echo "make ccache-stats  ccache -s of the workbench cache"
	@echo "results: build/results/; manual: WORKBENCH.md"

check:
	@$(S)/check.sh

deps:
	@$(S)/deps.sh

tree:
	@$(S)/tree.sh apply

refresh:
	@$(S)/tree.sh refresh

version:
	@$(S)/tree.sh version

kunit:
	@$(S)/kunit.sh && python3 $(S)/ktap.py count $(REPO)/build/results/kunit-uml.tap

vm-test:
	@rc=0; $(S)/vm-test.sh || rc=1; \
	python3 $(S)/ktap.py count $(REPO)/build/results/kunit-x86_64.tap $(REPO)/build/results/vm/selftests.tap \
		$(REPO)/build/results/vm-control.tap $(REPO)/build/results/vm-lockdep.tap || rc=1; exit $$rc

harness-test:
	@$(S)/harness-test.sh

# The device selftests with CYCLES unbind/bind cycles per device (not part of make check).
CYCLES ?= 10000
stress:
	@rc=0; TCR_CYCLES=$(CYCLES) CDEV_TEST_TIMEOUT=14400 VM_TIMEOUT=15000 $(S)/vm-test.sh || rc=1; \
	grep -h -E "RUN|stress_unbind_bind:(op |signals:|poll hang-ups|failed opens|.*cycles.* operations)" \
		$(REPO)/build/results/vm/selftests.tap | grep -A23 "RUN.*stress_unbind_bind" | grep -v RUN | sed 's/^ *# *[^:]*:[0-9]*:stress_unbind_bind://'; \
	python3 $(S)/ktap.py count $(REPO)/build/results/kunit-x86_64.tap $(REPO)/build/results/vm/selftests.tap \
		$(REPO)/build/results/vm-control.tap $(REPO)/build/results/vm-lockdep.tap || rc=1; exit $$rc

demo:
	@$(S)/demo.sh

# The conversions' stock controls that need the stock kernel (not part of make check).
controls:
	@$(S)/controls.sh

# Benchmark (not part of make check): deps, tree, non-debug VM kernel, one VM boot, report.
bench:
	@$(S)/deps.sh && $(S)/tree.sh apply && $(S)/bench.sh

# The series as a maintainer receives it, and its proof (neither is part of make check).
series:
	@$(S)/series.sh export

series-check:
	@$(S)/deps.sh && $(S)/series.sh export >/dev/null && $(S)/series.sh check

# Forward port to the newest Debian 7.x kernel source (not part of make check: the package is not
# permanent in the archive). Everything that differs from the 6.12 base is in mainline/.
mainline:
	@$(S)/mainline.sh all

ccache-stats:
	@. $(S)/common.sh; ccache -s

clean:
	rm -rf build/out build/results

distclean:
	@if [ -d build/stock/linux ]; then git -C build/linux worktree remove --force ../stock/linux || true; fi
	rm -rf build

# The two README commands: `make run` and `make check`. Everything else is
# Meson's; this file only strings the steps together.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
DATA       ?= data
LISTEN     ?= 127.0.0.1:8080
PYTEST     := /usr/bin/python3 -m pytest

.PHONY: all setup build build-asan web run check check-unit check-api check-e2e check-pg check-asan fuzz bench bench-pg bench-story clean format

all: build

setup:
	@scripts/setup

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

build: setup $(BUILD)/build.ninja
	ninja -C $(BUILD)
	@$(MAKE) --no-print-directory web

# The workbench (web/ -> web/dist), when node is there. `npm ci` runs only
# when node_modules is missing or package-lock.json changed; the Vite build
# only when a source changed.
WEB_SRC := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json

web:
	@if command -v node >/dev/null 2>&1; then $(MAKE) --no-print-directory web/dist/index.html; \
	else echo "make: no node: the workbench (web/) is not built" >&2; fi

web/node_modules/.package-lock.json: web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run build

build-asan: setup $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

run: build
	@LISTEN=$(LISTEN) scripts/demo $(BUILD)/annotd $(DATA)
	$(BUILD)/annotd serve --data $(DATA) --listen $(LISTEN)

export ASAN_OPTIONS  := detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS := halt_on_error=1:print_stacktrace=1

check: build build-asan
	meson test -C $(BUILD) --suite unit --print-errorlogs
	meson test -C $(ASAN_BUILD) --suite unit --print-errorlogs
	ANNOTD_BIN=$(BUILD)/annotd $(PYTEST) -q tests/api
	ANNOTD_BIN=$(ASAN_BUILD)/annotd ANNOTD_SANITIZED=1 $(PYTEST) -q tests/api
	scripts/check-pg $(BUILD)/annotd
	ANNOTD_BIN=$(BUILD)/annotd node --test tests/e2e/*.test.mjs

check-unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

check-api: build
	ANNOTD_BIN=$(BUILD)/annotd $(PYTEST) -q tests/api

# The browser tests: Debian's chromium driven by playwright-core (web/node_modules).
check-e2e: build
	ANNOTD_BIN=$(BUILD)/annotd node --test tests/e2e/*.test.mjs

# The API suite on a throwaway PostgreSQL (started and always stopped by the script).
check-pg: build
	scripts/check-pg $(BUILD)/annotd

fuzz:
	@scripts/setup --fuzz
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true --buildtype=debugoptimized 2>/dev/null || true
	ninja -C $(FUZZ_BUILD)
	scripts/fuzz $(FUZZ_BUILD) $${FUZZ_SECONDS:-60}

bench: build
	bench/run.sh $(BUILD)

# Novel -> storyboard: the pipeline on each test novel, and the sync of one appended chapter.
NOVELS ?= ../shared/testdata/novels
bench-story: build
	@for f in $(NOVELS)/*.txt; do echo "$$f"; $(BUILD)/bench/story_pipeline "$$f" $$(case "$$f" in *traditional*) echo --t2s;; esac); done
	$(BUILD)/bench/story_pipeline $(NOVELS)/shuihuzhuan.utf8.txt --sync 100

# PostgreSQL: 1 node and 2 nodes behind nginx vs pgbench on the same claim SQL (bench/README.md).
bench-pg: build
	bench/run-pg.sh $(BUILD)

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/unit/*.c' 'fuzz/*.c' 'bench/*.c')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

# The workbench benchmark (bench/web.mjs): bundle sizes, submit → next task,
# pan with 5,000 polygons; prints a table and writes it into bench/README.md.
.PHONY: bench-web
bench-web: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	@$(MAKE) --no-print-directory web
	node bench/web.mjs $(BUILD) --write

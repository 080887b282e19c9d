# The two commands a new user runs: `make demo` and `make test`.  Each one
# installs the Debian packages that are missing (as root; otherwise it
# prints the apt-get line to run), configures meson, builds and runs.
# Everything else lives in meson; this file only strings steps together.

BUILD ?= build
ASAN  ?= build-asan
FUZZ  ?= build-fuzz
FUZZ_SECONDS ?= 60
TORTURE_ROUNDS ?= 1000

# Build and test dependencies (README says what each one is for).
# fonts-symbola draws the timer sign (U+23F1) of `docket graph` pictures,
# which the default Debian fonts lack; valgrind runs one pass of the daemon
# tests (tests/test_daemon.c) to catch leaks and bad reads in docketd.
PKGS := gcc meson ninja-build pkg-config python3 \
	libyaml-dev liblmdb-dev libuv1-dev libjansson-dev libssl-dev zlib1g-dev libcurl4-openssl-dev \
	libcmocka-dev python3-yaml python3-jsonschema graphviz fonts-symbola \
	valgrind scdoc
FUZZ_PKGS := clang libclang-rt-dev
# The peers of `make bench` (docs/performance.md): a PostgreSQL 15 server
# and the client libraries its benchmark programs link.
BENCH_PKGS := postgresql-15 libpq-dev libsqlite3-dev

SANITIZE_ENV := ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: all deps build asan test torture demo fuzz fuzz-deps bench bench-quick bench-deps bench-scale clean

all: build

deps:
	@PKGS="$(PKGS)" sh tests/install-deps.sh

fuzz-deps:
	@PKGS="$(FUZZ_PKGS)" sh tests/install-deps.sh

build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD)
	ninja -C $(BUILD)

asan: deps
	@test -f $(ASAN)/build.ninja || \
		meson setup $(ASAN) -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(ASAN)

# Runs the whole suite twice, plain and under ASan+UBSan, and ends with the
# one line `N passed, N failed` that counts every test case of both runs.
test: build asan
	@rc=0; \
	meson test -C $(BUILD) --print-errorlogs || rc=1; \
	$(SANITIZE_ENV) meson test -C $(ASAN) --print-errorlogs || rc=1; \
	python3 tests/summary.py $(BUILD) $(ASAN) || rc=1; \
	exit $$rc

# The torture suite at length (docs/testing.md): TORTURE_ROUNDS kill -9
# rounds of docketd under load (make test runs 20), then the faults and
# the abuse, in the plain build.
torture: build
	TORTURE_ROUNDS=$(TORTURE_ROUNDS) meson test -C $(BUILD) torture -v \
		--timeout-multiplier 0

demo: build
	@sh tests/demo.sh $(BUILD)

# libFuzzer targets, FUZZ_SECONDS each (see docs/testing.md).
fuzz: deps fuzz-deps
	@test -f $(FUZZ)/build.ninja || \
		CC=clang meson setup $(FUZZ) -Dfuzz=true -Db_lundef=false \
			-Db_sanitize=address,undefined
	ninja -C $(FUZZ)
	@sh tests/fuzz/run.sh $(FUZZ) $(FUZZ_SECONDS)

bench-deps:
	@PKGS="$(BENCH_PKGS)" sh tests/install-deps.sh

# Docket against PostgreSQL, SQLite and raw LMDB, one table from one run
# (docs/performance.md).  meson builds the peers only when libpq and
# sqlite3 are found, so a build configured before bench-deps is redone.
bench: bench-deps build
	@test -x $(BUILD)/bench/versus_pg || meson setup --reconfigure $(BUILD) >/dev/null
	ninja -C $(BUILD)
	@sh bench/run.sh $(BUILD) full

bench-quick: bench-deps build
	@test -x $(BUILD)/bench/versus_pg || meson setup --reconfigure $(BUILD) >/dev/null
	ninja -C $(BUILD)
	@sh bench/run.sh $(BUILD) quick

# Docket at 1,000,000 cases and 10,000,000 history entries: preload, then
# docketd's start-up, read latencies, RSS and file size (docs/performance.md,
# "Scale").  SCALE_ARGS="--cases 100000" for a smaller run.
SCALE_ARGS ?=
bench-scale: build
	$(BUILD)/bench/scale $(SCALE_ARGS)

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)

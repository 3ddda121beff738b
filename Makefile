# Thin wrapper over CMake; the two commands of the README are `make run` and `make test`.
BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DATA ?= ./data
LISTEN ?= 127.0.0.1:8080

.PHONY: deps deps-build build compile run test fuzz sanitize bench clean format

deps-build:
	@./scripts/install-deps.sh build

deps:
	@./scripts/install-deps.sh test

compile:
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS)

build: deps compile

run: deps-build compile
	@echo "Starting tokenlog on http://$(LISTEN) with data in $(DATA) (Ctrl-C stops it)."
	@echo "Get a development JWT from another terminal with:"
	@echo "  $(BUILD_DIR)/tokenlog dev-jwt --data $(DATA) --user you@example.com --tenant acme [--role admin]"
	@echo "or a link that opens the web page signed in:"
	@echo "  $(BUILD_DIR)/tokenlog dev-jwt --data $(DATA) --user you@example.com --tenant acme --url --server http://$(LISTEN)"
	@$(BUILD_DIR)/tokenlog serve --dev --data $(DATA) --listen $(LISTEN)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

# Benchmarks with their same-run baselines (BENCHMARKS.md): installs wrk and nginx, builds
# the Release binaries it runs (only those), then bench/run.py writes
# $(BUILD_DIR)/bench/tables.md and summary.json. Knobs (environment): BENCH_SECONDS (5 per
# run), BENCH_RUNS (3), BENCH_TOKENS (1000000), BENCH_EVENTS (1000000), BENCH_SKIP.
BENCH_EVENTS ?= 1000000
BENCH_TARGETS = tokenlog tokenlog_audit_bench tokenlog_check_bench tokenlog_bench_fill \
	tokenlog_bench_bare tokenlog_bench_rawput tokenlog_bench_epoll
bench:
	@./scripts/install-deps.sh bench
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS) --target $(BENCH_TARGETS)
	@BUILD_DIR=$(BUILD_DIR) BENCH_EVENTS=$(BENCH_EVENTS) /usr/bin/python3 bench/run.py

# libFuzzer targets, FUZZ_SECONDS each (CI runs 60).
FUZZ_SECONDS ?= 60
fuzz: deps
	@./fuzz/run.sh $(FUZZ_SECONDS)

# Every ctest entry built with a sanitizer, the processes the tests start included
# (scripts/sanitize.sh): SAN=thread (ThreadSanitizer, in CI) or SAN=address (ASan + UBSan).
SAN ?= thread
sanitize: deps
	@./scripts/sanitize.sh $(SAN) $(JOBS)

format:
	@clang-format -i $$(git ls-files '*.h' '*.cc')

clean:
	@rm -rf $(BUILD_DIR) build-fuzz build-tsan build-asan

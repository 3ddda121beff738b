# Thin wrapper over CMake; the two commands of the README are `make run` and `make test`.
BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DATA ?= ./data
LISTEN ?= 127.0.0.1:8080

.PHONY: deps deps-build build compile run test fuzz bench clean format

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

# Benchmarks with their same-run baselines (so far: activity pages, rebuild, the check in process).
BENCH_EVENTS ?= 1000000
bench: build
	@$(BUILD_DIR)/tokenlog_audit_bench --events $(BENCH_EVENTS) --json $(BUILD_DIR)/audit-bench.json
	@$(BUILD_DIR)/tokenlog_check_bench --tokens $(BENCH_EVENTS) --json $(BUILD_DIR)/check-bench.json

# libFuzzer targets, FUZZ_SECONDS each (CI runs 60).
FUZZ_SECONDS ?= 60
fuzz: deps
	@./fuzz/run.sh $(FUZZ_SECONDS)

format:
	@clang-format -i $$(git ls-files '*.h' '*.cc')

clean:
	@rm -rf $(BUILD_DIR) build-fuzz

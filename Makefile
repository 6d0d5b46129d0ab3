# teekm — top-level entry points. `make run` and `make test` work on a fresh Debian 12.
JOBS      ?= $(shell nproc)
RELEASE   := build/release
ASAN      := build/asan
FUZZDIR   := build/fuzz
FUZZ_SECONDS ?= 60
CMAKE_COMMON := -DBLST_DIR=$(CURDIR)/build/blst

.PHONY: all bootstrap build build-asan run test test-release test-asan fuzz bench clean

all: build

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap
	@cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_COMMON) >/dev/null
	@cmake --build $(RELEASE) -j $(JOBS)

build-asan: bootstrap
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DTKM_SANITIZE=ON \
	  -DCMAKE_C_FLAGS="-O1" $(CMAKE_COMMON) >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)

run: build
	@scripts/run.sh $(RELEASE)

test-release: build
	@cd $(RELEASE) && ctest --output-on-failure --timeout 600 -j $(JOBS)

test-asan: build-asan
	@cd $(ASAN) && ctest --output-on-failure --timeout 600 -j $(JOBS)

# Every test in a normal build, then again under ASan+UBSan; any failure fails.
test: test-release test-asan
	@echo "make test: all tests passed (release and ASan+UBSan builds)"

# libFuzzer targets, each for FUZZ_SECONDS (default 60); new inputs stay in build/.
fuzz: bootstrap
	@cmake -S . -B $(FUZZDIR) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DTKM_FUZZ=ON \
	  -DTKM_SANITIZE=ON $(CMAKE_COMMON) >/dev/null
	@cmake --build $(FUZZDIR) -j $(JOBS)
	@scripts/fuzz.sh $(FUZZDIR) $(FUZZ_SECONDS)

bench: build
	@$(RELEASE)/teekm bench all

clean:
	rm -rf $(RELEASE) $(ASAN) $(FUZZDIR)

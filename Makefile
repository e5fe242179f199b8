# bzboot - top-level entry points (documented in README.md):
#   make                 build the boot code, bzinstall and bzcheck into build/
#   make disk.img        build a bootable image [KERNEL= INITRD= CMDLINE= HANDOFF=16|64 LA57=1]
#   make test            build everything and run every test through ctest
#   make bench           boot time by phase and instruction counts: bzboot beside QEMU -kernel, GRUB, SYSLINUX [ROUNDS=9]
#   make conformance     bzcheck's verdicts on GRUB, SYSLINUX, QEMU -kernel and bzboot: one table
#   make fuzz            libFuzzer runs of the parsers (clang, build-fuzz/) [FUZZ_SECONDS=60 FUZZ_MERGE=1]
#   make bochs           Bochs debugger session on an image [IMAGE=disk.img BREAK=name,...]
#   make gdb             QEMU + gdb session on an image [IMAGE=disk.img BREAK=name,... QEMU_ARGS=...]
BUILD   ?= build
JOBS    ?= $(shell nproc)
KERNEL  ?= cache/vmlinuz
INITRD  ?= cache/initramfs.img
CMDLINE ?= console=tty0 console=ttyS0
HANDOFF ?= 64
LA57    ?= 0

# Passed through the environment so that quotes in a command line survive.
export BZ_KERNEL  := $(KERNEL)
export BZ_INITRD  := $(INITRD)
export BZ_CMDLINE := $(CMDLINE)
export BZ_HANDOFF := $(HANDOFF)
export BZ_LA57    := $(LA57)

.PHONY: all build test bench conformance disk.img clean fuzz bochs gdb
all: build

# Configure every time (quick): picks up new source folders too.
build:
	@cmake -S . -B $(BUILD) > $(BUILD).configure.log || { cat $(BUILD).configure.log; exit 1; }
	cmake --build $(BUILD) -j$(JOBS)

# Always made from scratch, so it reflects exactly this call's variables.
disk.img: build
	@rm -f $@ $@.tmp
	@set -e; \
	  args="--kernel $$BZ_KERNEL --handoff $$BZ_HANDOFF"; \
	  [ -z "$$BZ_INITRD" ] || args="$$args --initrd $$BZ_INITRD"; \
	  [ "$$BZ_LA57" != 1 ] || args="$$args --la57"; \
	  echo "bzinstall $$args --cmdline \"$$BZ_CMDLINE\" $@"; \
	  $(BUILD)/bin/bzinstall $$args --cmdline "$$BZ_CMDLINE" $@.tmp; \
	  mv $@.tmp $@

test: build
	cd $(BUILD) && ctest -j2 --output-on-failure

# The timed rounds (scripts/bench), then the instruction counts (scripts/icount); neither asserts.
ROUNDS  ?= 9
bench: build
	scripts/bench --build $(BUILD) --rounds $(ROUNDS)
	scripts/icount --build $(BUILD)

# Writes $(BUILD)/conformance/conformance.md and .json; scripts/conformance --help for its options.
conformance: build
	scripts/conformance --build $(BUILD)

clean:
	rm -rf $(BUILD) disk.img disk.img.tmp

# Fuzzing (fuzz/README.md): its own build dir and compiler (clang++, for libFuzzer);
# never part of all or test. CXX only counts when the dir is first configured.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_MERGE   ?= 0
fuzz:
	@CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DBZBOOT_PARTS="mbr;stage2;installer;harness;fuzz" \
	  > $(FUZZ_BUILD).configure.log || { cat $(FUZZ_BUILD).configure.log; exit 1; }
	cmake --build $(FUZZ_BUILD) --target fuzzers -j$(JOBS)
	fuzz/run --build $(FUZZ_BUILD) --seconds $(FUZZ_SECONDS) $(if $(filter 1,$(FUZZ_MERGE)),--merge)

# Debugger sessions (docs/debugging.md): the loader's symbols and source lines, a
# breakpoint at each BREAK name (bochs: default mbr_start; gdb: stage2_start). The
# default image is made as `make disk.img` makes it when it is missing; another
# IMAGE must exist. TIMEOUT=seconds ends the session, MEMORY=512M sets the RAM.
# Commands come from standard input: pipe them in to script one.
IMAGE     ?= disk.img
BREAK     ?=
QEMU_ARGS ?=
TIMEOUT   ?=
MEMORY    ?=
export BZ_TIMEOUT   := $(TIMEOUT)
export BZ_MEMORY    := $(MEMORY)
export BZ_IMAGE     := $(IMAGE)
export BZ_BREAK     := $(BREAK)
export BZ_QEMU_ARGS := $(QEMU_ARGS)
bochs gdb: build
	@if [ ! -f "$$BZ_IMAGE" ]; then \
	  if [ "$$BZ_IMAGE" = disk.img ]; then $(MAKE) --no-print-directory disk.img; \
	  else echo "make $@: no image '$$BZ_IMAGE' (make disk.img builds one; IMAGE= names another)" >&2; exit 2; fi; \
	fi
	@scripts/$@-session --build $(BUILD) --image "$$BZ_IMAGE" $${BZ_BREAK:+--break "$$BZ_BREAK"} \
	  $${BZ_TIMEOUT:+--timeout "$$BZ_TIMEOUT"} $${BZ_MEMORY:+--memory "$$BZ_MEMORY"} \
	  $(if $(filter gdb,$@),-- $$BZ_QEMU_ARGS)

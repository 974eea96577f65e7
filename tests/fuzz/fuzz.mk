# tests/fuzz/fuzz.mk: builds the libFuzzer targets of tests/fuzz with clang (ASan, UBSan), each
# from its fuzz-*.c and the product files it fuzzes, compiled again with coverage. Objects and
# their dependencies (-MMD) stay in OUT/obj, so a second run compiles only what changed.
# Called by tests/fuzz/run-fuzz-targets:
#   make -f tests/fuzz/fuzz.mk SRC=<top of the tree> BUILDDIR=<configured tree> OUT=<dir> TARGETS
SRC ?= .
BUILDDIR ?= $(SRC)/build
OUT ?= $(BUILDDIR)/tests/fuzz

CC = clang
SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
PKGS = jansson uuid
CFLAGS = -g -O1 -std=gnu11 -Wall -Wno-unused-parameter $(SAN) -fsanitize=fuzzer-no-link \
	-include $(BUILDDIR)/config.h -I$(SRC) -I$(BUILDDIR) $(shell pkg-config --cflags $(PKGS))
LDFLAGS = -fsanitize=fuzzer $(SAN)
LIBS = $(shell pkg-config --libs $(PKGS)) -lm -pthread

COMMON = common/error.c common/util.c common/log.c common/json.c common/command.c common/hold.c

fuzz_conf_SRCS = tests/fuzz/fuzz-conf.c conf/conf.c conf/args.c conf/doc.c conf/options.c \
	$(COMMON)
fuzz_conf_LIBS = -linih
fuzz_cli_SRCS = tests/fuzz/fuzz-cli.c tools/cli/parse.c tools/cli/commands.c \
	tools/cli/cmd-migrations.c tools/cli/cmd-servers.c tools/cli/cmd-actions.c \
	tools/cli/cmd-services.c tools/cli/cmd-drains.c tools/cli/output.c tools/cli/progress.c \
	$(COMMON)
fuzz_compute_SRCS = tests/fuzz/fuzz-compute.c compute/migrate_data.c compute/json_check.c \
	compute/virt/instance.c $(COMMON)
fuzz_conductor_SRCS = tests/fuzz/fuzz-conductor.c conductor/validate.c $(COMMON)

TARGETS = fuzz-conf fuzz-cli fuzz-compute fuzz-conductor

all: $(addprefix $(OUT)/,$(TARGETS))

# obj_of: the object of a source, its path flattened (conf/conf.c -> OUT/obj/conf_conf.o).
obj_of = $(addprefix $(OUT)/obj/,$(subst /,_,$(1:.c=.o)))

define target_rule
$(OUT)/$(1): $(call obj_of,$($(subst -,_,$(1))_SRCS))
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$($(subst -,_,$(1))_LIBS) $$(LIBS)
endef
$(foreach t,$(TARGETS),$(eval $(call target_rule,$(t))))

define object_rule
$(call obj_of,$(1)): $(SRC)/$(1) | $(OUT)/obj
	$$(CC) $$(CFLAGS) -MMD -MP -c -o $$@ $$<
endef
ALL_SRCS = $(sort $(foreach t,$(TARGETS),$($(subst -,_,$(t))_SRCS)))
$(foreach s,$(ALL_SRCS),$(eval $(call object_rule,$(s))))

$(OUT)/obj:
	mkdir -p $@

-include $(wildcard $(OUT)/obj/*.d)

.PHONY: all

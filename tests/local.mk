# tests/local.mk: every suite, one runner per area (tests/<area>/test-<area>), and the shared
# test pieces: tests/harness (real PostgreSQL and RabbitMQ) and tests/support (Check helpers
# and the runner). `make check` runs them all; tools/test runs them again under ASan/UBSan.
include tests/harness/local.mk
include tests/support/local.mk
include tests/services/local.mk
include tests/common/local.mk
include tests/conf/local.mk
include tests/rpc/local.mk
include tests/db/local.mk
include tests/compute/local.mk
include tests/virt/local.mk
include tests/conductor/local.mk
include tests/cli/local.mk
include tests/api/local.mk

# The libFuzzer targets of the boundaries (tools/test runs them for a bounded time; by hand:
# tests/fuzz/run-fuzz-targets BUILDDIR [SECONDS] [TARGET...], or tools/fuzz for long runs).
EXTRA_DIST += tests/fuzz/run-fuzz-targets tests/fuzz/fuzz.mk tests/fuzz/fuzz.h \
	tests/fuzz/fuzz-conf.c tests/fuzz/fuzz-cli.c tests/fuzz/fuzz-compute.c \
	tests/fuzz/fuzz-conductor.c tests/fuzz/README.md

# The README's flow diagram, compute/API.md and conductor/API.md agree with the code.
TESTS += tests/check-flow-names
EXTRA_DIST += tests/check-flow-names

# What each tests/ directory holds, what it needs and how to run it alone.
EXTRA_DIST += tests/README.md tests/cli/README.md tests/common/README.md tests/compute/README.md \
	tests/conductor/README.md tests/conf/README.md tests/db/README.md tests/integration/README.md \
	tests/rpc/README.md tests/services/README.md tests/virt/README.md

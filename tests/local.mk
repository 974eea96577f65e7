# tests/local.mk: the shared test pieces; each module's own suites live in tests/<module>/ and are
# listed in that module's local.mk.
include tests/harness/local.mk
include tests/common/local.mk

# The README's flow diagram, compute/API.md and conductor/API.md agree with the code.
TESTS += tests/check-flow-names
EXTRA_DIST += tests/check-flow-names

# What each tests/ directory holds, what it needs and how to run it alone.
EXTRA_DIST += tests/README.md tests/cli/README.md tests/common/README.md tests/compute/README.md \
	tests/conductor/README.md tests/conf/README.md tests/db/README.md tests/integration/README.md \
	tests/rpc/README.md tests/services/README.md tests/virt/README.md

# tests/local.mk: the shared test pieces; each module's own suites live in tests/<module>/ and are
# listed in that module's local.mk.
include tests/harness/local.mk
include tests/common/local.mk

# The README's flow diagram, compute/API.md and conductor/API.md agree with the code.
TESTS += tests/check-flow-names
EXTRA_DIST += tests/check-flow-names

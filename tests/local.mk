# tests/local.mk: the shared test pieces; each module's own suites live in tests/<module>/ and are
# listed in that module's local.mk.
include tests/harness/local.mk
include tests/common/local.mk

# tools/testbed/local.mk: build rules for tools/testbed/ (included from its parent's local.mk).
#
# The testbed is shell (tools/testbed/testbed + lib/*.sh); nothing to compile. Its integration
# test is not part of `make check` (it needs root, namespaces and a few minutes):
# `make check-integration` runs every script in INTEGRATION_TESTS, as tools/test does with
# tests/integration/run-*.
dist_noinst_SCRIPTS += tools/testbed/testbed
EXTRA_DIST += tools/testbed/README.md tools/testbed/lib/common.sh tools/testbed/lib/hosts.sh \
	tools/testbed/lib/services.sh tools/testbed/lib/cleanup.sh tools/testbed/lib/guest.sh \
	tests/integration/run-raw-migration

INTEGRATION_TESTS = tests/integration/run-raw-migration

check-integration: tools/guest/workload
	@failed=0; for t in $(INTEGRATION_TESTS); do \
	    $(abs_top_srcdir)/$$t --builddir $(abs_top_builddir) || failed=1; \
	done; test $$failed = 0
.PHONY: check-integration

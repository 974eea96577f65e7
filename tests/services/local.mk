# tests/services/local.mk: the harness's own suite (included from tests/local.mk).
check_PROGRAMS += tests/services/test-services
TESTS += tests/services/test-services
tests_services_test_services_CFLAGS = $(SUITE_CFLAGS) $(LIBPQ_CFLAGS) $(RABBITMQ_CFLAGS)
tests_services_test_services_LDADD = $(HARNESS_LIBS) common/libtern-common.la $(SUITE_LIBS) \
	$(LIBPQ_LIBS) $(RABBITMQ_LIBS)

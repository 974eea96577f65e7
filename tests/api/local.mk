# tests/api/local.mk: the api suite (included from tests/local.mk): microversions and views
# (unit), and tern-api against a real tern-conductor, a private Keystone and the OpenStack
# clients (service).
check_PROGRAMS += tests/api/test-api
TESTS += tests/api/test-api
tests_api_test_api_SOURCES = tests/api/test-api.c tests/api/test-api.h \
	tests/api/test-api-service.c tests/api/test-api-cases.c tests/api/test-api-clients.c
tests_api_test_api_CFLAGS = $(SUITE_CFLAGS) $(JANSSON_CFLAGS) $(LIBPQ_CFLAGS) $(CURL_CFLAGS)
tests_api_test_api_LDADD = api/libtern-api.la db/libtern-db.la rpc/libtern-rpc.la \
	$(HARNESS_LIBS) common/libtern-common.la $(SUITE_LIBS) $(LIBPQ_LIBS) $(RABBITMQ_LIBS) \
	$(MHD_LIBS) $(CURL_LIBS) $(JANSSON_LIBS) $(UUID_LIBS)
# Its service cases run the programs they test.
EXTRA_tests_api_test_api_DEPENDENCIES = api/tern-api conductor/tern-conductor \
	tools/manage/tern-manage tools/cli/tern
EXTRA_DIST += tests/api/keystone-private tests/api/README.md

# tests/conf/local.mk: the conf suite (included from tests/local.mk); unit cases only.
check_PROGRAMS += tests/conf/test-conf
TESTS += tests/conf/test-conf
tests_conf_test_conf_CFLAGS = $(SUITE_CFLAGS) $(JANSSON_CFLAGS)
tests_conf_test_conf_LDADD = conf/libtern-conf-rpc.la conf/libtern-conf.la rpc/libtern-rpc.la \
	common/libtern-common.la $(SUITE_LIBS) $(INIH_LIBS) $(RABBITMQ_LIBS) $(JANSSON_LIBS) \
	$(UUID_LIBS)
# The suite runs tern-config too.
EXTRA_tests_conf_test_conf_DEPENDENCIES = tools/config/tern-config

# Every option of the table is read by some program (a parsed option nothing reads misleads).
TESTS += tests/conf/check-options-read
EXTRA_DIST += tests/conf/check-options-read

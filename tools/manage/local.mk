# tools/manage/local.mk: build rules for tools/manage/ (included from its parent's local.mk).
# tern-manage: `tern-manage db sync|version`; the db suite's manage cases
# (tests/db/test-manage.c) run the binary against the harness's PostgreSQL.
bin_PROGRAMS += tools/manage/tern-manage
tools_manage_tern_manage_SOURCES = tools/manage/manage.c
tools_manage_tern_manage_LDADD = db/libtern-db.la conf/libtern-conf.la common/libtern-common.la \
	$(INIH_LIBS) $(LIBPQ_LIBS) $(JANSSON_LIBS)

EXTRA_DIST += tools/manage/README.md

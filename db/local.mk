# db/local.mk: build rules for db/ (included by the top-level Makefile.am).
#
# libtern-db: the data-access API (libpq + jansson). The schema files db/schema/NNN_name.sql are
# embedded into db/schema_sql.c by db/gen-schema.sh; list a new file in DB_SCHEMA_FILES.
noinst_LTLIBRARIES += db/libtern-db.la

DB_SCHEMA_FILES = \
	db/schema/001_initial.sql \
	db/schema/002_migrate_data.sql \
	db/schema/003_migration_conductor.sql \
	db/schema/004_node_usage_from_instances.sql \
	db/schema/005_migration_outcomes.sql \
	db/schema/006_postcopy_paused.sql \
	db/schema/007_instance_action_events.sql \
	db/schema/008_drains.sql

db_libtern_db_la_SOURCES = \
	db/db.h db/db-private.h \
	db/conn.c \
	db/schema.c \
	db/services.c db/services.h \
	db/compute_nodes.c db/compute_nodes.h \
	db/instances.c db/instances.h \
	db/migrations.c db/migrations.h db/migration_outcome.c \
	db/capacity.c db/capacity.h \
	db/claims.c db/claims.h \
	db/instance_devices.c db/instance_devices.h \
	db/actions.c db/actions.h \
	db/drains.c db/drains.h
nodist_db_libtern_db_la_SOURCES = db/schema_sql.c
db_libtern_db_la_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS) $(JANSSON_CFLAGS)
db_libtern_db_la_LIBADD = common/libtern-common.la $(LIBPQ_LIBS) $(JANSSON_LIBS) -lm

db/schema_sql.c: $(DB_SCHEMA_FILES) $(srcdir)/db/gen-schema.sh
	$(AM_V_GEN)$(MKDIR_P) db && (cd $(srcdir) && \
		$(SHELL) db/gen-schema.sh $(abs_builddir)/$@ $(DB_SCHEMA_FILES))

CLEANFILES += db/schema_sql.c
EXTRA_DIST += db/gen-schema.sh db/README.md db/schema/README.md $(DB_SCHEMA_FILES)

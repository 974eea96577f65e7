# compute/local.mk: the host daemon and its drivers.
include compute/virt/local.mk

# libtern-compute: everything of tern-compute but main(), so suites can link it.
noinst_LTLIBRARIES += compute/libtern-compute.la
compute_libtern_compute_la_SOURCES = \
	compute/compute.h \
	compute/instance.c \
	compute/checks.c \
	compute/migrate_data.c compute/migrate_data.h \
	compute/json_check.c compute/json_check.h \
	compute/destination.c \
	compute/hooks.c compute/hooks.h \
	compute/live_migration.c compute/migration_job.h \
	compute/migration_end.c \
	compute/recovery.c \
	compute/outcome.c compute/outcome.h \
	compute/manager.c \
	compute/migration_queue.c compute/migration_queue.h
compute_libtern_compute_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(RABBITMQ_CFLAGS)
compute_libtern_compute_la_LIBADD = compute/virt/libtern-virt.la rpc/libtern-rpc.la \
	common/libtern-common.la $(JANSSON_LIBS)

# tern-compute: the daemon on every hypervisor host. Never links db/.
sbin_PROGRAMS += compute/tern-compute
compute_tern_compute_SOURCES = compute/main.c
compute_tern_compute_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
compute_tern_compute_LDADD = compute/libtern-compute.la compute/virt/libtern-virt.la \
	conf/libtern-conf-rpc.la rpc/libtern-rpc.la conf/libtern-conf.la common/libtern-common.la \
	$(LIBVIRT_LIBS) $(RABBITMQ_LIBS) $(JANSSON_LIBS) $(INIH_LIBS) $(UUID_LIBS)
EXTRA_DIST += compute/API.md

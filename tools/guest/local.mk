# tools/guest/local.mk: build rules for tools/guest/ (included from its parent's local.mk).
#
# The guest workload runs as PID 1 inside the test guest's initramfs, so it is linked fully
# static (-all-static: libtool's -static would still link libc dynamically) and built without
# the sanitizers: its CFLAGS/LDFLAGS replace AM_CFLAGS/AM_LDFLAGS on purpose.
noinst_PROGRAMS += tools/guest/workload
tools_guest_workload_SOURCES = tools/guest/workload.c
tools_guest_workload_CFLAGS = -std=gnu11 -O2 $(WARN_CFLAGS)
tools_guest_workload_LDFLAGS = -all-static

dist_noinst_SCRIPTS += tools/guest/build-image tools/guest/init tools/guest/console-check
EXTRA_DIST += tools/guest/README.md

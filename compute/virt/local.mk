# compute/virt/local.mk: build rules for compute/virt/ (included from its parent's local.mk).
# libtern-virt: the hypervisor driver layer (virt.h) and its libvirt driver (libvirt/).
# Links common, libvirt and jansson only (never conf, rpc or db).
noinst_LTLIBRARIES += compute/virt/libtern-virt.la
compute_virt_libtern_virt_la_SOURCES = \
	compute/virt/virt.c compute/virt/virt.h \
	compute/virt/instance.c \
	compute/virt/guest_cpu.c \
	compute/virt/converge.c compute/virt/converge.h \
	compute/virt/libvirt/libvirt_driver.h \
	compute/virt/libvirt/connection.c \
	compute/virt/libvirt/cpu.c \
	compute/virt/libvirt/domain.c \
	compute/virt/libvirt/domain_xml.c \
	compute/virt/libvirt/storage.c \
	compute/virt/libvirt/network.c \
	compute/virt/libvirt/firewall.c \
	compute/virt/libvirt/migration.c
compute_virt_libtern_virt_la_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(LIBXML_CFLAGS) $(JANSSON_CFLAGS)
compute_virt_libtern_virt_la_LIBADD = common/libtern-common.la $(LIBVIRT_LIBS) $(LIBXML_LIBS) $(JANSSON_LIBS)

EXTRA_DIST += compute/virt/README.md compute/virt/libvirt/README.md

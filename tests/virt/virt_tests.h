/*
 * tests/virt/virt_tests.h: the pieces of the virt suite (tests/virt/test-virt).
 *
 * Unit cases (test-virt-unit.c) need nothing but the library. Service cases
 * (test-virt-service.c) drive two real libvirtd "hosts" of the testbed (tools/testbed); the
 * runner brings the testbed up when it is down and takes it down again at the end.
 */
#ifndef TERN_TESTS_VIRT_TESTS_H
#define TERN_TESTS_VIRT_TESTS_H

#include "tests/support/tern-check.h"

TCase *virt_core_tcase(void);     /* JSON round trip, names, URIs */
TCase *virt_errors_tcase(void);   /* bad JSON and bad options, each naming the field */
TCase *virt_xml_tcase(void);      /* domain and nwfilter XML, XML helpers */
TCase *virt_converge_tcase(void); /* the convergence monitor on sample series */
TCase *virt_libvirt_tcase(void);  /* real libvirtd on the testbed */

/* Bring the testbed up (2 hosts, no services) unless it is; 0 or -1 with a message printed. */
int virt_testbed_prepare(void);
/* Take the testbed down again if virt_testbed_prepare brought it up. */
void virt_testbed_release(void);

#endif /* TERN_TESTS_VIRT_TESTS_H */

/*
 * tests/virt/test-virt.c: the runner of the virt suite (compute/virt/).
 *
 * One suite, virt, with cases core, errors, xml, converge (unit) and libvirt (service: two real
 * libvirtd hosts of the testbed). A testbed that cannot be brought up fails the run.
 */
#include <stdlib.h>

#include "tests/virt/virt_tests.h"

static Suite *
virt_suite(void)
{
    Suite *s = suite_create("virt");

    suite_add_tcase(s, virt_core_tcase());
    suite_add_tcase(s, virt_errors_tcase());
    suite_add_tcase(s, virt_xml_tcase());
    suite_add_tcase(s, virt_converge_tcase());
    suite_add_tcase(s, virt_libvirt_tcase());
    return s;
}

/* prepare: the testbed's two libvirtd hosts, only when the libvirt case runs. */
static int
prepare(void)
{
    return tern_check_case_runs("libvirt") ? virt_testbed_prepare() : 0;
}

int
main(void)
{
    return tern_check_run_suite(virt_suite(), prepare, virt_testbed_release);
}

/*
 * tests/virt/test-virt.c: the runner of the virt suite (compute/virt/).
 *
 * One suite, virt, with cases core, errors, xml, converge (unit) and libvirt (service: two real
 * libvirtd hosts of the testbed). A testbed that cannot be brought up fails the run.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

int
main(void)
{
    SRunner *sr = srunner_create(virt_suite());
    int failed;

    const char *only = getenv("CK_RUN_CASE");
    bool need_testbed = !only || strcmp(only, "libvirt") == 0;

    if (need_testbed && virt_testbed_prepare() < 0) {
        srunner_free(sr);
        return EXIT_FAILURE;
    }
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    virt_testbed_release();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

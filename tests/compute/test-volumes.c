/*
 * tests/compute/test-volumes.c: volumes only from the declared roots (compute_check_volume_paths,
 * [compute] volume_roots), with real files, directories and symbolic links in a temporary
 * directory: a file under a root passes; one outside, one reached through "..", through a
 * symbolic link out of the root, a directory, a missing file, and any volume on a host with no
 * roots are refused, naming the volume and the path.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "compute/compute.h"
#include "tests/compute/compute_tests.h"
#include "tests/support/tern-check.h"

/* check_one: compute_check_volume_paths on an instance with the one volume at path. */
static int
check_one(const char *roots, const char *path)
{
    compute_manager_t mgr = {0};
    virt_disk_t disk = {.path = (char *)path, .is_volume = true, .volume_id = (char *)"vol-1"};
    virt_instance_t inst = {
        .uuid = "0f3c2a10-0000-4000-8000-000000000001", .disks = &disk, .n_disks = 1};

    mgr.cfg.host = (char *)"host1";
    mgr.cfg.volume_roots = (char *)roots;
    return compute_check_volume_paths(&mgr, &inst);
}

static void
touch(const char *path)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fclose(f);
}

START_TEST(test_volume_roots)
{
    char dir[] = "/tmp/tern-volumes-XXXXXX";
    TERN_AUTOFREE char *root = NULL, *other = NULL, *vol = NULL, *outside = NULL, *link = NULL,
                       *dotdot = NULL, *roots = NULL, *sub = NULL;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    root = tern_asprintf("%s/shared", dir);
    other = tern_asprintf("%s/other", dir);
    sub = tern_asprintf("%s/shared/sub", dir);
    ck_assert_int_eq(mkdir(root, 0700), 0);
    ck_assert_int_eq(mkdir(other, 0700), 0);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    vol = tern_asprintf("%s/sub/vol.img", root);
    outside = tern_asprintf("%s/secret.img", other);
    link = tern_asprintf("%s/escape.img", root);
    dotdot = tern_asprintf("%s/../other/secret.img", root);
    touch(vol);
    touch(outside);
    ck_assert_int_eq(symlink(outside, link), 0);
    roots = tern_asprintf("/nonexistent, %s", root); /* a missing root holds nothing */

    ck_assert_msg(check_one(roots, vol) == 0, "%s", tern_error_message());
    CK_FAILS(check_one(roots, outside), TERN_ERR_INVALID);
    CK_MSG_HAS("is not under [compute] volume_roots of host \"host1\"");
    CK_MSG_HAS("volume \"vol-1\"");
    CK_FAILS(check_one(roots, dotdot), TERN_ERR_INVALID);
    CK_FAILS(check_one(roots, link), TERN_ERR_INVALID); /* the link is under, its target not */
    CK_MSG_HAS(outside);
    CK_FAILS(check_one(roots, sub), TERN_ERR_INVALID); /* a directory */
    CK_MSG_HAS("is not a regular file");
    CK_FAILS(check_one(roots, "/etc/shadow"), TERN_ERR_INVALID);
    CK_FAILS(check_one(roots, "/dev/null"), TERN_ERR_INVALID);
    {
        TERN_AUTOFREE char *missing = tern_asprintf("%s/none.img", root);

        CK_FAILS(check_one(roots, missing), TERN_ERR_NOT_FOUND);
    }
    CK_FAILS(check_one("", vol), TERN_ERR_INVALID); /* no roots: no volume at all */
    CK_MSG_HAS("none: no volume may be attached");
    ck_assert_msg(check_one(root, vol) == 0, "%s", tern_error_message());
    {
        TERN_AUTOFREE char *prefix = tern_asprintf("%s/sha", dir); /* "/sha" is no root of it */

        CK_FAILS(check_one(prefix, vol), TERN_ERR_INVALID);
    }
    unlink(link);
    unlink(vol);
    unlink(outside);
    rmdir(sub);
    rmdir(root);
    rmdir(other);
    rmdir(dir);
}
END_TEST

TCase *
compute_volumes_tcase(void)
{
    TCase *tc = tcase_create("volumes");

    tcase_add_test(tc, test_volume_roots);
    return tc;
}

/*
 * common/identity.c: broker identities and their hosts (see identity.h).
 */
#include "common/identity.h"

#include <string.h>

#include "common/util.h"

#define HOST_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

bool
tern_host_name_ok(const char *s)
{
    return s && *s && strlen(s) <= 255 && s[strspn(s, HOST_CHARS)] == '\0';
}

const char *
tern_identity_compute_host(const char *user)
{
    size_t n = strlen(TERN_COMPUTE_USER_PREFIX);

    if (!user || strncmp(user, TERN_COMPUTE_USER_PREFIX, n) != 0 || !tern_host_name_ok(user + n))
        return NULL;
    return user + n;
}

char *
tern_identity_compute_user(const char *host)
{
    return tern_asprintf("%s%s", TERN_COMPUTE_USER_PREFIX, host);
}

/*
 * conductor/policy.c: the policy file (see conductor/policy.h).
 *
 * Owns: the parsed JSON document (users -> roles, rules: method -> role), held read-only.
 */
#include "conductor/policy.h"

#include <jansson.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

#define POLICY_MAX_BYTES (1024 * 1024)

struct conductor_policy {
    json_t *users; /* object: user -> array of role strings (owned) */
    json_t *rules; /* object: method -> role string (owned) */
};

void
conductor_policy_free(conductor_policy_t *policy)
{
    if (!policy)
        return;
    json_decref(policy->users);
    json_decref(policy->rules);
    free(policy);
}

/* policy_validate: every user maps to an array of strings, every rule to a string. */
static int
policy_validate(const char *name, json_t *users, json_t *rules)
{
    const char *key;
    json_t *value;

    json_object_foreach(users, key, value)
    {
        size_t i;
        json_t *role;

        if (!json_is_array(value))
            return tern_error_set(TERN_ERR_CONFIG,
                                  "invalid policy file \"%s\": roles of user \"%s\" are not a list",
                                  name, key);
        json_array_foreach(value, i, role)
        {
            if (!json_is_string(role))
                return tern_error_set(TERN_ERR_CONFIG,
                                      "invalid policy file \"%s\": role %zu of user \"%s\" is not "
                                      "a string",
                                      name, i, key);
        }
    }
    json_object_foreach(rules, key, value)
    {
        if (!json_is_string(value))
            return tern_error_set(TERN_ERR_CONFIG,
                                  "invalid policy file \"%s\": rule for \"%s\" is not a role name",
                                  name, key);
    }
    return 0;
}

conductor_policy_t *
conductor_policy_parse(const char *name, const char *data)
{
    json_error_t jerr;
    json_t *root = json_loads(data, JSON_REJECT_DUPLICATES, &jerr);
    json_t *users = NULL, *rules = NULL;
    conductor_policy_t *policy;

    if (!root) {
        tern_error_set(TERN_ERR_CONFIG, "invalid policy file \"%s\": line %d: %s", name, jerr.line,
                       jerr.text);
        return NULL;
    }
    if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:o, s:o}", "users", &users, "rules", &rules) <
            0 ||
        !json_is_object(users) || !json_is_object(rules)) {
        tern_error_set(TERN_ERR_CONFIG,
                       "invalid policy file \"%s\": expected an object with \"users\" and "
                       "\"rules\" objects%s%s",
                       name, jerr.text[0] ? ": " : "", jerr.text);
        json_decref(root);
        return NULL;
    }
    if (policy_validate(name, users, rules) < 0) {
        json_decref(root);
        return NULL;
    }
    policy = tern_calloc(1, sizeof(*policy));
    policy->users = json_incref(users);
    policy->rules = json_incref(rules);
    json_decref(root);
    return policy;
}

conductor_policy_t *
conductor_policy_load(const char *path)
{
    TERN_AUTOFREE char *data = NULL;

    if (tern_file_read_all(path, POLICY_MAX_BYTES, &data, NULL) < 0) {
        tern_error_prefix("could not load policy");
        return NULL;
    }
    return conductor_policy_parse(path, data);
}

/* user_has_role: admin implies reader. */
static bool
user_has_role(const conductor_policy_t *policy, const char *user, const char *role)
{
    json_t *roles = json_object_get(policy->users, user ? user : "");
    json_t *r;
    size_t i;

    json_array_foreach(roles, i, r)
    {
        const char *have = json_string_value(r);

        if (tern_streq(have, role) || (tern_streq(have, "admin") && tern_streq(role, "reader")))
            return true;
    }
    return false;
}

int
conductor_policy_check(const conductor_policy_t *policy, const char *user, const char *method)
{
    const char *role = json_string_value(json_object_get(policy->rules, method));

    if (!role)
        role = "admin";
    if (user_has_role(policy, user, role))
        return 0;
    return tern_error_set(TERN_ERR_PERMISSION,
                          "user \"%s\" may not call \"%s\": role \"%s\" required", user ? user : "",
                          method, role);
}

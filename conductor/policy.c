/*
 * conductor/policy.c: the policy - its defaults in code, and the file that overrides them (see
 * conductor/policy.h).
 *
 * Owns: the effective users (-> roles) and rules (method -> role) as JSON objects, held
 * read-only: the defaults below, with what the file says laid over them.
 */
#include "conductor/policy.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/identity.h"
#include "common/util.h"

#define POLICY_MAX_BYTES (1024 * 1024)

/* Every method of the conductor's API (conductor/API.md) and the role it needs by default. */
static const struct {
    const char *method;
    const char *role;
} policy_rules[] = {
    {"live_migrate", "admin"},
    {"live_migration_abort", "admin"},
    {"live_migration_force_complete", "admin"},
    {"migration_list", "reader"},
    {"migration_get", "reader"},
    {"instance_action_list", "reader"},
    {"instance_action_get", "reader"},
    {"server_list", "reader"},
    {"server_get", "reader"},
    {"server_create", "admin"},
    {"server_delete", "admin"},
    {"service_list", "reader"},
    {"service_update", "admin"},
    {"hypervisor_list", "reader"},
    {"hypervisor_get", "reader"},
    {"host_evacuate_live", "admin"},
    {"host_maintenance_enter", "admin"},
    {"host_maintenance_exit", "admin"},
    {"host_evacuate_abort", "admin"},
    {"evacuation_get", "reader"},
    {"service_report", "service"},
    {"migration_update", "service"},
    {"live_migration_completed", "service"},
    {"live_migration_failed", "service"},
    {"migration_recover", "service"},
    {"migration_leftovers", "service"},
    {"migration_cleaned", "service"},
};

/* The identities of a default installation (tools/install-deps, the testbed): the operator's
 * "tern". Each compute's own "tern-compute.<host>" has the role "service" by convention
 * (user_roles), bound to its host (conductor/dispatch.c). */
static const struct {
    const char *user;
    const char *role;
} policy_users[] = {
    {"tern", "admin"},
};

static const char *const policy_roles[] = {"admin", "reader", "service"};

struct conductor_policy {
    json_t *users;         /* object: user -> array of role strings (owned) */
    json_t *rules;         /* object: method -> role string (owned) */
    json_t *compute_roles; /* ["service"]: a compute identity's by convention (owned) */
};

void
conductor_policy_free(conductor_policy_t *policy)
{
    if (!policy)
        return;
    json_decref(policy->users);
    json_decref(policy->rules);
    json_decref(policy->compute_roles);
    free(policy);
}

static bool
known_role(const char *role)
{
    for (size_t i = 0; i < TERN_N_ELEMENTS(policy_roles); i++)
        if (tern_streq(role, policy_roles[i]))
            return true;
    return false;
}

bool
conductor_policy_knows(const char *method)
{
    for (size_t i = 0; i < TERN_N_ELEMENTS(policy_rules); i++)
        if (tern_streq(method, policy_rules[i].method))
            return true;
    return false;
}

/* policy_defaults: the defaults in code, as a new policy. */
static conductor_policy_t *
policy_defaults(void)
{
    conductor_policy_t *policy = tern_calloc(1, sizeof(*policy));

    policy->users = json_object();
    policy->rules = json_object();
    policy->compute_roles = json_pack("[s]", "service");
    for (size_t i = 0; i < TERN_N_ELEMENTS(policy_users); i++)
        json_object_set_new(policy->users, policy_users[i].user,
                            json_pack("[s]", policy_users[i].role));
    for (size_t i = 0; i < TERN_N_ELEMENTS(policy_rules); i++)
        json_object_set_new(policy->rules, policy_rules[i].method,
                            json_string(policy_rules[i].role));
    return policy;
}

char *
conductor_policy_sample(void)
{
    conductor_policy_t *policy = policy_defaults();
    json_t *doc = json_pack("{s:O, s:O}", "users", policy->users, "rules", policy->rules);
    char *text = json_dumps(doc, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    char *ret = tern_asprintf("%s\n", text);

    free(text);
    json_decref(doc);
    conductor_policy_free(policy);
    return ret;
}

/* policy_validate: every user maps to a list of known roles, every rule names a method of the
 * conductor and a known role. */
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
            if (!known_role(json_string_value(role)))
                return tern_error_set(TERN_ERR_CONFIG,
                                      "invalid policy file \"%s\": user \"%s\" has an unknown role "
                                      "\"%s\" (known: admin, reader, service)",
                                      name, key, json_string_value(role));
        }
    }
    json_object_foreach(rules, key, value)
    {
        if (!json_is_string(value))
            return tern_error_set(TERN_ERR_CONFIG,
                                  "invalid policy file \"%s\": rule for \"%s\" is not a role name",
                                  name, key);
        if (!conductor_policy_knows(key))
            return tern_error_set(TERN_ERR_CONFIG,
                                  "invalid policy file \"%s\": unknown rule \"%s\" (no such "
                                  "conductor method)",
                                  name, key);
        if (!known_role(json_string_value(value)))
            return tern_error_set(TERN_ERR_CONFIG,
                                  "invalid policy file \"%s\": rule \"%s\" needs an unknown role "
                                  "\"%s\" (known: admin, reader, service)",
                                  name, key, json_string_value(value));
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
    if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s?o, s?o}", "users", &users, "rules", &rules) <
            0 ||
        (users && !json_is_object(users)) || (rules && !json_is_object(rules))) {
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
    /* The file overrides the defaults: a user's roles, a method's role. */
    policy = policy_defaults();
    if (users)
        json_object_update(policy->users, users);
    if (rules)
        json_object_update(policy->rules, rules);
    json_decref(root);
    return policy;
}

conductor_policy_t *
conductor_policy_load(const char *path, bool *ret_from_file)
{
    TERN_AUTOFREE char *data = NULL;

    if (ret_from_file)
        *ret_from_file = false;
    if (!path || !path[0] || (access(path, F_OK) < 0 && errno == ENOENT))
        return policy_defaults();
    if (tern_file_read_all(path, POLICY_MAX_BYTES, &data, NULL) < 0) {
        tern_error_prefix("could not load policy");
        return NULL;
    }
    if (ret_from_file)
        *ret_from_file = true;
    return conductor_policy_parse(path, data);
}

/* user_roles: what the policy gives user; a compute's identity not named in it has "service". */
static json_t *
user_roles(const conductor_policy_t *policy, const char *user)
{
    json_t *roles = json_object_get(policy->users, user ? user : "");

    return roles || !tern_identity_compute_host(user) ? roles : policy->compute_roles;
}

/* user_has_role: admin implies reader. */
static bool
user_has_role(const conductor_policy_t *policy, const char *user, const char *role)
{
    json_t *roles = user_roles(policy, user);
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

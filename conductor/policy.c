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
 * "tern", and tern-api's "tern-api", which may assert its callers' identities in the request
 * context (role "api", which grants no method by itself). Each compute's own
 * "tern-compute.<host>" has the role "service" by convention (user_roles), bound to its host
 * (conductor/dispatch.c). */
static const struct {
    const char *user;
    const char *role;
} policy_users[] = {
    {"tern", "admin"},
    {TERN_API_USER, "api"},
};

/* The roles a context asserted by an "api" identity may carry (Keystone's role names) and the
 * tern roles each gives: only Keystone's "admin". A project's "member" or "reader" in Keystone
 * is no reader of the whole cloud, as tern's "reader" is; a file maps other roles if wanted. */
static const struct {
    const char *context_role;
    const char *role;
} policy_context_roles[] = {
    {"admin", "admin"},
};

static const char *const policy_roles[] = {"admin", "reader", "service", "api"};

struct conductor_policy {
    json_t *users;         /* object: user -> array of role strings (owned) */
    json_t *rules;         /* object: method -> role string (owned) */
    json_t *context_roles; /* object: a context's role -> array of tern roles (owned) */
    json_t *compute_roles; /* ["service"]: a compute identity's by convention (owned) */
};

void
conductor_policy_free(conductor_policy_t *policy)
{
    if (!policy)
        return;
    json_decref(policy->users);
    json_decref(policy->rules);
    json_decref(policy->context_roles);
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
    policy->context_roles = json_object();
    policy->compute_roles = json_pack("[s]", "service");
    for (size_t i = 0; i < TERN_N_ELEMENTS(policy_users); i++)
        json_object_set_new(policy->users, policy_users[i].user,
                            json_pack("[s]", policy_users[i].role));
    for (size_t i = 0; i < TERN_N_ELEMENTS(policy_rules); i++)
        json_object_set_new(policy->rules, policy_rules[i].method,
                            json_string(policy_rules[i].role));
    for (size_t i = 0; i < TERN_N_ELEMENTS(policy_context_roles); i++)
        json_object_set_new(policy->context_roles, policy_context_roles[i].context_role,
                            json_pack("[s]", policy_context_roles[i].role));
    return policy;
}

char *
conductor_policy_sample(void)
{
    conductor_policy_t *policy = policy_defaults();
    json_t *doc = json_pack("{s:O, s:O, s:O}", "users", policy->users, "rules", policy->rules,
                            "context_roles", policy->context_roles);
    char *text = json_dumps(doc, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    char *ret = tern_asprintf("%s\n", text);

    free(text);
    json_decref(doc);
    conductor_policy_free(policy);
    return ret;
}

/* validate_role_lists: every key of map (users, or a context's roles: what) maps to a list of
 * known roles. */
static int
validate_role_lists(const char *name, const char *what, json_t *map)
{
    const char *key;
    json_t *value;

    json_object_foreach(map, key, value)
    {
        size_t i;
        json_t *role;

        if (!json_is_array(value))
            return tern_error_set(TERN_ERR_CONFIG,
                                  "invalid policy file \"%s\": roles of %s \"%s\" are not a list",
                                  name, what, key);
        json_array_foreach(value, i, role)
        {
            if (!json_is_string(role))
                return tern_error_set(TERN_ERR_CONFIG,
                                      "invalid policy file \"%s\": role %zu of %s \"%s\" is not "
                                      "a string",
                                      name, i, what, key);
            if (!known_role(json_string_value(role)))
                return tern_error_set(TERN_ERR_CONFIG,
                                      "invalid policy file \"%s\": %s \"%s\" has an unknown role "
                                      "\"%s\" (known: admin, reader, service, api)",
                                      name, what, key, json_string_value(role));
            /* a context never makes a compute or another API */
            if (tern_streq(what, "context role") && !tern_streq(json_string_value(role), "admin") &&
                !tern_streq(json_string_value(role), "reader"))
                return tern_error_set(TERN_ERR_CONFIG,
                                      "invalid policy file \"%s\": context role \"%s\" may give "
                                      "only admin or reader, not \"%s\"",
                                      name, key, json_string_value(role));
        }
    }
    return 0;
}

/* policy_validate: every user and context role maps to a list of known roles (a context's only
 * to admin or reader), every rule names a method of the conductor and a known role. */
static int
policy_validate(const char *name, json_t *users, json_t *rules, json_t *context_roles)
{
    const char *key;
    json_t *value;

    if (validate_role_lists(name, "user", users) < 0 ||
        validate_role_lists(name, "context role", context_roles) < 0)
        return -1;
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
                                  "\"%s\" (known: admin, reader, service, api)",
                                  name, key, json_string_value(value));
    }
    return 0;
}

conductor_policy_t *
conductor_policy_parse(const char *name, const char *data)
{
    json_error_t jerr;
    json_t *root = json_loads(data, JSON_REJECT_DUPLICATES, &jerr);
    json_t *users = NULL, *rules = NULL, *context_roles = NULL;
    conductor_policy_t *policy;

    if (!root) {
        tern_error_set(TERN_ERR_CONFIG, "invalid policy file \"%s\": line %d: %s", name, jerr.line,
                       jerr.text);
        return NULL;
    }
    if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s?o, s?o, s?o}", "users", &users, "rules",
                       &rules, "context_roles", &context_roles) < 0 ||
        (users && !json_is_object(users)) || (rules && !json_is_object(rules)) ||
        (context_roles && !json_is_object(context_roles))) {
        tern_error_set(TERN_ERR_CONFIG,
                       "invalid policy file \"%s\": expected an object with \"users\", "
                       "\"rules\" and \"context_roles\" objects%s%s",
                       name, jerr.text[0] ? ": " : "", jerr.text);
        json_decref(root);
        return NULL;
    }
    if (policy_validate(name, users, rules, context_roles) < 0) {
        json_decref(root);
        return NULL;
    }
    /* The file overrides the defaults: a user's roles, a method's role. */
    policy = policy_defaults();
    if (users)
        json_object_update(policy->users, users);
    if (rules)
        json_object_update(policy->rules, rules);
    if (context_roles)
        json_object_update(policy->context_roles, context_roles);
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

/* roles_have: whether the array roles has role; admin implies reader. */
static bool
roles_have(json_t *roles, const char *role)
{
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

/* method_role: the role method needs (a method without a rule: admin). */
static const char *
method_role(const conductor_policy_t *policy, const char *method)
{
    const char *role = json_string_value(json_object_get(policy->rules, method));

    return role ? role : "admin";
}

int
conductor_policy_check(const conductor_policy_t *policy, const char *user, const char *method)
{
    const char *role = method_role(policy, method);

    if (roles_have(user_roles(policy, user), role))
        return 0;
    return tern_error_set(TERN_ERR_PERMISSION,
                          "user \"%s\" may not call \"%s\": role \"%s\" required", user ? user : "",
                          method, role);
}

/* context_user_ok: a user id an API may assert - 1..255 of [A-Za-z0-9._@-], and never a tern
 * identity (a compute's, an API's, a user the policy names): those come only from the broker. */
static bool
context_user_ok(const conductor_policy_t *policy, const char *user)
{
    static const char chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-";

    return user && user[0] && strlen(user) <= 255 && user[strspn(user, chars)] == '\0' &&
           !tern_identity_compute_host(user) && !json_object_get(policy->users, user);
}

/* context_roles_of: the tern roles the context's "roles" give (a new array), or NULL with a
 * PERMISSION error when they are not a list of at most 64 strings. */
static json_t *
context_roles_of(const conductor_policy_t *policy, json_t *context, const char *api)
{
    json_t *asserted = json_object_get(context, "roles"), *ret, *r;
    size_t i;

    if (!json_is_array(asserted) || json_array_size(asserted) > 64) {
        tern_error_set(TERN_ERR_PERMISSION,
                       "user \"%s\" sent a context whose roles are not a list of at most 64", api);
        return NULL;
    }
    ret = json_array();
    json_array_foreach(asserted, i, r)
    {
        json_t *gives;

        if (!json_is_string(r)) {
            json_decref(ret);
            tern_error_set(TERN_ERR_PERMISSION,
                           "user \"%s\" sent a context whose role %zu is "
                           "not a string",
                           api, i);
            return NULL;
        }
        if ((gives = json_object_get(policy->context_roles, json_string_value(r))))
            json_array_extend(ret, gives);
    }
    return ret;
}

int
conductor_policy_check_request(const conductor_policy_t *policy, const char *amqp_user,
                               json_t *context, const char *method, const char **ret_user)
{
    const char *role = method_role(policy, method), *user;
    json_t *roles;
    bool ok;

    if (!roles_have(user_roles(policy, amqp_user), "api")) {
        if (conductor_policy_check(policy, amqp_user, method) < 0)
            return -1;
        *ret_user = amqp_user ? amqp_user : "";
        return 0;
    }
    user = json_string_value(json_object_get(context, "user_id"));
    if (!context_user_ok(policy, user))
        return tern_error_set(TERN_ERR_PERMISSION,
                              "user \"%s\" may not call \"%s\" for user \"%.255s\": not a user "
                              "id an API may assert",
                              amqp_user, method, user ? user : "");
    if (!(roles = context_roles_of(policy, context, amqp_user)))
        return -1;
    ok = roles_have(roles, role);
    json_decref(roles);
    if (!ok)
        return tern_error_set(TERN_ERR_PERMISSION,
                              "user \"%s\" (through \"%s\") may not call \"%s\": role \"%s\" "
                              "required",
                              user, amqp_user, method, role);
    *ret_user = user;
    return 0;
}

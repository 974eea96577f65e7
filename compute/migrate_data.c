/*
 * compute/migrate_data.c: the migration's contract between the hosts (compute/migrate_data.h):
 * strict parsing, value checks, serialisation.
 *
 * Ownership: see the header. Parsers fill a local copy and hand it over only on success.
 */
#include "compute/migrate_data.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/error.h"
#include "common/util.h"
#include "compute/json_check.h"

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

/* bad: "invalid <what>: field "<field>": <reason>" as an INVALID error. Returns -1. */
static int bad(const char *what, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bad(const char *what, const char *field, const char *fmt, ...)
{
    char reason[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    return tern_error_set(TERN_ERR_INVALID, "invalid %s: field \"%s\": %s", what, field, reason);
}

static bool
name_ok(const char *s)
{
    return s && *s && strlen(s) <= 255 && s[strspn(s, NAME_CHARS)] == '\0';
}

/* An address: a host name or an IPv4/IPv6 address (colons allowed). */
static bool
address_ok(const char *s)
{
    return s && *s && strlen(s) <= 255 && s[strspn(s, NAME_CHARS ":")] == '\0';
}

/* An absolute path without "..", quotes or markup (it ends up in XML and argv). */
static bool
path_ok(const char *s)
{
    return s && s[0] == '/' && strlen(s) < 4096 && !strstr(s, "/../") &&
           strcmp(s + strlen(s) - (strlen(s) >= 3 ? 3 : 0), "/..") != 0 && !strpbrk(s, "'\"<>&\n");
}

/* A libvirt URI of the qemu driver: qemu+SCHEME://ADDRESS/system or qemu:///system. */
static bool
uri_ok(const char *s)
{
    return s && (strncmp(s, "qemu+", 5) == 0 || strncmp(s, "qemu:", 5) == 0) && strlen(s) <= 1024 &&
           !strpbrk(s, " '\"<>&\n");
}

/* The keys of the wire format and their types, to name the key of a wrong type. */
static const compute_json_field_t wire_types[] = {
    {"host", JSON_STRING},
    {"libvirt_uri", JSON_STRING},
    {"migration_address", JSON_STRING},
    {"disk_available_bytes", JSON_INTEGER},
    {"shared_probe", JSON_STRING},
    {"hypervisor_type", JSON_STRING},
    {"hypervisor_version", JSON_INTEGER},
    {"instances_path", JSON_STRING},
    {"source_host", JSON_STRING},
    {"is_shared_instance_path", JSON_TRUE},
    {"block_migration", JSON_TRUE},
    {"disks", JSON_ARRAY},
    {"skipped_disks", JSON_ARRAY},
    {"bytes_to_copy", JSON_INTEGER},
    {"never_pause", JSON_TRUE},
};

/* unpack_failed: the error of a failed strict unpack of json, naming the key. */
static int
unpack_failed(const json_t *json, const char *what, const json_error_t *jerr)
{
    return compute_json_check(json, what, wire_types, TERN_N_ELEMENTS(wire_types), jerr);
}

/* ---- check data ---- */

void
compute_dest_check_data_clear(compute_dest_check_data_t *d)
{
    if (!d)
        return;
    free(d->host);
    free(d->libvirt_uri);
    free(d->migration_address);
    free(d->shared_probe);
    free(d->hypervisor_type);
    free(d->instances_path);
    memset(d, 0, sizeof(*d));
}

/* The check data's keys as json_unpack reads them (strings borrowed). */
typedef struct dest_fields {
    const char *host, *libvirt_uri, *migration_address, *shared_probe, *hypervisor_type,
        *instances_path;
    json_int_t disk_available_bytes, hypervisor_version;
} dest_fields_t;

static int
dest_check(const dest_fields_t *f, const char *what)
{
    if (!name_ok(f->host))
        return bad(what, "host", "not a host name");
    if (!uri_ok(f->libvirt_uri))
        return bad(what, "libvirt_uri", "not a libvirt URI of the qemu driver");
    if (!address_ok(f->migration_address))
        return bad(what, "migration_address", "not an address");
    if (f->disk_available_bytes < 0)
        return bad(what, "disk_available_bytes", "negative");
    if (!name_ok(f->shared_probe))
        return bad(what, "shared_probe", "not a file name");
    if (!name_ok(f->hypervisor_type))
        return bad(what, "hypervisor_type", "not a hypervisor type");
    if (f->hypervisor_version < 0)
        return bad(what, "hypervisor_version", "negative");
    if (!path_ok(f->instances_path))
        return bad(what, "instances_path", "not an absolute path");
    return 0;
}

static void
dest_fill(const dest_fields_t *f, compute_dest_check_data_t *ret)
{
    ret->host = tern_strdup(f->host);
    ret->libvirt_uri = tern_strdup(f->libvirt_uri);
    ret->migration_address = tern_strdup(f->migration_address);
    ret->disk_available_bytes = f->disk_available_bytes;
    ret->shared_probe = tern_strdup(f->shared_probe);
    ret->hypervisor_type = tern_strdup(f->hypervisor_type);
    ret->hypervisor_version = f->hypervisor_version;
    ret->instances_path = tern_strdup(f->instances_path);
}

int
compute_dest_check_data_from_json(const json_t *json, const char *what,
                                  compute_dest_check_data_t *ret)
{
    dest_fields_t f;
    json_error_t jerr;

    memset(ret, 0, sizeof(*ret));
    if (json_unpack_ex((json_t *)json, &jerr, JSON_STRICT,
                       "{s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:s}", "host", &f.host, "libvirt_uri",
                       &f.libvirt_uri, "migration_address", &f.migration_address,
                       "disk_available_bytes", &f.disk_available_bytes, "shared_probe",
                       &f.shared_probe, "hypervisor_type", &f.hypervisor_type, "hypervisor_version",
                       &f.hypervisor_version, "instances_path", &f.instances_path) < 0)
        return unpack_failed(json, what, &jerr);
    if (dest_check(&f, what) < 0)
        return -1;
    dest_fill(&f, ret);
    return 0;
}

static void
dest_add(json_t *obj, const compute_dest_check_data_t *d)
{
    json_object_set_new(obj, "host", json_string(d->host));
    json_object_set_new(obj, "libvirt_uri", json_string(d->libvirt_uri));
    json_object_set_new(obj, "migration_address", json_string(d->migration_address));
    json_object_set_new(obj, "disk_available_bytes", json_integer(d->disk_available_bytes));
    json_object_set_new(obj, "shared_probe", json_string(d->shared_probe));
    json_object_set_new(obj, "hypervisor_type", json_string(d->hypervisor_type));
    json_object_set_new(obj, "hypervisor_version", json_integer(d->hypervisor_version));
    json_object_set_new(obj, "instances_path", json_string(d->instances_path));
}

json_t *
compute_dest_check_data_to_json(const compute_dest_check_data_t *d)
{
    json_t *obj = json_object();

    dest_add(obj, d);
    return obj;
}

/* ---- the disks ---- */

static void
disks_clear(compute_migrate_data_t *d)
{
    for (size_t i = 0; i < d->n_disks; i++) {
        free(d->disks[i].target);
        free(d->disks[i].path);
        free(d->disks[i].format);
        free(d->disks[i].backing_file);
    }
    free(d->disks);
    for (size_t i = 0; i < d->n_skipped_disks; i++) {
        free(d->skipped_disks[i].target);
        free(d->skipped_disks[i].path);
        free(d->skipped_disks[i].reason);
    }
    free(d->skipped_disks);
    d->disks = NULL;
    d->skipped_disks = NULL;
    d->n_disks = d->n_skipped_disks = 0;
}

/* parse_disks: "disks" (to copy) into d. */
static int
parse_disks(const json_t *arr, const char *what, compute_migrate_data_t *d)
{
    size_t i;
    json_t *v;

    d->disks = tern_calloc(json_array_size(arr) + 1, sizeof(*d->disks));
    json_array_foreach(arr, i, v)
    {
        const char *target, *path, *format, *backing = NULL;
        json_int_t size;
        json_error_t jerr;
        char field[32];

        snprintf(field, sizeof(field), "disks[%zu]", i);
        if (json_unpack_ex(v, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s?s, s:I}", "target", &target,
                           "path", &path, "format", &format, "backing_file", &backing,
                           "virtual_size", &size) < 0)
            return bad(what, field, "%s", jerr.text);
        if (!name_ok(target) || !path_ok(path) || (backing && !path_ok(backing)) || size < 0 ||
            (strcmp(format, "qcow2") != 0 && strcmp(format, "raw") != 0))
            return bad(what, field, "a bad target, path, backing file, format or size");
        d->disks[i] = (compute_migrate_disk_t){tern_strdup(target), tern_strdup(path),
                                               tern_strdup(format), tern_strdup(backing), size};
        d->n_disks = i + 1;
    }
    return 0;
}

/* parse_skipped: "skipped_disks" (not copied, with the reason) into d. */
static int
parse_skipped(const json_t *arr, const char *what, compute_migrate_data_t *d)
{
    size_t i;
    json_t *v;

    d->skipped_disks = tern_calloc(json_array_size(arr) + 1, sizeof(*d->skipped_disks));
    json_array_foreach(arr, i, v)
    {
        const char *target, *path, *reason;
        json_error_t jerr;
        char field[40];

        snprintf(field, sizeof(field), "skipped_disks[%zu]", i);
        if (json_unpack_ex(v, &jerr, JSON_STRICT, "{s:s, s:s, s:s}", "target", &target, "path",
                           &path, "reason", &reason) < 0)
            return bad(what, field, "%s", jerr.text);
        if (!name_ok(target) || !path_ok(path) || !*reason || strlen(reason) > 255)
            return bad(what, field, "a bad target, path or reason");
        d->skipped_disks[i] =
            (compute_skipped_disk_t){tern_strdup(target), tern_strdup(path), tern_strdup(reason)};
        d->n_skipped_disks = i + 1;
    }
    return 0;
}

/* ---- migrate data ---- */

void
compute_migrate_data_clear(compute_migrate_data_t *d)
{
    if (!d)
        return;
    compute_dest_check_data_clear(&d->dest);
    free(d->source_host);
    disks_clear(d);
    memset(d, 0, sizeof(*d));
}

int
compute_migrate_data_from_json(const json_t *json, const char *what, compute_migrate_data_t *ret)
{
    compute_migrate_data_t d = {0};
    dest_fields_t f;
    const char *source_host;
    int shared, block, never_pause = 0;
    json_t *disks, *skipped;
    json_int_t bytes;
    json_error_t jerr;

    memset(ret, 0, sizeof(*ret));
    if (json_unpack_ex((json_t *)json, &jerr, JSON_STRICT,
                       "{s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:s,"
                       " s:s, s:b, s:b, s:o, s:o, s:I, s?b}",
                       "host", &f.host, "libvirt_uri", &f.libvirt_uri, "migration_address",
                       &f.migration_address, "disk_available_bytes", &f.disk_available_bytes,
                       "shared_probe", &f.shared_probe, "hypervisor_type", &f.hypervisor_type,
                       "hypervisor_version", &f.hypervisor_version, "instances_path",
                       &f.instances_path, "source_host", &source_host, "is_shared_instance_path",
                       &shared, "block_migration", &block, "disks", &disks, "skipped_disks",
                       &skipped, "bytes_to_copy", &bytes, "never_pause", &never_pause) < 0)
        return unpack_failed(json, what, &jerr);
    if (dest_check(&f, what) < 0)
        return -1;
    if (!name_ok(source_host))
        return bad(what, "source_host", "not a host name");
    if (block && shared)
        return bad(what, "block_migration",
                   "true on a shared instance path (the disks would be copied onto themselves)");
    if (!json_is_array(disks))
        return bad(what, "disks", "expected an array");
    if (!json_is_array(skipped))
        return bad(what, "skipped_disks", "expected an array");
    if (bytes < 0)
        return bad(what, "bytes_to_copy", "negative");
    if (parse_disks(disks, what, &d) < 0 || parse_skipped(skipped, what, &d) < 0) {
        compute_migrate_data_clear(&d);
        return -1;
    }
    if (!block && d.n_disks > 0) {
        compute_migrate_data_clear(&d);
        return bad(what, "disks", "disks to copy without block migration");
    }
    dest_fill(&f, &d.dest);
    d.source_host = tern_strdup(source_host);
    d.is_shared_instance_path = shared;
    d.block_migration = block;
    d.bytes_to_copy = bytes;
    d.never_pause = never_pause;
    *ret = d;
    return 0;
}

json_t *
compute_migrate_data_to_json(const compute_migrate_data_t *d)
{
    json_t *obj = json_object(), *disks = json_array(), *skipped = json_array();

    dest_add(obj, &d->dest);
    for (size_t i = 0; i < d->n_disks; i++) {
        const compute_migrate_disk_t *k = &d->disks[i];
        json_t *disk =
            tern_json_pack("{s:s, s:s, s:s, s:I}", "target", k->target, "path", k->path, "format",
                           k->format, "virtual_size", (json_int_t)k->virtual_size);

        if (k->backing_file)
            json_object_set_new(disk, "backing_file", json_string(k->backing_file));
        json_array_append_new(disks, disk);
    }
    for (size_t i = 0; i < d->n_skipped_disks; i++) {
        const compute_skipped_disk_t *k = &d->skipped_disks[i];

        json_array_append_new(skipped, tern_json_pack("{s:s, s:s, s:s}", "target", k->target,
                                                      "path", k->path, "reason", k->reason));
    }
    json_object_set_new(obj, "source_host", json_string(d->source_host));
    json_object_set_new(obj, "is_shared_instance_path", json_boolean(d->is_shared_instance_path));
    json_object_set_new(obj, "block_migration", json_boolean(d->block_migration));
    json_object_set_new(obj, "disks", disks);
    json_object_set_new(obj, "skipped_disks", skipped);
    json_object_set_new(obj, "bytes_to_copy", json_integer(d->bytes_to_copy));
    json_object_set_new(obj, "never_pause", json_boolean(d->never_pause));
    return obj;
}

void
compute_migrate_data_copy(const compute_migrate_data_t *src, compute_migrate_data_t *ret)
{
    json_t *json = compute_migrate_data_to_json(src);

    /* what it wrote it reads: a failure here is a bug in one of the two */
    if (compute_migrate_data_from_json(json, "migrate data", ret) < 0)
        abort();
    json_decref(json);
}

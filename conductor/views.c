/*
 * conductor/views.c: database rows -> API JSON (see conductor/views.h).
 *
 * Owns nothing: each function builds a new object from borrowed rows.
 */
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "common/error.h"
#include "common/util.h"
#include "conductor/views.h"

json_t *
conductor_view_time(int64_t ms)
{
    char buf[40];
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0)
        return json_null();
    gmtime_r(&secs, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%03dZ", (int)(ms % 1000));
    return json_string(buf);
}

json_t *
conductor_view_service(const db_service_t *svc)
{
    return tern_json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s?, s:b, s:o, s:i, s:s}", "host", svc->host, "binary",
        svc->binary, "topic", svc->topic, "status", svc->disabled ? "disabled" : "enabled", "state",
        svc->is_up ? "up" : "down", "disabled_reason", svc->disabled_reason, "forced_down",
        svc->forced_down, "last_heartbeat", conductor_view_time(svc->last_heartbeat_ms), "version",
        svc->version, "maintenance",
        svc->draining      ? "draining"
        : svc->maintenance ? "on"
                           : "off");
}

json_t *
conductor_view_hypervisor(const db_compute_node_t *n, const db_service_t *svc)
{
    const char *cpu_xml = json_string_value(json_object_get(n->cpu_info, "xml"));
    db_resources_t none = {0}, left;
    json_t *v;

    db_capacity_free(n, &none, &left); /* usable = what is left + what is used */
    v = tern_json_pack(
        "{s:s, s:s, s:I, s:s, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:s, "
        "s:s, s:s, s:f, s:f, s:o}",
        "host", n->host, "hypervisor_type", n->hypervisor_type, "hypervisor_version",
        (json_int_t)n->hypervisor_version, "hypervisor_hostname", n->hypervisor_hostname, "vcpus",
        n->vcpus, "vcpus_used", n->vcpus_used, "memory_mb", (json_int_t)n->memory_mb,
        "memory_mb_used", (json_int_t)n->memory_mb_used, "free_ram_mb", (json_int_t)n->free_ram_mb,
        "local_gb", (json_int_t)n->local_gb, "local_gb_used", (json_int_t)n->local_gb_used,
        "free_disk_gb", (json_int_t)n->free_disk_gb, "running_vms", n->running_vms, "cpu_info",
        cpu_xml ? cpu_xml : "", "state", svc ? (svc->is_up ? "up" : "down") : "unknown", "status",
        svc ? (svc->disabled ? "disabled" : "enabled") : "unknown", "ram_allocation_ratio",
        n->ram_allocation_ratio, "cpu_allocation_ratio", n->cpu_allocation_ratio, "updated_at",
        conductor_view_time(n->updated_ms));
    json_object_set_new(v, "reserved_host_memory_mb", json_integer(n->reserved_host_memory_mb));
    json_object_set_new(v, "memory_mb_usable", json_integer(left.memory_mb + n->memory_mb_used));
    json_object_set_new(v, "max_concurrent_live_migrations", json_integer(n->max_live_migrations));
    return v;
}

static json_t *
phase_ms(const db_migration_t *m, db_migration_phase_t phase)
{
    if (!m->phase_start_ms[phase] || !m->phase_end_ms[phase])
        return json_null();
    return json_integer(m->phase_end_ms[phase] - m->phase_start_ms[phase]);
}

/* current_phase: the last phase that started. */
static const char *
current_phase(const db_migration_t *m)
{
    const char *name = "checks";

    for (int p = 0; p < DB_MIGRATION_PHASE__COUNT; p++) {
        if (m->phase_start_ms[p])
            name = db_migration_phase_name((db_migration_phase_t)p);
    }
    return name;
}

/* phase_times: when each phase started and ended, {"checks": {"started_at", "finished_at"}...} */
static json_t *
phase_times(const db_migration_t *m)
{
    json_t *obj = json_object();

    for (int p = 0; p < DB_MIGRATION_PHASE__COUNT; p++) {
        if (!m->phase_start_ms[p])
            continue;
        json_object_set_new(obj, db_migration_phase_name((db_migration_phase_t)p),
                            tern_json_pack("{s:o, s:o}", "started_at",
                                           conductor_view_time(m->phase_start_ms[p]), "finished_at",
                                           conductor_view_time(m->phase_end_ms[p])));
    }
    return obj;
}

/* migration_fields: the record's own columns. */
static json_t *
migration_fields(const db_migration_t *m)
{
    return tern_json_pack(
        "{s:s, s:I, s:s, s:s, s:s?, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:I, s:o, s:o, s:s, s:s?, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
        "uuid", m->uuid, "id", (json_int_t)m->id, "instance_uuid", m->instance_uuid,
        "source_compute", m->source_compute, "dest_compute", m->dest_compute, "status",
        db_migration_status_name(m->status), "migration_type",
        m->migration_type ? m->migration_type : "live-migration", "block_migration",
        m->block_migration, "memory_total", (json_int_t)m->memory_total, "memory_processed",
        (json_int_t)m->memory_processed, "memory_remaining", (json_int_t)m->memory_remaining,
        "disk_total", (json_int_t)m->disk_total, "disk_processed", (json_int_t)m->disk_processed,
        "disk_remaining", (json_int_t)m->disk_remaining, "dirty_rate", (json_int_t)m->dirty_rate,
        "iterations", (json_int_t)m->iterations, "downtime_ms",
        m->downtime_ms >= 0 ? json_integer(m->downtime_ms) : json_null(), "libvirt_job_ms",
        m->total_time_ms >= 0 ? json_integer(m->total_time_ms) : json_null(), "phase",
        current_phase(m), "error_message", m->error_message, "created_at",
        conductor_view_time(m->created_ms), "updated_at", conductor_view_time(m->updated_ms),
        "finished_at", conductor_view_time(m->finished_ms), "checks_ms",
        phase_ms(m, DB_MIGRATION_PHASE_CHECKS), "preparation_ms",
        phase_ms(m, DB_MIGRATION_PHASE_PREPARATION), "migration_ms",
        phase_ms(m, DB_MIGRATION_PHASE_MIGRATION), "post_processing_ms",
        phase_ms(m, DB_MIGRATION_PHASE_POST));
}

json_t *
conductor_view_migration(const db_migration_t *m)
{
    json_t *view = migration_fields(m);

    /* from the request's acceptance to the switch-over recorded: what a user waits for */
    json_object_set_new(view, "total_ms",
                        m->created_ms && m->finished_ms
                            ? json_integer(m->finished_ms - m->created_ms)
                            : json_null());
    json_object_set_new(view, "phases", phase_times(m));
    return view;
}

static json_t *
view_volumes(db_conn_t *db, const char *uuid)
{
    db_volume_attachment_t *list = NULL;
    size_t n = 0;
    json_t *arr;

    if (db_volume_attachment_list(db, uuid, &list, &n) < 0)
        return NULL;
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, tern_json_pack("{s:s, s:s, s:O}", "volume_id", list[i].volume_id,
                                                  "device", list[i].device_name, "connection_info",
                                                  list[i].connection_info));
    db_volume_attachment_list_free(list, n);
    return arr;
}

static json_t *
view_networks(db_conn_t *db, const char *uuid)
{
    db_vif_t *list = NULL;
    size_t n = 0;
    json_t *arr;

    if (db_vif_list(db, uuid, &list, &n) < 0)
        return NULL;
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            arr, tern_json_pack("{s:s, s:s?}", "mac", list[i].address, "bridge", list[i].bridge));
    db_vif_list_free(list, n);
    return arr;
}

static json_t *
view_rules(db_conn_t *db, const char *uuid)
{
    db_secgroup_rule_t *list = NULL;
    size_t n = 0;
    json_t *arr;

    if (db_secgroup_rule_list(db, uuid, &list, &n) < 0)
        return NULL;
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const db_secgroup_rule_t *r = &list[i];

        json_array_append_new(
            arr, tern_json_pack("{s:s, s:s, s:i, s:i, s:s}", "direction", r->direction, "protocol",
                                r->protocol ? r->protocol : "any", "port_min",
                                r->port_range_min < 0 ? 0 : r->port_range_min, "port_max",
                                r->port_range_max < 0 ? 0 : r->port_range_max, "remote_cidr",
                                r->remote_ip_prefix ? r->remote_ip_prefix : ""));
    }
    db_secgroup_rule_list_free(list, n);
    return arr;
}

json_t *
conductor_view_instance(db_conn_t *db, const db_instance_t *i)
{
    json_t *volumes = view_volumes(db, i->uuid);
    json_t *networks = volumes ? view_networks(db, i->uuid) : NULL;
    json_t *rules = networks ? view_rules(db, i->uuid) : NULL;

    if (!rules) {
        json_decref(volumes);
        json_decref(networks);
        return NULL;
    }
    return tern_json_pack(
        "{s:s, s:s, s:s?, s:s?, s:s, s:s?, s:i, s:I, s:i, s:I, s:s?, s:s, s:s, "
        "s:o, s:o, s:o, s:o, s:o}",
        "uuid", i->uuid, "name", i->name, "host", i->host, "node", i->node, "vm_state",
        i->vm_state ? i->vm_state : "", "task_state", i->task_state, "power_state", i->power_state,
        "memory_mb", (json_int_t)i->memory_mb, "vcpus", i->vcpus, "disk_gb", (json_int_t)i->root_gb,
        "image", i->image_ref, "project_id", i->project_id ? i->project_id : "", "user_id",
        i->user_id ? i->user_id : "", "volumes", volumes, "networks", networks,
        "security_group_rules", rules, "created_at", conductor_view_time(i->created_ms),
        "updated_at", conductor_view_time(i->updated_ms));
}

json_t *
conductor_view_action_event(const db_action_event_t *e)
{
    return tern_json_pack("{s:s, s:s?, s:o, s:o, s:s?, s:s?}", "event", e->event, "host", e->host,
                          "start_time", conductor_view_time(e->start_ms), "finish_time",
                          conductor_view_time(e->finish_ms), "result", e->result, "message",
                          e->message);
}

json_t *
conductor_view_action(const db_action_t *a, json_t *events)
{
    json_t *obj = tern_json_pack(
        "{s:s, s:s, s:s, s:s?, s:s?, s:o, s:o, s:s?, s:s?}", "action", a->action, "instance_uuid",
        a->instance_uuid, "request_id", a->request_id, "user_id", a->user_id, "project_id",
        a->project_id, "start_time", conductor_view_time(a->start_ms), "finish_time",
        conductor_view_time(a->finish_ms), "result", a->result, "message", a->message);

    if (events)
        json_object_set_new(obj, "events", events);
    return obj;
}

static json_t *
view_drain_item(const db_drain_item_t *it)
{
    return tern_json_pack(
        "{s:s, s:s?, s:i, s:s, s:s?, s:I, s:s?, s:i, s:s?, s:s?, s:o, s:o, s:o, s:I, s:I, s:I, "
        "s:o, s:o}",
        "instance_uuid", it->instance_uuid, "name", it->instance_name, "priority", it->priority,
        "status", db_drain_item_status_name(it->status), "migration_uuid",
        it->migration_uuid[0] ? it->migration_uuid : NULL, "migration_id",
        (json_int_t)it->migration_id, "migration_status", it->migration_status, "attempts",
        it->attempts, "dest_host", it->dest_host, "message", it->message, "started_at",
        conductor_view_time(it->started_ms), "finished_at", conductor_view_time(it->finished_ms),
        "downtime_ms", it->downtime_ms >= 0 ? json_integer(it->downtime_ms) : json_null(),
        "data_total", (json_int_t)it->data_total, "data_processed", (json_int_t)it->data_processed,
        "transfer_ms", (json_int_t)it->transfer_ms, "migration_started_at",
        conductor_view_time(it->migration_started_ms), "migration_finished_at",
        conductor_view_time(it->migration_finished_ms));
}

/* The drain's progress: instances by status and a percentage of the work known so far (a
 * finished instance counts whole, a migrating one by its data moved), with an ETA from the
 * time elapsed at that percentage. */
static json_t *
view_drain_progress(const db_drain_t *d, const db_drain_item_t *items, size_t n, int64_t now_ms)
{
    size_t count[DB_DRAIN_ITEM_CANCELLED + 1] = {0};
    double done = 0;
    int64_t end_ms = d->finished_ms ? d->finished_ms : now_ms, elapsed = end_ms - d->created_ms;
    json_t *by = json_object(), *eta = json_null();
    int percent;

    for (size_t i = 0; i < n; i++) {
        count[items[i].status]++;
        if (db_drain_item_status_is_final(items[i].status))
            done += 1;
        else if (items[i].status == DB_DRAIN_ITEM_MIGRATING && items[i].data_total > 0)
            done += (double)items[i].data_processed / (double)items[i].data_total;
    }
    for (int s = 0; s <= DB_DRAIN_ITEM_CANCELLED; s++)
        json_object_set_new(by, db_drain_item_status_name(s), json_integer((json_int_t)count[s]));
    percent = n ? (int)(100.0 * done / (double)n) : 100;
    if (percent > 100)
        percent = 100;
    if (!db_drain_status_is_final(d->status) && done > 0 && done < (double)n)
        eta = json_integer((json_int_t)((double)elapsed * ((double)n - done) / done));
    return tern_json_pack("{s:I, s:o, s:i, s:I, s:o}", "total", (json_int_t)n, "instances", by,
                          "percent", percent, "elapsed_ms", (json_int_t)elapsed, "eta_ms", eta);
}

json_t *
conductor_view_drain(const db_drain_t *d, const db_drain_item_t *items, size_t n, int64_t now_ms)
{
    json_t *list = json_array(), *v;

    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, view_drain_item(&items[i]));
    v = tern_json_pack(
        "{s:I, s:s, s:s, s:b, s:s?, s:o, s:i, s:b, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:o, "
        "s:o, s:o}",
        "id", (json_int_t)d->id, "host", d->host, "status", db_drain_status_name(d->status),
        "maintenance", d->maintenance, "target_host", d->target_host, "block_migration",
        d->block_migration < 0 ? json_null() : json_boolean(d->block_migration), "max_concurrent",
        d->max_concurrent, "force", d->force, "conductor", d->conductor, "user_id", d->user_id,
        "project_id", d->project_id, "request_id", d->request_id, "reason", d->reason, "message",
        d->message, "created_at", conductor_view_time(d->created_ms), "updated_at",
        conductor_view_time(d->updated_ms), "finished_at", conductor_view_time(d->finished_ms));
    json_object_set_new(v, "never_pause", json_boolean(d->never_pause));
    json_object_set_new(v, "progress", view_drain_progress(d, items, n, now_ms));
    json_object_set_new(v, "instances", list);
    return v;
}

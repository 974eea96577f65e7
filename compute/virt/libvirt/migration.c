/*
 * compute/virt/libvirt/migration.c: live migration through libvirt (peer to peer).
 *
 * virt_libvirt_migrate() builds the flags and typed parameters, then runs the blocking
 * virDomainMigrateToURI3() in a thread of its own and returns a handle at once. The handle polls
 * the job (virDomainGetJobStats), tunes it (max downtime, speed), aborts it (virDomainAbortJob)
 * or forces it to complete (virDomainMigrateStartPostCopy when post-copy was enabled, else
 * virDomainSuspend - the guest is resumed again if the migration then fails, as nova does), and
 * waits for its end. The completed job's statistics are read on the destination afterwards
 * (virt_libvirt_get_completed_migration_stats with the destination's driver).
 *
 * Threads: the handle may be used from any thread. `lock` guards done, result, error,
 * abort_requested, post_copy_started and paused_by_us; the rest is fixed before the thread
 * starts. The handle holds its own references to the connection and the domain (libvirt objects
 * are thread-safe), so the driver may reconnect meanwhile.
 *
 * Ownership: the handle owns its parameters and references; virt_migration_free joins the thread.
 */
#include "compute/virt/libvirt/libvirt_driver.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/util.h"

typedef struct libvirt_migration {
    virt_migration_t base; /* first: the ops table */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* guarded by lock */
    bool done;
    virt_migration_result_t result;
    tern_error_t error;
    bool abort_requested;
    bool post_copy_started;
    bool paused_by_us;
    int refs;               /* the handle, and the event registration while it lasts */
    bool have_final;        /* the JOB_COMPLETED event came */
    virt_job_stats_t final; /* its statistics */
    /* fixed once started */
    int event_id;       /* JOB_COMPLETED callback on conn, -1 when none */
    virConnectPtr conn; /* own reference */
    virDomainPtr dom;   /* own reference */
    char uuid[VIRT_UUID_LEN + 1];
    char *dest_uri;
    char *dest_host;
    virTypedParameterPtr params;
    int n_params;
    unsigned int flags;
    bool permit_post_copy;
} libvirt_migration_t;

/* ---- job statistics ---- */

/* stats_from_params: the job statistics libvirt gives as typed parameters. */
static void
stats_from_params(virTypedParameterPtr params, int n, virt_job_stats_t *st)
{
    int throttle = 0;
    static const struct {
        const char *key;
        size_t offset;
    } fields[] = {
        {VIR_DOMAIN_JOB_TIME_ELAPSED, offsetof(virt_job_stats_t, time_elapsed_ms)},
        {VIR_DOMAIN_JOB_DATA_TOTAL, offsetof(virt_job_stats_t, data_total)},
        {VIR_DOMAIN_JOB_DATA_PROCESSED, offsetof(virt_job_stats_t, data_processed)},
        {VIR_DOMAIN_JOB_DATA_REMAINING, offsetof(virt_job_stats_t, data_remaining)},
        {VIR_DOMAIN_JOB_MEMORY_TOTAL, offsetof(virt_job_stats_t, memory_total)},
        {VIR_DOMAIN_JOB_MEMORY_PROCESSED, offsetof(virt_job_stats_t, memory_processed)},
        {VIR_DOMAIN_JOB_MEMORY_REMAINING, offsetof(virt_job_stats_t, memory_remaining)},
        {VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, offsetof(virt_job_stats_t, memory_dirty_rate)},
        {VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE, offsetof(virt_job_stats_t, memory_page_size)},
        {VIR_DOMAIN_JOB_MEMORY_ITERATION, offsetof(virt_job_stats_t, memory_iteration)},
        {VIR_DOMAIN_JOB_MEMORY_BPS, offsetof(virt_job_stats_t, memory_bps)},
        {VIR_DOMAIN_JOB_DISK_TOTAL, offsetof(virt_job_stats_t, disk_total)},
        {VIR_DOMAIN_JOB_DISK_PROCESSED, offsetof(virt_job_stats_t, disk_processed)},
        {VIR_DOMAIN_JOB_DISK_REMAINING, offsetof(virt_job_stats_t, disk_remaining)},
        {VIR_DOMAIN_JOB_DOWNTIME, offsetof(virt_job_stats_t, downtime_ms)},
        {VIR_DOMAIN_JOB_SETUP_TIME, offsetof(virt_job_stats_t, setup_time_ms)},
    };

    for (size_t i = 0; i < TERN_N_ELEMENTS(fields); i++) {
        unsigned long long v;

        if (virTypedParamsGetULLong(params, n, fields[i].key, &v) == 1)
            *(uint64_t *)((char *)st + fields[i].offset) = v;
    }
    if (virTypedParamsGetInt(params, n, VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE, &throttle) == 1)
        st->auto_converge_throttle = throttle;
}

int
virt_libvirt_job_stats(virDomainPtr dom, unsigned int flags, virt_job_stats_t *ret)
{
    virTypedParameterPtr params = NULL;
    int n = 0, type;
    virt_job_stats_t st = {0};

    if (virDomainGetJobStats(dom, &type, &params, &n, flags) < 0)
        return -1; /* the caller reports, naming the instance */
    st.type = type >= VIR_DOMAIN_JOB_NONE && type <= VIR_DOMAIN_JOB_CANCELLED
                  ? (virt_job_type_t)type
                  : VIRT_JOB_NONE;
    stats_from_params(params, n, &st);
    virTypedParamsFree(params, n);
    *ret = st;
    return 0;
}

/* ---- the end of the job, as the source's libvirtd reports it ---- */

/* migration_unref: drop one reference (m->lock not held); the last frees the handle's memory. */
static void
migration_unref(libvirt_migration_t *m)
{
    int left;

    pthread_mutex_lock(&m->lock);
    left = --m->refs;
    pthread_mutex_unlock(&m->lock);
    if (left > 0)
        return;
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* on_job_completed: the JOB_COMPLETED event (event loop thread): the statistics of the whole
 * job, disk copy included, taken by libvirtd as the job ended. With UNDEFINE_SOURCE the source
 * domain is gone afterwards, so this is the one place they can still be had on the source. */
static void
on_job_completed(virConnectPtr conn, virDomainPtr dom, virTypedParameterPtr params, int n,
                 void *opaque)
{
    libvirt_migration_t *m = opaque;
    virt_job_stats_t st = {.type = VIRT_JOB_COMPLETED};

    (void)conn;
    (void)dom;
    stats_from_params(params, n, &st);
    pthread_mutex_lock(&m->lock);
    m->final = st;
    m->have_final = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

static void
on_event_released(void *opaque)
{
    migration_unref(opaque);
}

/* How long after the migration call returned the JOB_COMPLETED event may still be on its way
 * (libvirtd sends it before its reply; our event loop dispatches it a moment later). */
#define FINAL_STATS_WAIT_MS 2000

static int
mig_get_final_stats(virt_migration_t *base, virt_job_stats_t *ret)
{
    libvirt_migration_t *m = (libvirt_migration_t *)base;
    struct timespec deadline;
    bool have;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += FINAL_STATS_WAIT_MS / 1000;
    pthread_mutex_lock(&m->lock);
    while (m->event_id >= 0 && !m->have_final &&
           pthread_cond_timedwait(&m->cond, &m->lock, &deadline) != ETIMEDOUT)
        ;
    have = m->have_final;
    if (have)
        *ret = m->final;
    pthread_mutex_unlock(&m->lock);
    if (!have)
        return tern_error_set(TERN_ERR_NOT_FOUND,
                              "libvirt reported no completed job statistics for the migration of "
                              "instance \"%s\"",
                              m->uuid);
    return 0;
}

static int
mig_get_stats(virt_migration_t *base, virt_job_stats_t *ret)
{
    libvirt_migration_t *m = (libvirt_migration_t *)base;
    bool done, post_copy;

    pthread_mutex_lock(&m->lock);
    done = m->done;
    post_copy = m->post_copy_started;
    pthread_mutex_unlock(&m->lock);
    if (!done && virt_libvirt_job_stats(m->dom, 0, ret) == 0) {
        ret->post_copy = post_copy;
        return 0;
    }
    /* Ended (the source domain may be gone with UNDEFINE_SOURCE): no job any more. */
    pthread_mutex_lock(&m->lock);
    done = m->done;
    pthread_mutex_unlock(&m->lock);
    /* The job may end between the two looks: "domain is not running" or gone means ended. */
    if (done || virt_libvirt_last_code() == VIR_ERR_NO_DOMAIN ||
        virt_libvirt_last_code() == VIR_ERR_OPERATION_INVALID) {
        memset(ret, 0, sizeof(*ret));
        return 0;
    }
    return virt_libvirt_error("could not read the migration statistics of instance \"%s\"",
                              m->uuid);
}

/* ---- controls ---- */

/* running_or_error: 0 while the migration runs, else a CONFLICT error naming the operation. */
static int
running_or_error(libvirt_migration_t *m, const char *what)
{
    bool done;

    pthread_mutex_lock(&m->lock);
    done = m->done;
    pthread_mutex_unlock(&m->lock);
    if (done)
        return tern_error_set(TERN_ERR_CONFLICT,
                              "cannot %s the migration of instance \"%s\": it has ended", what,
                              m->uuid);
    return 0;
}

static int
mig_set_max_downtime(virt_migration_t *base, uint64_t downtime_ms)
{
    libvirt_migration_t *m = (libvirt_migration_t *)base;

    if (running_or_error(m, "tune") < 0)
        return -1;
    if (virDomainMigrateSetMaxDowntime(m->dom, downtime_ms, 0) < 0)
        return virt_libvirt_error("could not set max downtime %llu ms of instance \"%s\"",
                                  (unsigned long long)downtime_ms, m->uuid);
    return 0;
}

static int
mig_set_speed(virt_migration_t *base, uint64_t bandwidth_mibps)
{
    libvirt_migration_t *m = (libvirt_migration_t *)base;

    if (running_or_error(m, "tune") < 0)
        return -1;
    if (virDomainMigrateSetMaxSpeed(m->dom, bandwidth_mibps, 0) < 0 ||
        virDomainMigrateSetMaxSpeed(m->dom, bandwidth_mibps,
                                    VIR_DOMAIN_MIGRATE_MAX_SPEED_POSTCOPY) < 0)
        return virt_libvirt_error("could not set migration speed %llu MiB/s of instance \"%s\"",
                                  (unsigned long long)bandwidth_mibps, m->uuid);
    return 0;
}

static int
mig_abort(virt_migration_t *base)
{
    libvirt_migration_t *m = (libvirt_migration_t *)base;

    if (running_or_error(m, "abort") < 0)
        return -1;
    pthread_mutex_lock(&m->lock);
    m->abort_requested = true;
    pthread_mutex_unlock(&m->lock);
    if (virDomainAbortJob(m->dom) < 0)
        return virt_libvirt_error("could not abort the migration of instance \"%s\"", m->uuid);
    return 0;
}

static int
mig_force_complete(virt_migration_t *base, bool *ret_post_copy)
{
    libvirt_migration_t *m = (libvirt_migration_t *)base;
    bool already;

    if (running_or_error(m, "force-complete") < 0)
        return -1;
    pthread_mutex_lock(&m->lock);
    already = m->post_copy_started || m->paused_by_us;
    pthread_mutex_unlock(&m->lock);
    if (ret_post_copy)
        *ret_post_copy = m->permit_post_copy;
    if (already)
        return 0;
    if (m->permit_post_copy) {
        if (virDomainMigrateStartPostCopy(m->dom, 0) < 0)
            return virt_libvirt_error("could not switch the migration of instance \"%s\" to "
                                      "post-copy",
                                      m->uuid);
        pthread_mutex_lock(&m->lock);
        m->post_copy_started = true;
        pthread_mutex_unlock(&m->lock);
        return 0;
    }
    if (virDomainSuspend(m->dom) < 0)
        return virt_libvirt_error("could not pause instance \"%s\" to complete its migration",
                                  m->uuid);
    pthread_mutex_lock(&m->lock);
    m->paused_by_us = true;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

/* ---- the thread and the end ---- */

static void *
migration_thread(void *opaque)
{
    libvirt_migration_t *m = opaque;
    int rc = virDomainMigrateToURI3(m->dom, m->dest_uri, m->params, m->n_params, m->flags);
    int code = rc < 0 ? virt_libvirt_last_code() : VIR_ERR_OK;

    pthread_mutex_lock(&m->lock);
    if (rc == 0) {
        m->result = VIRT_MIGRATION_SUCCEEDED;
    } else {
        tern_error_set(TERN_ERR_VIRT, "could not migrate instance \"%s\" to host \"%s\": %s",
                       m->uuid, m->dest_host, virGetLastErrorMessage());
        tern_error_copy(&m->error);
        m->result = (m->abort_requested || code == VIR_ERR_OPERATION_ABORTED)
                        ? VIRT_MIGRATION_CANCELLED
                        : VIRT_MIGRATION_FAILED;
        if (m->paused_by_us && virDomainResume(m->dom) == 0)
            m->paused_by_us = false; /* nova's "unpause" recovery task */
    }
    m->done = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

static virt_migration_result_t
mig_wait(virt_migration_t *base, int timeout_ms)
{
    libvirt_migration_t *m = (libvirt_migration_t *)base;
    virt_migration_result_t result;
    struct timespec deadline;

    tern_timespec_after(CLOCK_MONOTONIC, timeout_ms >= 0 ? timeout_ms : 0, &deadline);
    pthread_mutex_lock(&m->lock);
    while (!m->done) {
        if (timeout_ms < 0)
            pthread_cond_wait(&m->cond, &m->lock);
        else if (pthread_cond_timedwait(&m->cond, &m->lock, &deadline) == ETIMEDOUT)
            break;
    }
    result = m->done ? m->result : VIRT_MIGRATION_RUNNING;
    pthread_mutex_unlock(&m->lock);
    return result;
}

static void
mig_restore_error(const virt_migration_t *base)
{
    libvirt_migration_t *m = (libvirt_migration_t *)base;

    pthread_mutex_lock(&m->lock);
    if (m->done && m->result != VIRT_MIGRATION_SUCCEEDED)
        tern_error_restore(&m->error);
    pthread_mutex_unlock(&m->lock);
}

static void
mig_free(virt_migration_t *base)
{
    libvirt_migration_t *m = (libvirt_migration_t *)base;

    pthread_join(m->thread, NULL);
    /* The event's own reference is dropped when libvirt lets the callback go (on_event_released:
     * after the deregistration, or when the connection closes if that failed). */
    if (m->event_id >= 0)
        virConnectDomainEventDeregisterAny(m->conn, m->event_id);
    virTypedParamsFree(m->params, m->n_params);
    virDomainFree(m->dom);
    virConnectClose(m->conn);
    free(m->dest_uri);
    free(m->dest_host);
    migration_unref(m);
}

static const virt_migration_ops_t libvirt_migration_ops = {
    .get_stats = mig_get_stats,
    .set_max_downtime = mig_set_max_downtime,
    .set_speed = mig_set_speed,
    .abort = mig_abort,
    .force_complete = mig_force_complete,
    .wait = mig_wait,
    .restore_error = mig_restore_error,
    .get_final_stats = mig_get_final_stats,
    .free = mig_free,
};

/* ---- start ---- */

/* build_params: flags and typed parameters for params; -1 with an error. */
static int
build_params(virt_driver_t *drv, const virt_instance_t *inst, const virt_migrate_params_t *params,
             libvirt_migration_t *m)
{
    int max = 0;
    const char *disks[VIRT_DISKS_MAX + 1];
    size_t n_disks = 0;

    m->flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST |
               VIR_MIGRATE_UNDEFINE_SOURCE;
    for (size_t i = 0; i < inst->n_disks; i++) {
        const virt_disk_t *d = &inst->disks[i];

        if (!d->shared && !d->readonly && !d->is_volume)
            disks[n_disks++] = d->target;
    }
    disks[n_disks] = NULL;
    if (params->block_migration && n_disks > 0) {
        m->flags |= params->incremental ? VIR_MIGRATE_NON_SHARED_INC : VIR_MIGRATE_NON_SHARED_DISK;
        if (virTypedParamsAddStringList(&m->params, &m->n_params, &max,
                                        VIR_MIGRATE_PARAM_MIGRATE_DISKS, disks) < 0)
            goto error;
    }
    if (params->auto_converge)
        m->flags |= VIR_MIGRATE_AUTO_CONVERGE;
    if (params->post_copy)
        m->flags |= VIR_MIGRATE_POSTCOPY;
    if (params->tls)
        m->flags |= VIR_MIGRATE_TLS;
    if (params->parallel_connections > 0) {
        m->flags |= VIR_MIGRATE_PARALLEL;
        if (virTypedParamsAddInt(&m->params, &m->n_params, &max,
                                 VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS,
                                 params->parallel_connections) < 0)
            goto error;
    }
    if (!tern_str_empty(params->migration_addr)) {
        TERN_AUTOFREE char *uri = tern_asprintf("tcp://%s", params->migration_addr);

        if (virTypedParamsAddString(&m->params, &m->n_params, &max, VIR_MIGRATE_PARAM_URI, uri) < 0)
            goto error;
    }
    if (params->bandwidth_mibps > 0 &&
        virTypedParamsAddULLong(&m->params, &m->n_params, &max, VIR_MIGRATE_PARAM_BANDWIDTH,
                                params->bandwidth_mibps) < 0)
        goto error;
    if (params->dest_instances_path &&
        !tern_streq(params->dest_instances_path, drv->opts.instances_path)) {
        TERN_AUTOFREE char *xml =
            virDomainGetXMLDesc(m->dom, VIR_DOMAIN_XML_MIGRATABLE | VIR_DOMAIN_XML_SECURE);
        TERN_AUTOFREE char *dest_xml = NULL;

        if (!xml)
            goto error;
        dest_xml =
            virt_xml_rewrite_prefix(xml, drv->opts.instances_path, params->dest_instances_path);
        if (virTypedParamsAddString(&m->params, &m->n_params, &max, VIR_MIGRATE_PARAM_DEST_XML,
                                    dest_xml) < 0)
            goto error;
    }
    return 0;

error:
    return virt_libvirt_error("could not migrate instance \"%s\" to host \"%s\"", inst->uuid,
                              m->dest_host);
}

int
virt_libvirt_migrate(virt_driver_t *drv, const virt_instance_t *inst,
                     const virt_migrate_params_t *params, virt_migration_t **ret)
{
    VIRT_AUTO_CONN conn = NULL;
    libvirt_migration_t *m;
    TERN_AUTOFREE char *host = NULL;
    pthread_condattr_t attr;
    int err;

    if (tern_str_empty(params->dest_uri))
        return tern_error_set(TERN_ERR_INVALID,
                              "could not migrate instance \"%s\": no destination URI", inst->uuid);
    host = params->dest_host ? tern_strdup(params->dest_host) : virt_uri_host(params->dest_uri);
    conn = virt_libvirt_conn(drv);
    if (!conn)
        return tern_error_prefix("could not migrate instance \"%s\" to host \"%s\"", inst->uuid,
                                 host);
    m = tern_calloc(1, sizeof(*m));
    m->base.ops = &libvirt_migration_ops;
    memcpy(m->uuid, inst->uuid, sizeof(m->uuid));
    m->dest_uri = tern_strdup(params->dest_uri);
    m->dest_host = tern_steal_pointer(&host);
    m->permit_post_copy = params->post_copy;
    m->dom = virt_libvirt_lookup(drv, inst->uuid, NULL);
    if (!m->dom) {
        tern_error_prefix("could not migrate instance \"%s\" to host \"%s\"", inst->uuid,
                          m->dest_host);
        goto error;
    }
    if (build_params(drv, inst, params, m) < 0)
        goto error;
    virConnectRef(conn);
    m->conn = conn;
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &attr);
    pthread_condattr_destroy(&attr);
    m->refs = 1;
    /* Without the event the migration still runs; it only ends without final statistics. */
    m->event_id = virConnectDomainEventRegisterAny(conn, m->dom, VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
                                                   VIR_DOMAIN_EVENT_CALLBACK(on_job_completed), m,
                                                   on_event_released);
    if (m->event_id >= 0)
        m->refs++;
    else
        virResetLastError();
    err = pthread_create(&m->thread, NULL, migration_thread, m);
    if (err != 0) {
        tern_error_set_errno(err, "could not start the migration thread of instance \"%s\"",
                             inst->uuid);
        if (m->event_id >= 0 && virConnectDomainEventDeregisterAny(conn, m->event_id) == 0) {
            /* on_event_released may run later in the event loop: keep the memory for it */
            virConnectClose(m->conn);
            virTypedParamsFree(m->params, m->n_params);
            virDomainFree(m->dom);
            free(m->dest_uri);
            free(m->dest_host);
            migration_unref(m);
            return -1;
        }
        pthread_cond_destroy(&m->cond);
        pthread_mutex_destroy(&m->lock);
        virConnectClose(m->conn);
        goto error;
    }
    *ret = &m->base;
    return 0;

error:
    virTypedParamsFree(m->params, m->n_params);
    if (m->dom)
        virDomainFree(m->dom);
    free(m->dest_uri);
    free(m->dest_host);
    free(m);
    return -1;
}

int
virt_libvirt_get_completed_migration_stats(virt_driver_t *drv, const char *uuid,
                                           virt_job_stats_t *ret)
{
    virDomainPtr dom = virt_libvirt_lookup(drv, uuid, NULL);
    int rc = 0;

    if (!dom)
        return tern_error_prefix("could not read the completed migration of instance \"%s\"", uuid);
    /* KEEP_COMPLETED: reading them must not discard them (an operator's `virsh domjobinfo
     * --completed` still answers, and so does a second read after a retried call). */
    if (virt_libvirt_job_stats(
            dom, VIR_DOMAIN_JOB_STATS_COMPLETED | VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED, ret) < 0)
        rc = virt_libvirt_error("could not read the completed migration of instance \"%s\" on "
                                "\"%s\"",
                                uuid, drv->opts.uri);
    virDomainFree(dom);
    return rc;
}

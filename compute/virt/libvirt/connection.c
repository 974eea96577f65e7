/*
 * compute/virt/libvirt/connection.c: the libvirt driver's table, its connection (open, close,
 * reconnect after a libvirtd restart), error translation, host facts.
 *
 * Errors: libvirt would print every error to stderr; a silent handler is installed process-wide
 * and on each connection, and every failure is turned into a tern error right where it happens
 * with virt_libvirt_error(), which appends virGetLastErrorMessage() (thread-local in libvirt).
 *
 * Ownership: drv->priv (virt_libvirt_priv_t) and its connection belong to the driver handle and
 * are released by its close hook.
 */
#include "compute/virt/libvirt/libvirt_driver.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/statvfs.h>

#include "common/error.h"
#include "common/util.h"

static void
silent_error_handler(void *opaque, virErrorPtr err)
{
    (void)opaque;
    (void)err; /* kept in libvirt's thread-local last error; reported by virt_libvirt_error() */
}

static pthread_once_t libvirt_once = PTHREAD_ONCE_INIT;

/* event_loop: libvirt's default event loop, for the whole process. It delivers the domain
 * events the driver registers for (a migration's JOB_COMPLETED statistics). */
static void *
event_loop(void *opaque)
{
    (void)opaque;
    for (;;) {
        if (virEventRunDefaultImpl() < 0)
            tern_sleep_ms(100); /* an error of one iteration: keep serving the others */
    }
    return NULL;
}

static void
libvirt_global_init(void)
{
    pthread_t thread;
    sigset_t all, old;

    virInitialize();
    virSetErrorFunc(NULL, silent_error_handler);
    /* Before any connection is opened, so that every connection can deliver events. The thread
     * takes no signal: the daemons take theirs synchronously. */
    if (virEventRegisterDefaultImpl() < 0)
        return; /* no events: migrations then end without their final statistics */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&thread, NULL, event_loop, NULL) == 0)
        pthread_detach(thread);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void
virt_libvirt_silence_errors(virConnectPtr conn)
{
    pthread_once(&libvirt_once, libvirt_global_init);
    if (conn)
        virConnSetErrorFunc(conn, NULL, silent_error_handler);
}

int
virt_libvirt_error(const char *fmt, ...)
{
    char what[TERN_ERROR_MSG_MAX];
    const char *reason = virGetLastErrorMessage();
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return tern_error_set(TERN_ERR_VIRT, "%s: %s", what, reason ? reason : "unknown error");
}

int
virt_libvirt_last_code(void)
{
    virErrorPtr err = virGetLastError();

    return err ? err->code : VIR_ERR_OK;
}

/* ---- connection ---- */

/* connect_ensure_locked: priv->conn alive, reopened when libvirtd went away (priv->lock held). */
static int
connect_ensure_locked(virt_driver_t *drv)
{
    virt_libvirt_priv_t *priv = drv->priv;
    unsigned long version;

    if (priv->conn) {
        /* IsAlive alone misses a restart until the next I/O: probe with a cheap call. */
        if (virConnectIsAlive(priv->conn) == 1 &&
            virConnectGetLibVersion(priv->conn, &version) == 0)
            return 0;
        /* other threads may still hold references to it: they see it fail and come back */
        virConnectClose(priv->conn);
        priv->conn = NULL;
    }
    priv->conn = virConnectOpen(drv->opts.uri);
    if (!priv->conn)
        return virt_libvirt_error("could not connect to hypervisor \"%s\"", drv->opts.uri);
    virt_libvirt_silence_errors(priv->conn);
    return 0;
}

static int
libvirt_connect_ensure(virt_driver_t *drv)
{
    virt_libvirt_priv_t *priv = drv->priv;
    int rc;

    pthread_mutex_lock(&priv->lock);
    rc = connect_ensure_locked(drv);
    pthread_mutex_unlock(&priv->lock);
    return rc;
}

virConnectPtr
virt_libvirt_conn(virt_driver_t *drv)
{
    virt_libvirt_priv_t *priv = drv->priv;
    virConnectPtr conn = NULL;

    pthread_mutex_lock(&priv->lock);
    if (connect_ensure_locked(drv) == 0) {
        conn = priv->conn;
        virConnectRef(conn);
    }
    pthread_mutex_unlock(&priv->lock);
    return conn;
}

void
virt_libvirt_conn_closep(virConnectPtr *conn)
{
    if (*conn)
        virConnectClose(*conn);
}

static void
libvirt_close(virt_driver_t *drv)
{
    virt_libvirt_priv_t *priv = drv->priv;

    if (!priv)
        return;
    if (priv->conn)
        virConnectClose(priv->conn);
    pthread_mutex_destroy(&priv->net_lock);
    pthread_mutex_destroy(&priv->lock);
    free(priv);
    drv->priv = NULL;
}

virDomainPtr
virt_libvirt_lookup(virt_driver_t *drv, const char *uuid, bool *ret_missing)
{
    VIRT_AUTO_CONN conn = virt_libvirt_conn(drv);
    virDomainPtr dom;

    if (ret_missing)
        *ret_missing = false;
    if (!conn)
        return NULL;
    if (!tern_uuid_valid(uuid)) {
        tern_error_set(TERN_ERR_INVALID, "invalid instance uuid \"%s\"", uuid ? uuid : "");
        return NULL;
    }
    dom = virDomainLookupByUUIDString(conn, uuid);
    if (dom)
        return dom;
    if (virt_libvirt_last_code() == VIR_ERR_NO_DOMAIN) {
        if (ret_missing)
            *ret_missing = true;
        tern_error_set(TERN_ERR_NOT_FOUND, "instance \"%s\" has no domain on \"%s\"", uuid,
                       drv->opts.uri);
        return NULL;
    }
    virt_libvirt_error("could not look up the domain of instance \"%s\"", uuid);
    return NULL;
}

char *
virt_libvirt_local_path(const virt_driver_t *drv, const char *path)
{
    const char *base = drv->opts.instances_path;
    size_t n = strlen(base);

    if (strncmp(path, base, n) == 0 && (path[n] == '/' || path[n] == '\0'))
        return tern_asprintf("%s%s", drv->opts.local_instances_path, path + n);
    return tern_strdup(path);
}

int
virt_libvirt_run(const virt_driver_t *drv, const char *const argv[], tern_command_result_t *ret)
{
    return tern_command_run(argv, drv->opts.command_timeout_ms, ret);
}

/* ---- host ---- */

static void
format_version(unsigned long v, char *out, size_t size)
{
    snprintf(out, size, "%lu.%lu.%lu", v / 1000000, (v / 1000) % 1000, v % 1000);
}

static int
libvirt_get_host_info(virt_driver_t *drv, virt_host_info_t *ret_info)
{
    VIRT_AUTO_CONN conn = virt_libvirt_conn(drv);
    virt_host_info_t info = {0};
    TERN_AUTOFREE char *caps = NULL;
    TERN_AUTOFREE char *local = NULL;
    const char *type;
    virNodeInfo node;
    unsigned long long free_mem;
    struct statvfs fs;
    int n;

    if (!conn)
        return -1;
    type = virConnectGetType(conn);
    if (!type)
        return virt_libvirt_error("could not read the hypervisor type of \"%s\"", drv->opts.uri);
    info.hypervisor_type = tern_strdup(type);
    if (virConnectGetVersion(conn, &info.hypervisor_version) < 0 ||
        virConnectGetLibVersion(conn, &info.libvirt_version) < 0) {
        virt_libvirt_error("could not read the versions of \"%s\"", drv->opts.uri);
        goto error;
    }
    format_version(info.hypervisor_version, info.hypervisor_version_str,
                   sizeof(info.hypervisor_version_str));
    format_version(info.libvirt_version, info.libvirt_version_str,
                   sizeof(info.libvirt_version_str));
    info.hostname = virConnectGetHostname(conn);
    if (!info.hostname) {
        virt_libvirt_error("could not read the host name of \"%s\"", drv->opts.uri);
        goto error;
    }
    caps = virConnectGetCapabilities(conn);
    if (!caps) {
        virt_libvirt_error("could not read the capabilities of \"%s\"", drv->opts.uri);
        goto error;
    }
    info.cpu_model_xml = virt_xml_extract(caps, "host", "cpu");
    if (!info.cpu_model_xml) {
        tern_error_set(TERN_ERR_VIRT, "could not find the host CPU in the capabilities of \"%s\"",
                       drv->opts.uri);
        goto error;
    }
    if (virNodeGetInfo(conn, &node) < 0) {
        virt_libvirt_error("could not read the node info of \"%s\"", drv->opts.uri);
        goto error;
    }
    info.vcpus = node.cpus;
    info.memory_total_bytes = (uint64_t)node.memory * 1024;
    virResetLastError();
    free_mem = virNodeGetFreeMemory(conn);
    if (free_mem == 0 && virt_libvirt_last_code() != VIR_ERR_OK) {
        virt_libvirt_error("could not read the free memory of \"%s\"", drv->opts.uri);
        goto error;
    }
    info.memory_free_bytes = free_mem;
    local = virt_libvirt_local_path(drv, drv->opts.instances_path);
    if (statvfs(local, &fs) < 0) {
        tern_error_set_errno(errno, "could not read the file system of instances path \"%s\"",
                             local);
        goto error;
    }
    info.disk_total_bytes = (uint64_t)fs.f_blocks * fs.f_frsize;
    info.disk_free_bytes = (uint64_t)fs.f_bavail * fs.f_frsize;
    n = virConnectNumOfDomains(conn);
    if (n < 0) {
        virt_libvirt_error("could not count the running domains of \"%s\"", drv->opts.uri);
        goto error;
    }
    info.running_domains = n;
    *ret_info = info;
    return 0;

error:
    virt_host_info_clear(&info);
    return -1;
}

static const virt_driver_t libvirt_driver_table = {
    .name = "libvirt",
    .close = libvirt_close,
    .connect_ensure = libvirt_connect_ensure,
    .get_host_info = libvirt_get_host_info,
    .get_guest_cpu = virt_libvirt_get_guest_cpu,
    .compare_hypervisor_cpu = virt_libvirt_compare_hypervisor_cpu,
    .compare_host_cpu = virt_libvirt_compare_host_cpu,
    .spawn = virt_libvirt_spawn,
    .destroy = virt_libvirt_destroy,
    .get_domain_info = virt_libvirt_get_domain_info,
    .get_domain_xml = virt_libvirt_get_domain_xml,
    .list_instances = virt_libvirt_list_instances,
    .resume = virt_libvirt_resume,
    .create_instance_dir = virt_libvirt_create_instance_dir,
    .pre_create_disks = virt_libvirt_pre_create_disks,
    .delete_instance_files = virt_libvirt_delete_instance_files,
    .shared_probe_create = virt_libvirt_shared_probe_create,
    .check_shared_path = virt_libvirt_check_shared_path,
    .shared_probe_remove = virt_libvirt_shared_probe_remove,
    .ensure_bridge = virt_libvirt_ensure_bridge,
    .remove_bridge_if_unused = virt_libvirt_remove_bridge_if_unused,
    .define_instance_filter = virt_libvirt_define_instance_filter,
    .undefine_instance_filter = virt_libvirt_undefine_instance_filter,
    .filter_exists = virt_libvirt_filter_exists,
    .migrate = virt_libvirt_migrate,
    .get_completed_migration_stats = virt_libvirt_get_completed_migration_stats,
};

int
virt_libvirt_init(virt_driver_t *drv)
{
    virt_options_t opts = drv->opts;

    *drv = libvirt_driver_table;
    drv->opts = opts;
    drv->priv = tern_calloc(1, sizeof(virt_libvirt_priv_t));
    pthread_mutex_init(&((virt_libvirt_priv_t *)drv->priv)->lock, NULL);
    pthread_mutex_init(&((virt_libvirt_priv_t *)drv->priv)->net_lock, NULL);
    virt_libvirt_silence_errors(NULL);
    if (libvirt_connect_ensure(drv) < 0) {
        libvirt_close(drv);
        return -1;
    }
    return 0;
}

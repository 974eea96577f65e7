/*
 * tools/guest/workload.c: the test guest's only job, run as PID 1 by the initramfs's /init.
 *
 * It gives tests three observable signals on the serial console, one line per event, each line
 * written with a single write() so lines from its processes never interleave:
 *
 *   HEARTBEAT seq=<n> t=<monotonic ms>           every 100 ms (the heartbeat process)
 *   MEMVERIFY OK pages=<n> dirtied=<n>           the memory process: a working set of
 *   MEMVERIFY FAIL page=<i> reason=<...>         tern.dirty_mb MiB, dirtied at tern.dirty_rate_mbps
 *                                                MiB/s and checked every tern.verify_every s
 *   VERIFY OK n=<records>                        the disk process: a checksummed record written
 *   VERIFY FAIL n=<records> bad=<n> ...          every tern.write_ms ms, everything ever written
 *                                                re-read and checked every tern.verify_every s
 *
 * Memory pages: word 0 holds PAGE_MAGIC ^ page index, word 1 the page's generation, the other
 * words a value derived from both. Pages are dirtied in a cycle, each getting the next generation,
 * so besides each page being self-consistent the generations, read cyclically from the cursor,
 * must strictly increase: a page a live migration failed to resend shows up as a stale one.
 *
 * Disk: sector 0 carries the base image's label (written by build-image into the _base disk, so
 * it is read through the qcow2 backing chain); records start at RECORD_FIRST_SECTOR, one per
 * 512-byte sector: magic, seq, sector, boot, a payload derived from seq, CRC-32 of all of it.
 * I/O is O_DIRECT|O_DSYNC so verification reads the virtual disk, not the guest's page cache. At
 * start the records already on the disk are found and verified, so a rebooted guest checks what
 * its earlier boots wrote.
 *
 * tern.panic_after=S makes PID 1 exit after S seconds: a real kernel panic ("Attempted to kill
 * init"), so tests can check that a guest panic is reported as one.
 *
 * Settings come from the kernel command line (/proc/cmdline), or, to try the program on a
 * development machine, from `workload --cmdline "tern.disk=FILE ..."`.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HEARTBEAT_MS 100
#define SECTOR_SIZE 512
#define RECORD_FIRST_SECTOR 2048ULL        /* 1 MiB: room for the base label */
#define RECORD_MAGIC 0x314345524e524554ULL /* arbitrary, never all zero */
#define PAGE_MAGIC 0x45474150e4e52455ULL
#define PAGE_WORDS (4096 / sizeof(uint64_t))
#define BASE_LABEL "TERNBASE v1 tern guest data disk\n"
#define VERIFY_CHUNK_SECTORS 256 /* 128 KiB per read */
#define DIRTY_TICK_MS 10

typedef struct workload_config {
    unsigned long dirty_mb;        /* working set of the memory process, MiB */
    unsigned long dirty_rate_mbps; /* MiB per second dirtied; 0: written once, then only read */
    unsigned long verify_every;    /* seconds between verifications; 0: only at start */
    unsigned long write_ms;        /* milliseconds between disk records; 0: no writes */
    unsigned long panic_after;     /* seconds until PID 1 exits (a real kernel panic); 0: never */
    char disk[128];                /* block device (or file) holding the records */
} workload_config_t;

typedef struct record {
    uint64_t magic;
    uint64_t seq;    /* 0, 1, 2, ... in sector order */
    uint64_t sector; /* where it was written */
    uint64_t boot;   /* which boot of the guest wrote it (1 = first) */
    uint8_t payload[SECTOR_SIZE - 4 * sizeof(uint64_t) - sizeof(uint32_t)];
    uint32_t crc; /* CRC-32 (IEEE) of everything above */
} __attribute__((packed)) record_t;

_Static_assert(sizeof(record_t) == SECTOR_SIZE, "a record is one sector");

static uint32_t crc_table[256];

/* say: format one console line and write it with a single write(). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (len < 0)
        return;
    if ((size_t)len >= sizeof(buf))
        len = sizeof(buf) - 1;
    while (write(STDOUT_FILENO, buf, len) < 0 && errno == EINTR)
        ;
}

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_until_ms(uint64_t when)
{
    struct timespec ts = {.tv_sec = when / 1000, .tv_nsec = (when % 1000) * 1000000};

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static void
crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320U ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t
crc32_ieee(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t c = 0xffffffffU;

    while (len--)
        c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffU;
}

/* mix64: a bijective 64-bit mixer (splitmix64's finaliser). */
static uint64_t
mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static void
payload_fill(uint8_t *payload, size_t len, uint64_t seq)
{
    uint64_t state = mix64(seq + 0x9e3779b97f4a7c15ULL);

    for (size_t i = 0; i < len; i += sizeof(uint64_t)) {
        size_t n = len - i < sizeof(uint64_t) ? len - i : sizeof(uint64_t);
        state = mix64(state);
        memcpy(payload + i, &state, n);
    }
}

/* ---- configuration ---- */

static void
config_parse(workload_config_t *cfg, const char *cmdline)
{
    char *copy = strdup(cmdline ? cmdline : "");
    char *save = NULL;

    *cfg = (workload_config_t){
        .dirty_mb = 16, .dirty_rate_mbps = 4, .verify_every = 5, .write_ms = 200};
    snprintf(cfg->disk, sizeof(cfg->disk), "/dev/vda");
    for (char *tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
        char *eq = strchr(tok, '=');
        if (strncmp(tok, "tern.", 5) != 0 || !eq)
            continue;
        *eq = '\0';
        const char *key = tok + 5, *val = eq + 1;
        if (strcmp(key, "dirty_mb") == 0)
            cfg->dirty_mb = strtoul(val, NULL, 10);
        else if (strcmp(key, "dirty_rate_mbps") == 0)
            cfg->dirty_rate_mbps = strtoul(val, NULL, 10);
        else if (strcmp(key, "verify_every") == 0)
            cfg->verify_every = strtoul(val, NULL, 10);
        else if (strcmp(key, "write_ms") == 0)
            cfg->write_ms = strtoul(val, NULL, 10);
        else if (strcmp(key, "panic_after") == 0)
            cfg->panic_after = strtoul(val, NULL, 10);
        else if (strcmp(key, "disk") == 0)
            snprintf(cfg->disk, sizeof(cfg->disk), "%s", val);
        else
            say("WORKLOAD WARNING unknown parameter \"tern.%s\"\n", key);
    }
    free(copy);
}

static char *
read_proc_cmdline(void)
{
    static char buf[4096];
    int fd = open("/proc/cmdline", O_RDONLY);
    ssize_t n;

    if (fd < 0)
        return NULL;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    return buf;
}

/* ---- heartbeat ---- */

static void
run_heartbeat(void)
{
    uint64_t next = now_ms();

    for (unsigned long seq = 0;; seq++) {
        uint64_t now = now_ms();
        say("HEARTBEAT seq=%lu t=%llu\n", seq, (unsigned long long)now);
        next += HEARTBEAT_MS;
        if (next < now) /* fell behind (the guest was paused): realign, never burst */
            next = now + HEARTBEAT_MS;
        sleep_until_ms(next);
    }
}

/* ---- memory ---- */

typedef struct mem_state {
    uint64_t *base;
    size_t pages;
    size_t cursor;    /* next page to dirty */
    uint64_t gen;     /* generation of the page dirtied last */
    uint64_t dirtied; /* pages dirtied since start, for the report */
} mem_state_t;

static void
page_write(mem_state_t *m, size_t index)
{
    uint64_t *p = m->base + index * PAGE_WORDS;
    uint64_t gen = ++m->gen;
    uint64_t v = mix64(index ^ mix64(gen));

    for (size_t w = 2; w < PAGE_WORDS; w++)
        p[w] = v + w;
    p[0] = PAGE_MAGIC ^ index;
    p[1] = gen;
    m->dirtied++;
}

static void
mem_dirty_one(mem_state_t *m)
{
    page_write(m, m->cursor);
    m->cursor = (m->cursor + 1) % m->pages;
}

/* mem_verify: every page self-consistent, generations strictly increasing read cyclically from
 * the cursor, the last one equal to the current generation. Returns the number of bad pages. */
static size_t
mem_verify(const mem_state_t *m)
{
    size_t bad = 0;
    uint64_t prev_gen = 0;

    for (size_t k = 0; k < m->pages; k++) {
        size_t index = (m->cursor + k) % m->pages;
        const uint64_t *p = m->base + index * PAGE_WORDS;
        const char *reason = NULL;
        uint64_t v = mix64(index ^ mix64(p[1]));

        if (p[0] != (PAGE_MAGIC ^ index))
            reason = "header";
        for (size_t w = 2; !reason && w < PAGE_WORDS; w++)
            if (p[w] != v + w)
                reason = "torn";
        if (!reason && p[1] <= prev_gen)
            reason = "stale";
        if (!reason && k == m->pages - 1 && p[1] != m->gen)
            reason = "lost";
        if (reason) {
            if (bad++ < 5)
                say("MEMVERIFY FAIL page=%zu reason=%s gen=%llu expected_after=%llu\n", index,
                    reason, (unsigned long long)p[1], (unsigned long long)prev_gen);
        }
        prev_gen = p[1];
    }
    return bad;
}

static void
run_memory(const workload_config_t *cfg)
{
    mem_state_t m = {.pages = cfg->dirty_mb * 256};
    uint64_t start, last_verify, done = 0;
    uint64_t rate = cfg->dirty_rate_mbps * 256; /* pages per second */

    if (m.pages == 0) {
        say("MEMVERIFY OK pages=0 dirtied=0\n");
        for (;;)
            pause();
    }
    m.base = mmap(NULL, m.pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m.base == MAP_FAILED) {
        say("MEMVERIFY FAIL reason=mmap pages=%zu: %s\n", m.pages, strerror(errno));
        exit(1);
    }
    for (size_t i = 0; i < m.pages; i++)
        mem_dirty_one(&m);
    start = last_verify = now_ms();
    say("MEMVERIFY OK pages=%zu dirtied=%llu\n", m.pages, (unsigned long long)m.dirtied);

    for (uint64_t tick = start;; tick += DIRTY_TICK_MS) {
        uint64_t now = now_ms();
        if (rate > 0) {
            uint64_t due = rate * (now - start) / 1000;
            if (due > done + rate) /* more than a second behind: drop the debt */
                done = due - rate;
            for (; done < due; done++)
                mem_dirty_one(&m);
        }
        if (cfg->verify_every > 0 && now - last_verify >= cfg->verify_every * 1000) {
            size_t bad = mem_verify(&m);
            if (bad == 0)
                say("MEMVERIFY OK pages=%zu dirtied=%llu\n", m.pages,
                    (unsigned long long)m.dirtied);
            else
                say("MEMVERIFY FAIL pages=%zu bad=%zu\n", m.pages, bad);
            last_verify = now_ms();
        }
        if (tick + DIRTY_TICK_MS < now)
            tick = now;
        sleep_until_ms(tick + DIRTY_TICK_MS);
    }
}

/* ---- disk ---- */

typedef struct disk_state {
    int fd;
    uint64_t sectors; /* device size in sectors */
    uint64_t records; /* records on the disk: seq 0 .. records-1 */
    uint64_t boot;    /* this boot's number */
    uint8_t *buf;     /* VERIFY_CHUNK_SECTORS sectors, 4 KiB aligned */
} disk_state_t;

static void
record_build(record_t *r, uint64_t seq, uint64_t boot)
{
    memset(r, 0, sizeof(*r));
    r->magic = RECORD_MAGIC;
    r->seq = seq;
    r->sector = RECORD_FIRST_SECTOR + seq;
    r->boot = boot;
    payload_fill(r->payload, sizeof(r->payload), seq);
    r->crc = crc32_ieee(r, offsetof(record_t, crc));
}

/* record_check: NULL when r is record seq as written by any boot, else why not. */
static const char *
record_check(const record_t *r, uint64_t seq)
{
    uint8_t expect[sizeof(r->payload)];

    if (r->magic != RECORD_MAGIC)
        return "magic";
    if (r->crc != crc32_ieee(r, offsetof(record_t, crc)))
        return "crc";
    if (r->seq != seq)
        return "seq";
    if (r->sector != RECORD_FIRST_SECTOR + seq)
        return "sector";
    payload_fill(expect, sizeof(expect), seq);
    if (memcmp(expect, r->payload, sizeof(expect)) != 0)
        return "payload";
    return NULL;
}

static int
is_zero(const void *p, size_t len)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < len; i++)
        if (b[i])
            return 0;
    return 1;
}

static int
disk_read(disk_state_t *d, uint64_t sector, size_t count)
{
    size_t len = count * SECTOR_SIZE, got = 0;

    while (got < len) {
        ssize_t n = pread(d->fd, d->buf + got, len - got, (off_t)(sector * SECTOR_SIZE + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += n;
    }
    return 0;
}

static int
disk_check_label(disk_state_t *d)
{
    if (disk_read(d, 0, 1) < 0) {
        say("VERIFY FAIL reason=read sector=0: %s\n", strerror(errno));
        return -1;
    }
    if (memcmp(d->buf, BASE_LABEL, strlen(BASE_LABEL)) != 0) {
        say("VERIFY FAIL reason=label sector=0 (base image label missing)\n");
        return -1;
    }
    return 0;
}

/* disk_verify: re-read records 0..limit-1 (limit = UINT64_MAX: scan until the first empty
 * sector, setting d->records and d->boot). Prints one VERIFY line. Returns bad record count. */
static uint64_t
disk_verify(disk_state_t *d, uint64_t limit)
{
    uint64_t bad = 0, seq = 0, max_boot = 0;
    int scanning = (limit == UINT64_MAX);
    const char *first_reason = NULL;
    uint64_t first_bad = 0;

    if (disk_check_label(d) < 0)
        bad++;
    while (seq < limit && RECORD_FIRST_SECTOR + seq < d->sectors) {
        uint64_t left = d->sectors - (RECORD_FIRST_SECTOR + seq);
        size_t count = left < VERIFY_CHUNK_SECTORS ? left : VERIFY_CHUNK_SECTORS;
        int done = 0;

        if (!scanning && limit - seq < count)
            count = limit - seq;
        if (disk_read(d, RECORD_FIRST_SECTOR + seq, count) < 0) {
            say("VERIFY FAIL reason=read sector=%llu: %s\n",
                (unsigned long long)(RECORD_FIRST_SECTOR + seq), strerror(errno));
            return bad + 1;
        }
        for (size_t i = 0; i < count; i++, seq++) {
            const record_t *r = (const record_t *)(d->buf + i * SECTOR_SIZE);
            const char *why;
            if (scanning && is_zero(r, SECTOR_SIZE)) {
                done = 1;
                break;
            }
            why = record_check(r, seq);
            if (why) {
                if (!first_reason) {
                    first_reason = why;
                    first_bad = seq;
                }
                bad++;
            } else if (r->boot > max_boot) {
                max_boot = r->boot;
            }
        }
        if (done)
            break;
    }
    if (scanning) {
        d->records = seq;
        d->boot = max_boot + 1;
    }
    if (bad == 0)
        say("VERIFY OK n=%llu\n", (unsigned long long)seq);
    else
        say("VERIFY FAIL n=%llu bad=%llu first_seq=%llu sector=%llu reason=%s\n",
            (unsigned long long)seq, (unsigned long long)bad, (unsigned long long)first_bad,
            (unsigned long long)(RECORD_FIRST_SECTOR + first_bad),
            first_reason ? first_reason : "label");
    return bad;
}

static int
disk_open(disk_state_t *d, const char *path)
{
    struct stat st;

    for (int tries = 0;; tries++) {
        d->fd = open(path, O_RDWR | O_DIRECT | O_DSYNC | O_CLOEXEC);
        if (d->fd >= 0)
            break;
        if (tries >= 50) {
            say("VERIFY FAIL reason=open disk=\"%s\": %s\n", path, strerror(errno));
            return -1;
        }
        usleep(100 * 1000);
    }
    if (fstat(d->fd, &st) == 0 && S_ISREG(st.st_mode)) {
        d->sectors = st.st_size / SECTOR_SIZE;
    } else {
        uint64_t bytes = 0;
        if (ioctl(d->fd, BLKGETSIZE64, &bytes) < 0) {
            say("VERIFY FAIL reason=size disk=\"%s\": %s\n", path, strerror(errno));
            return -1;
        }
        d->sectors = bytes / SECTOR_SIZE;
    }
    if (posix_memalign((void **)&d->buf, 4096, VERIFY_CHUNK_SECTORS * SECTOR_SIZE) != 0) {
        say("VERIFY FAIL reason=memory\n");
        return -1;
    }
    return 0;
}

static void
run_disk(const workload_config_t *cfg)
{
    disk_state_t d = {.fd = -1};
    uint64_t next_write, last_verify;
    int full_reported = 0;

    if (disk_open(&d, cfg->disk) < 0)
        exit(1);
    disk_verify(&d, UINT64_MAX);
    say("DISK READY disk=%s sectors=%llu records=%llu boot=%llu\n", cfg->disk,
        (unsigned long long)d.sectors, (unsigned long long)d.records, (unsigned long long)d.boot);
    next_write = last_verify = now_ms();
    for (;;) {
        uint64_t now;

        if (cfg->write_ms > 0) {
            next_write += cfg->write_ms;
            sleep_until_ms(next_write);
        } else {
            sleep_until_ms(now_ms() + 1000);
        }
        now = now_ms();
        if (next_write + cfg->write_ms < now)
            next_write = now;
        if (cfg->write_ms > 0 && RECORD_FIRST_SECTOR + d.records < d.sectors) {
            record_t *r = (record_t *)d.buf;
            ssize_t n;
            record_build(r, d.records, d.boot);
            do {
                n = pwrite(d.fd, r, SECTOR_SIZE, (off_t)(r->sector * SECTOR_SIZE));
            } while (n < 0 && errno == EINTR);
            if (n == SECTOR_SIZE)
                d.records++;
            else
                say("VERIFY FAIL reason=write seq=%llu: %s\n", (unsigned long long)d.records,
                    n < 0 ? strerror(errno) : "short write");
        } else if (cfg->write_ms > 0 && !full_reported) {
            say("DISK FULL records=%llu\n", (unsigned long long)d.records);
            full_reported = 1;
        }
        if (cfg->verify_every > 0 && now - last_verify >= cfg->verify_every * 1000) {
            disk_verify(&d, d.records);
            last_verify = now_ms();
        }
    }
}

/* ---- supervisor ---- */

typedef struct child {
    const char *name;
    pid_t pid;
} child_t;

static pid_t
start_child(const char *name, void (*fn)(const workload_config_t *), const workload_config_t *cfg)
{
    pid_t pid = fork();

    if (pid < 0) {
        say("WORKLOAD FAIL could not fork \"%s\": %s\n", name, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        fn(cfg);
        _exit(1);
    }
    return pid;
}

static volatile sig_atomic_t panic_due;

static void
on_alarm(int sig)
{
    (void)sig;
    panic_due = 1;
}

static void
heartbeat_main(const workload_config_t *cfg)
{
    (void)cfg;
    run_heartbeat();
}

int
main(int argc, char **argv)
{
    workload_config_t cfg;
    const char *cmdline = NULL;
    child_t children[3] = {{"heartbeat", -1}, {"memory", -1}, {"disk", -1}};

    if (argc == 3 && strcmp(argv[1], "--cmdline") == 0) {
        cmdline = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [--cmdline \"tern.key=value ...\"]\n", argv[0]);
        return 2;
    } else {
        cmdline = read_proc_cmdline();
    }
    crc_init();
    config_parse(&cfg, cmdline);
    say("WORKLOAD START dirty_mb=%lu dirty_rate_mbps=%lu verify_every=%lu write_ms=%lu "
        "panic_after=%lu disk=%s\n",
        cfg.dirty_mb, cfg.dirty_rate_mbps, cfg.verify_every, cfg.write_ms, cfg.panic_after,
        cfg.disk);

    children[0].pid = start_child("heartbeat", heartbeat_main, &cfg);
    children[1].pid = start_child("memory", run_memory, &cfg);
    children[2].pid = start_child("disk", run_disk, &cfg);
    if (cfg.panic_after > 0) {
        /* for tests of the tests: PID 1 exiting makes the kernel panic for real */
        struct sigaction sa = {.sa_handler = on_alarm};
        sigaction(SIGALRM, &sa, NULL);
        alarm(cfg.panic_after);
    }

    /* As PID 1 we reap everything; a child of ours dying is a workload failure, reported once.
     * Outside a guest (argc == 3) we stop when all children are gone. */
    for (;;) {
        int status;
        pid_t pid;

        if (panic_due) {
            say("WORKLOAD PANIC-TEST PID 1 exits now (tern.panic_after=%lu)\n", cfg.panic_after);
            for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
                if (children[i].pid > 0 && getpid() != 1)
                    kill(children[i].pid, SIGKILL);
            return 3;
        }
        pid = wait(&status);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            if (getpid() != 1)
                return 1;
            pause();
            continue;
        }
        for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++) {
            if (children[i].pid != pid)
                continue;
            say("WORKLOAD FAIL process=%s %s=%d\n", children[i].name,
                WIFSIGNALED(status) ? "signal" : "exit",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            children[i].pid = -1;
        }
    }
}

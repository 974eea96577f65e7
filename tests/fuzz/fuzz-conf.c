/*
 * tests/fuzz/fuzz-conf.c: libFuzzer target for conf/conf.c, the parser and validator of tern's
 * configuration files (the INI text, every option's type, limits and choices, $references in
 * paths, the CPU options' agreement).
 *
 * Each input is a configuration file's text, loaded twice: from memory with conf_load_data()
 * and, like a daemon's --config-file, from a file with conf_load_files() (a memfd, read through
 * /proc/self/fd). Besides the sanitizers' checks, the loader's promises are asserted: both loads
 * agree; a load that fails leaves a CONFIG error whose message is non-empty, valid UTF-8 and one
 * line (common/error.h); a load that succeeds has a host, absolute (or empty) paths, and prints
 * with conf_write_effective(). Built and run by tests/fuzz/run-fuzz-targets; owns nothing
 * between inputs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/error.h"
#include "conf/conf.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A loaded configuration's promises. */
static void
check_loaded(const conf_t *cfg)
{
    const char *paths[] = {cfg->state_path, cfg->instances_path, cfg->image_store_path,
                           cfg->log_file,   cfg->policy_file,    cfg->compute.hooks_dir};
    char *text = NULL;
    size_t len = 0;
    FILE *out;

    if (!cfg->host || !cfg->host[0])
        abort();
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (paths[i] && paths[i][0] && paths[i][0] != '/')
            abort();
    }
    if (!(out = open_memstream(&text, &len)))
        abort();
    conf_write_effective(cfg, out);
    fclose(out);
    free(text);
}

/* A refusal's promises: a CONFIG error (or a SYSTEM one from reading the file), said in one line
 * of valid UTF-8. */
static void
check_refused(void)
{
    tern_error_code_t code = tern_error_code();

    if (code != TERN_ERR_CONFIG && code != TERN_ERR_SYSTEM && code != TERN_ERR_INVALID)
        abort();
    fuzz_check_message(tern_error_message());
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char path[64];
    const char *files[1] = {path};
    conf_t *from_data, *from_file;
    int fd;

    memcpy(text, data, size);
    text[size] = '\0'; /* as tern_file_read_all ends what it read */
    tern_error_reset();
    from_data = conf_load_data("fuzz.conf", text);
    if (from_data)
        check_loaded(from_data);
    else
        check_refused();

    if ((fd = memfd_create("fuzz.conf", MFD_CLOEXEC)) < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    tern_error_reset();
    from_file = conf_load_files(files, 1, NULL);
    if (from_file)
        check_loaded(from_file);
    else
        check_refused();
    if ((from_data == NULL) != (from_file == NULL))
        abort(); /* the same text, from memory or from a file */
    close(fd);

    conf_free(from_data);
    conf_free(from_file);
    free(text);
    tern_error_reset();
    return 0;
}

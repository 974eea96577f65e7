/*
 * tools/cli/output.c: tables and JSON, as the openstack client prints them.
 *
 *   +----+--------------------------------------+-----------+
 *   | Id | UUID                                 | Status    |
 *   +----+--------------------------------------+-----------+
 *   | 7  | 5e1a0c52-...                         | completed |
 *   +----+--------------------------------------+-----------+
 *
 * A list is a table of chosen columns; one object is a "Field | Value" table of all its fields
 * in name order; a cell with several lines (a list of volumes) spans several table lines.
 * JSON output is the conductor's object itself, pretty-printed with 4-space indentation.
 * Widths count characters, not bytes (UTF-8). Owns nothing beyond one call.
 */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "tools/cli/cli.h"

char *
cli_value_text(const json_t *value)
{
    size_t i, len = 0;
    json_t *item;
    char *text = NULL;

    if (!value)
        return tern_strdup("");
    switch (json_typeof(value)) {
    case JSON_NULL:
        return tern_strdup("-");
    case JSON_TRUE:
        return tern_strdup("True");
    case JSON_FALSE:
        return tern_strdup("False");
    case JSON_STRING:
        return tern_strndup(json_string_value(value), json_string_length(value));
    case JSON_INTEGER:
        return tern_asprintf("%lld", (long long)json_integer_value(value));
    case JSON_REAL:
        return tern_asprintf("%g", json_real_value(value));
    case JSON_OBJECT:
        text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        return text ? text : tern_strdup("");
    case JSON_ARRAY:
        text = tern_strdup("");
        json_array_foreach(value, i, item)
        {
            TERN_AUTOFREE char *line = json_is_string(item)
                                           ? cli_value_text(item)
                                           : json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
            size_t n = line ? strlen(line) : 0;

            text = tern_realloc(text, len + n + 2);
            if (i)
                text[len++] = '\n';
            memcpy(text + len, line ? line : "", n);
            len += n;
            text[len] = '\0';
        }
        return text;
    }
    return tern_strdup("");
}

/* Characters (UTF-8 code points) of the first n bytes of s. */
static size_t
text_width(const char *s, size_t n)
{
    size_t w = 0;

    for (size_t i = 0; i < n && s[i]; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            w++;
    }
    return w;
}

/* Width of the widest line of s. */
static size_t
cell_width(const char *s)
{
    size_t best = 0;

    while (s) {
        const char *nl = strchr(s, '\n');
        size_t w = text_width(s, nl ? (size_t)(nl - s) : strlen(s));

        if (w > best)
            best = w;
        s = nl ? nl + 1 : NULL;
    }
    return best;
}

static size_t
line_count(const char *s)
{
    size_t n = 1;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Line k of s into out: pointer and length. Empty when s has fewer lines. */
static void
line_of(const char *s, size_t k, const char **ret_line, size_t *ret_len)
{
    for (; k > 0 && s; k--) {
        s = strchr(s, '\n');
        if (s)
            s++;
    }
    if (!s) {
        *ret_line = "";
        *ret_len = 0;
        return;
    }
    *ret_line = s;
    *ret_len = strchr(s, '\n') ? (size_t)(strchr(s, '\n') - s) : strlen(s);
}

static void
print_border(FILE *out, const size_t *widths, size_t n)
{
    for (size_t c = 0; c < n; c++) {
        fputc('+', out);
        for (size_t i = 0; i < widths[c] + 2; i++)
            fputc('-', out);
    }
    fputs("+\n", out);
}

/* One table row of cells (each possibly several lines). */
static void
print_row(FILE *out, char *const *cells, const size_t *widths, size_t n)
{
    size_t lines = 1;

    for (size_t c = 0; c < n; c++) {
        size_t l = line_count(cells[c]);

        if (l > lines)
            lines = l;
    }
    for (size_t k = 0; k < lines; k++) {
        for (size_t c = 0; c < n; c++) {
            const char *line;
            size_t len;

            line_of(cells[c], k, &line, &len);
            fprintf(out, "| %.*s", (int)len, line);
            for (size_t pad = text_width(line, len); pad < widths[c] + 1; pad++)
                fputc(' ', out);
        }
        fputs("|\n", out);
    }
}

/* A table of n_rows x n_cols cells (row-major, cells[0..n_cols) being the headers). */
static void
print_grid(FILE *out, char **cells, size_t n_rows, size_t n_cols)
{
    TERN_AUTOFREE size_t *widths = tern_calloc(n_cols ? n_cols : 1, sizeof(size_t));

    for (size_t r = 0; r < n_rows; r++) {
        for (size_t c = 0; c < n_cols; c++) {
            size_t w = cell_width(cells[r * n_cols + c]);

            if (w > widths[c])
                widths[c] = w;
        }
    }
    print_border(out, widths, n_cols);
    print_row(out, cells, widths, n_cols);
    print_border(out, widths, n_cols);
    for (size_t r = 1; r < n_rows; r++)
        print_row(out, cells + r * n_cols, widths, n_cols);
    if (n_rows > 1)
        print_border(out, widths, n_cols);
}

static void
free_cells(char **cells, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(cells[i]);
    free(cells);
}

void
cli_print_table(FILE *out, const cli_column_t *columns, size_t n_columns, const json_t *rows)
{
    size_t n_rows = json_array_size(rows) + 1, i;
    char **cells = tern_calloc(n_rows * n_columns + 1, sizeof(char *));
    json_t *row;

    for (size_t c = 0; c < n_columns; c++)
        cells[c] = tern_strdup(columns[c].header);
    json_array_foreach(rows, i, row)
    {
        for (size_t c = 0; c < n_columns; c++) {
            char **cell = &cells[(i + 1) * n_columns + c];

            if (columns[c].cell)
                *cell = columns[c].cell(row, columns[c].key);
            else
                *cell = cli_value_text(json_object_get(row, columns[c].key));
        }
    }
    print_grid(out, cells, n_rows, n_columns);
    free_cells(cells, n_rows * n_columns);
}

static int
compare_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
cli_print_object(FILE *out, const json_t *object)
{
    size_t n = json_object_size(object), k = 0;
    TERN_AUTOFREE const char **keys = tern_calloc(n + 1, sizeof(char *));
    char **cells = tern_calloc(2 * (n + 1), sizeof(char *));
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)object, key, value)
    {
        keys[k++] = key;
    }
    qsort(keys, n, sizeof(char *), compare_keys);
    cells[0] = tern_strdup("Field");
    cells[1] = tern_strdup("Value");
    for (size_t i = 0; i < n; i++) {
        cells[2 * (i + 1)] = tern_strdup(keys[i]);
        cells[2 * (i + 1) + 1] = cli_value_text(json_object_get(object, keys[i]));
    }
    print_grid(out, cells, n + 1, 2);
    free_cells(cells, 2 * (n + 1));
}

void
cli_print_json(FILE *out, const json_t *value)
{
    json_dumpf(value, out, JSON_INDENT(4) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    fputc('\n', out);
}

int
cli_result_member(const json_t *result, const char *key, json_type type, json_t **ret_value)
{
    json_t *value = json_object_get(result, key);

    if (!value || json_typeof(value) != type)
        return tern_error_set(TERN_ERR_RPC,
                              "unexpected answer from the conductor: no \"%s\" %s in it", key,
                              type == JSON_ARRAY ? "list" : "object");
    *ret_value = value;
    return 0;
}

int
cli_render_member_object(const cli_request_t *req, const json_t *result, const char *key, FILE *out)
{
    json_t *obj = NULL;

    if (cli_result_member(result, key, JSON_OBJECT, &obj) < 0)
        return -1;
    if (req->format == CLI_FORMAT_JSON)
        cli_print_json(out, obj);
    else
        cli_print_object(out, obj);
    return 0;
}

int
cli_render_member_list(const cli_request_t *req, const json_t *result, const char *key,
                       const cli_column_t *columns, size_t n_columns, FILE *out)
{
    json_t *arr = NULL, *row;
    size_t i;

    if (cli_result_member(result, key, JSON_ARRAY, &arr) < 0)
        return -1;
    json_array_foreach(arr, i, row)
    {
        if (!json_is_object(row))
            return tern_error_set(TERN_ERR_RPC,
                                  "unexpected answer from the conductor: \"%s\" holds a "
                                  "non-object",
                                  key);
    }
    if (req->format == CLI_FORMAT_JSON)
        cli_print_json(out, arr);
    else
        cli_print_table(out, columns, n_columns, arr);
    return 0;
}

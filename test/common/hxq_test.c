/* hxq_test.c - helpers shared by the Check test programs. */
#include "hxq_test.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

int hxq_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

char *hxq_test_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *path = malloc(4096);
    ck_assert_ptr_nonnull(path);
    snprintf(path, 4096, "%s/hxq-test-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp %s failed", path);
    return path;
}

void hxq_test_rmtree(const char *path)
{
    if (path && strstr(path, "hxq-test-"))
        hxq_test_sh("rm -rf '%s'", path);
}

uint8_t *hxq_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0)
        n = 0;
    uint8_t *buf = malloc((size_t)n + 1); /* NUL-terminated for text parsers */
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = 0;
    fclose(f);
    if (buf && len)
        *len = (size_t)n;
    return buf;
}

int hxq_test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

int hxq_test_sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

const char *hxq_test_bin(void)
{
    const char *b = getenv("HXQ_BIN");
    return b && *b ? b : "build/hxq";
}

int32_t *hxq_test_ids_of(const hxq_tensor *t)
{
    ck_assert_int_eq(t->dtype, HXQ_DT_I64);
    int32_t *ids = malloc((size_t)t->nelem * sizeof(int32_t));
    ck_assert_ptr_nonnull(ids);
    for (int64_t i = 0; i < t->nelem; i++) {
        int64_t v;
        memcpy(&v, (const char *)t->data + 8 * i, 8);
        ids[i] = (int32_t)v;
    }
    return ids;
}

int32_t hxq_test_argmax(const float *x, int64_t n)
{
    int64_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return (int32_t)b;
}

double hxq_test_json_num(const char *text, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\": ", key);
    const char *p = strstr(text, pat);
    ck_assert_msg(p != NULL, "no %s in %s", key, text);
    return strtod(p + strlen(pat), NULL);
}

/* test_error.c - hxq_err / hxq_err_prefix / hxq_status_name and the
 * overflow-checked size helpers. */
#include "hxq_common.h"
#include "hxq_test.h"

#include <string.h>

START_TEST(err_formats_and_returns_code)
{
    hxq_error e;
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(hxq_err(&e, HXQ_ERR_FORMAT, "%s: tensor '%s': bad %d", "f.safetensors", "x", 3),
                     HXQ_ERR_FORMAT);
    ck_assert_int_eq(e.code, HXQ_ERR_FORMAT);
    ck_assert_str_eq(e.msg, "f.safetensors: tensor 'x': bad 3");
    ck_assert_int_eq(hxq_err(NULL, HXQ_ERR_IO, "ignored %d", 1), HXQ_ERR_IO);
}
END_TEST

START_TEST(err_truncates_long_messages)
{
    hxq_error e;
    memset(&e, 'z', sizeof(e));
    char big[3000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    hxq_err(&e, HXQ_ERR_IO, "%s", big);
    ck_assert_uint_eq(strlen(e.msg), HXQ_ERROR_MSG_MAX - 1);
}
END_TEST

START_TEST(prefix_prepends_and_keeps_code)
{
    hxq_error e;
    memset(&e, 0, sizeof(e));
    hxq_err(&e, HXQ_ERR_FORMAT, "tensor 'x': bad shape");
    ck_assert_int_eq(hxq_err_prefix(&e, HXQ_ERR_IO, "%s", "model.safetensors"), HXQ_ERR_FORMAT);
    ck_assert_str_eq(e.msg, "model.safetensors: tensor 'x': bad shape");
    ck_assert_int_eq(e.code, HXQ_ERR_FORMAT);                 /* the first code wins */
    hxq_error z;
    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(hxq_err_prefix(&z, HXQ_ERR_IO, "dir"), HXQ_ERR_IO);
    ck_assert_str_eq(z.msg, "dir: ");
    ck_assert_int_eq(z.code, HXQ_ERR_IO);
    ck_assert_int_eq(hxq_err_prefix(NULL, HXQ_ERR_NOMEM, "x"), HXQ_ERR_NOMEM);
}
END_TEST

START_TEST(prefix_truncates_within_bounds)
{
    char big[2000];
    memset(big, 'p', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    hxq_error e;
    memset(&e, 0, sizeof(e));
    hxq_err(&e, HXQ_ERR_FORMAT, "%s", big);                   /* full old message */
    hxq_err_prefix(&e, HXQ_ERR_FORMAT, "%s", "short");
    ck_assert_uint_eq(strlen(e.msg), HXQ_ERROR_MSG_MAX - 1);
    ck_assert(strncmp(e.msg, "short: ppp", 10) == 0);
    hxq_err_prefix(&e, HXQ_ERR_FORMAT, "%s", big);             /* prefix alone too long */
    ck_assert_uint_le(strlen(e.msg), HXQ_ERROR_MSG_MAX - 1);
    /* garbage in msg (no NUL) is bounded too */
    memset(e.msg, 'q', sizeof(e.msg));
    hxq_err_prefix(&e, HXQ_ERR_FORMAT, "f");
    ck_assert_uint_le(strlen(e.msg), HXQ_ERROR_MSG_MAX - 1);
}
END_TEST

START_TEST(status_names)
{
    const int codes[] = {HXQ_OK, HXQ_ERR_IO, HXQ_ERR_FORMAT, HXQ_ERR_NOMEM, HXQ_ERR_INVALID,
                         HXQ_ERR_UNSUPPORTED, HXQ_ERR_VERIFY, HXQ_ERR_RANGE, HXQ_ERR_DEVICE};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        ck_assert_str_ne(hxq_status_name(codes[i]), "unknown error");
        for (size_t k = 0; k < i; k++)               /* distinct names */
            ck_assert_str_ne(hxq_status_name(codes[i]), hxq_status_name(codes[k]));
    }
    ck_assert_str_eq(hxq_status_name(-99), "unknown error");
    ck_assert_str_eq(hxq_status_name(HXQ_ERR_FORMAT), "format error");
}
END_TEST

START_TEST(checked_sizes)
{
    int64_t r = -1;
    ck_assert_int_eq(hxq_mul_i64(3, 5, &r), 0);
    ck_assert_int_eq(r, 15);
    ck_assert_int_eq(hxq_mul_i64(0, INT64_MAX, &r), 0);
    ck_assert_int_eq(r, 0);
    ck_assert_int_eq(hxq_mul_i64(INT64_MAX, 1, &r), 0);
    ck_assert_int_eq(hxq_mul_i64((int64_t)1 << 31, (int64_t)1 << 31, &r), 0);
    ck_assert_int_eq(r, (int64_t)1 << 62);
    ck_assert_int_eq(hxq_mul_i64((int64_t)1 << 32, (int64_t)1 << 31, &r), -1);   /* 2^63 */
    r = 7;
    ck_assert_int_eq(hxq_mul_i64((int64_t)1 << 32, (int64_t)1 << 32, &r), -1);
    ck_assert_int_eq(r, 7);                                    /* untouched on failure */
    ck_assert_int_eq(hxq_mul_i64(-1, 2, &r), -1);
    ck_assert_int_eq(hxq_mul_i64(2, -1, &r), -1);
    ck_assert_ptr_null(hxq_alloc_array(INT64_MAX / 2, 4));
    ck_assert_ptr_null(hxq_alloc_array(-1, 4));
    ck_assert_ptr_null(hxq_calloc_array(INT64_MAX, 2));
    void *p = hxq_alloc_array(0, 8);                           /* valid, freeable */
    ck_assert_ptr_nonnull(p);
    free(p);
    int *z = hxq_calloc_array(16, sizeof(int));
    ck_assert_ptr_nonnull(z);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(z[i], 0);
    free(z);
    char *d = hxq_strdup("model.safetensors");
    ck_assert_str_eq(d, "model.safetensors");
    free(d);
}
END_TEST

static Suite *error_suite(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("error");
    tcase_add_test(tc, err_formats_and_returns_code);
    tcase_add_test(tc, err_truncates_long_messages);
    tcase_add_test(tc, prefix_prepends_and_keeps_code);
    tcase_add_test(tc, prefix_truncates_within_bounds);
    tcase_add_test(tc, status_names);
    tcase_add_test(tc, checked_sizes);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(error_suite)

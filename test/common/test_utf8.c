/* test_utf8.c - hxq_utf8_valid_prefix on well-formed and malformed input. */
#include "hxq_common.h"
#include "hxq_test.h"

#include <string.h>

static size_t prefix(const char *s)
{
    return hxq_utf8_valid_prefix(s, strlen(s));
}

START_TEST(valid_text)
{
    ck_assert_uint_eq(hxq_utf8_valid_prefix("", 0), 0);
    ck_assert_uint_eq(prefix("plain ascii"), 11);
    ck_assert_uint_eq(prefix("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), 14);
    ck_assert_uint_eq(prefix("\xf4\x8f\xbf\xbf"), 4);                 /* U+10FFFF */
    ck_assert_uint_eq(hxq_utf8_valid_prefix("a\0b", 3), 3);           /* NUL is valid */
}
END_TEST

START_TEST(malformed_text)
{
    ck_assert_uint_eq(prefix("ab\xc0\xaf"), 2);                       /* overlong '/' */
    ck_assert_uint_eq(prefix("ab\xe0\x80\xaf"), 2);                   /* overlong */
    ck_assert_uint_eq(prefix("x\xed\xa0\x80"), 1);                    /* surrogate */
    ck_assert_uint_eq(prefix("x\xf4\x90\x80\x80"), 1);                /* > U+10FFFF */
    ck_assert_uint_eq(prefix("abc\xe2\x82"), 3);                      /* truncated */
    ck_assert_uint_eq(prefix("a\x80"), 1);                            /* lone continuation */
    ck_assert_uint_eq(prefix("\xff"), 0);
    ck_assert_uint_eq(prefix("\xc3\xa9\xc3("), 2);                    /* bad continuation */
}
END_TEST

static Suite *utf8_suite(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("prefix");
    tcase_add_test(tc, valid_text);
    tcase_add_test(tc, malformed_text);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(utf8_suite)

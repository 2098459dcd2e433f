/* test_float16.c - BF16/F16 <-> F32 conversions, checked exhaustively
 * against values computed from the format definitions (ldexp), including
 * every rounding tie, the subnormals, the largest finite values, overflow,
 * infinities and NaN. */
#include "hxq_common.h"
#include "hxq_test.h"

#include <math.h>
#include <string.h>

/* The binary16 value of bit pattern h from the definition (not NaN/inf). */
static double f16_value(uint16_t h)
{
    int exp = (h >> 10) & 0x1f;
    int man = h & 0x3ff;
    double v = exp == 0 ? ldexp(man, -24) : ldexp(man + 1024, exp - 25);
    return (h & 0x8000) ? -v : v;
}

START_TEST(f16_widening_is_exact_for_all_patterns)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float f = hxq_f16_to_f32((uint16_t)h);
        uint32_t u = hxq_f32_bits(f);
        int exp = (h >> 10) & 0x1f, man = h & 0x3ff;
        ck_assert_msg((u >> 31) == (h >> 15), "sign of 0x%04x", h);
        if (exp == 31 && man == 0) {
            ck_assert_msg(isinf(f), "0x%04x should be infinite", h);
        } else if (exp == 31) {
            ck_assert_msg(isnan(f), "0x%04x should be NaN", h);
            ck_assert_uint_eq((u >> 13) & 0x3ff, (uint32_t)man);   /* payload kept */
        } else {
            ck_assert_msg((double)f == f16_value((uint16_t)h), "0x%04x -> %a, want %a", h,
                          (double)f, f16_value((uint16_t)h));
        }
    }
}
END_TEST

START_TEST(f16_round_trip_for_all_patterns)
{
    for (uint32_t h = 0; h < 65536; h++) {
        uint16_t back = hxq_f32_to_f16(hxq_f16_to_f32((uint16_t)h));
        if (((h >> 10) & 0x1f) == 31 && (h & 0x3ff)) {
            /* NaN stays NaN, quiet, with its sign */
            ck_assert_uint_eq(back & 0x7c00, 0x7c00);
            ck_assert_uint_ne(back & 0x0200, 0);
            ck_assert_uint_eq(back & 0x8000, h & 0x8000);
        } else {
            ck_assert_msg(back == h, "0x%04x came back as 0x%04x", h, back);
        }
    }
}
END_TEST

/* Every tie between two adjacent binary16 values (both signs) rounds to the
 * even one; one float ulp either side rounds to the nearer. The tie above
 * the largest finite value (65520) rounds to infinity. */
START_TEST(f16_narrowing_ties_to_even)
{
    for (uint32_t h = 0; h < 0x7c00; h++) {
        double lo = f16_value((uint16_t)h);
        double hi = h + 1 == 0x7c00 ? 65536.0 : f16_value((uint16_t)(h + 1));
        float mid = (float)((lo + hi) / 2);           /* exact: 12 significant bits */
        ck_assert((double)mid == (lo + hi) / 2);
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        for (int s = 0; s < 2; s++) {
            float sg = s ? -1.0f : 1.0f;
            uint16_t sb = s ? 0x8000 : 0;
            ck_assert_msg(hxq_f32_to_f16(sg * mid) == (even | sb), "tie above 0x%04x", h);
            ck_assert_msg(hxq_f32_to_f16(sg * nextafterf(mid, 0.0f)) == (h | sb),
                          "below the tie above 0x%04x", h);
            ck_assert_msg(hxq_f32_to_f16(sg * nextafterf(mid, INFINITY)) == ((h + 1) | sb),
                          "above the tie above 0x%04x", h);
        }
    }
}
END_TEST

START_TEST(f16_narrowing_edges)
{
    ck_assert_uint_eq(hxq_f32_to_f16(65504.0f), 0x7bff);          /* largest finite */
    ck_assert_uint_eq(hxq_f32_to_f16(nextafterf(65520.0f, 0)), 0x7bff);
    ck_assert_uint_eq(hxq_f32_to_f16(65520.0f), 0x7c00);          /* overflow */
    ck_assert_uint_eq(hxq_f32_to_f16(3.4028235e38f), 0x7c00);
    ck_assert_uint_eq(hxq_f32_to_f16(-3.4028235e38f), 0xfc00);
    ck_assert_uint_eq(hxq_f32_to_f16(INFINITY), 0x7c00);
    ck_assert_uint_eq(hxq_f32_to_f16(-INFINITY), 0xfc00);
    ck_assert_uint_eq(hxq_f32_to_f16(0.0f), 0x0000);
    ck_assert_uint_eq(hxq_f32_to_f16(-0.0f), 0x8000);
    ck_assert_uint_eq(hxq_f32_to_f16(ldexpf(1, -24)), 0x0001);    /* smallest subnormal */
    ck_assert_uint_eq(hxq_f32_to_f16(ldexpf(1, -25)), 0x0000);    /* tie to even zero */
    ck_assert_uint_eq(hxq_f32_to_f16(nextafterf(ldexpf(1, -25), 1)), 0x0001);
    ck_assert_uint_eq(hxq_f32_to_f16(-ldexpf(1, -26)), 0x8000);   /* underflow keeps sign */
    ck_assert_uint_eq(hxq_f32_to_f16(ldexpf(1, -14)), 0x0400);    /* smallest normal */
    ck_assert_uint_eq(hxq_f32_to_f16(hxq_bits_f32(0x00000001)), 0x0000); /* f32 subnormal */
    ck_assert_uint_eq(hxq_f32_to_f16(hxq_bits_f32(0x80400000)), 0x8000);
    /* NaN: every payload stays NaN (never infinity), quiet, sign kept */
    const uint32_t nans[] = {0x7f800001, 0x7fc00000, 0x7fffffff, 0xff800001, 0xffc00000,
                             0x7f802000, 0xffffffff};
    for (size_t i = 0; i < sizeof(nans) / sizeof(nans[0]); i++) {
        uint16_t h = hxq_f32_to_f16(hxq_bits_f32(nans[i]));
        ck_assert_msg((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0, "0x%08x -> 0x%04x", nans[i], h);
        ck_assert_uint_eq(h & 0x8000, (nans[i] >> 16) & 0x8000);
    }
}
END_TEST

START_TEST(bf16_round_trip_and_widening)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float f = hxq_bf16_to_f32((uint16_t)h);
        ck_assert_uint_eq(hxq_f32_bits(f), h << 16);
        uint16_t back = hxq_f32_to_bf16(f);
        if ((h & 0x7f80) == 0x7f80 && (h & 0x7f)) {
            ck_assert_uint_eq(back & 0x7f80, 0x7f80);               /* NaN stays NaN */
            ck_assert_uint_ne(back & 0x0040, 0);                    /* quiet */
            ck_assert_uint_eq(back & 0x8000, h & 0x8000);
        } else {
            ck_assert_msg(back == h, "0x%04x came back as 0x%04x", h, back);
        }
    }
}
END_TEST

/* Every tie between adjacent bfloat16 values is the f32 (h << 16) | 0x8000,
 * subnormals included; the tie above 0x7f7f (the largest finite) overflows
 * to infinity. */
START_TEST(bf16_narrowing_ties_to_even)
{
    for (uint32_t h = 0; h < 0x7f80; h++) {
        for (uint32_t s = 0; s < 2; s++) {
            uint32_t sb = s << 15;
            uint32_t mid = ((h | sb) << 16) | 0x8000u;
            uint16_t even = (uint16_t)(((h & 1) ? h + 1 : h) | sb);
            ck_assert_msg(hxq_f32_to_bf16(hxq_bits_f32(mid)) == even, "tie above 0x%04x", h);
            ck_assert_uint_eq(hxq_f32_to_bf16(hxq_bits_f32(mid - 1)), h | sb);
            ck_assert_uint_eq(hxq_f32_to_bf16(hxq_bits_f32(mid + 1)), (h + 1) | sb);
        }
    }
    ck_assert_uint_eq(hxq_f32_to_bf16(3.4028235e38f), 0x7f80);     /* FLT_MAX overflows */
    ck_assert_uint_eq(hxq_f32_to_bf16(hxq_bits_f32(0x7f7f7fff)), 0x7f7f);
    ck_assert_uint_eq(hxq_f32_to_bf16(-INFINITY), 0xff80);
    ck_assert_uint_eq(hxq_f32_to_bf16(-0.0f), 0x8000);
    const uint32_t nans[] = {0x7f800001, 0x7f80ffff, 0xff800001, 0x7fc00000, 0xffffffff};
    for (size_t i = 0; i < sizeof(nans) / sizeof(nans[0]); i++) {
        uint16_t h = hxq_f32_to_bf16(hxq_bits_f32(nans[i]));
        ck_assert_msg((h & 0x7f80) == 0x7f80 && (h & 0x7f) != 0, "0x%08x -> 0x%04x", nans[i], h);
        ck_assert_uint_eq(h & 0x8000, (nans[i] >> 16) & 0x8000);
    }
}
END_TEST

static Suite *float16_suite(void)
{
    Suite *s = suite_create("float16");
    TCase *tc = tcase_create("conversions");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, f16_widening_is_exact_for_all_patterns);
    tcase_add_test(tc, f16_round_trip_for_all_patterns);
    tcase_add_test(tc, f16_narrowing_ties_to_even);
    tcase_add_test(tc, f16_narrowing_edges);
    tcase_add_test(tc, bf16_round_trip_and_widening);
    tcase_add_test(tc, bf16_narrowing_ties_to_even);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(float16_suite)

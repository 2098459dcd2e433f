/* test_stop.c - stop strings over streamed text: cut before the earliest
 * match, a suffix that could start a stop string held back (never
 * released and then found to belong to one), everything else released at
 * once; checked by hand and against the whole-text definition on random
 * texts split at random. */
#include "hxq_test.h"
#include "serve_int.h"

#include <stdio.h>
#include <string.h>

typedef struct run {
    serve_stop st;
    serve_buf out;
    int matched;
} run;

static void start(run *r, char **stops, int n)
{
    memset(r, 0, sizeof(*r));
    serve_stop_init(&r->st, stops, n);
}

/* Feeds a piece; returns what it released. */
static const char *feed(run *r, const char *piece, size_t len)
{
    size_t before = r->out.n;
    ck_assert(!r->matched);
    r->matched = serve_stop_feed(&r->st, piece, len, &r->out);
    serve_buf_put(&r->out, "", 0);
    return r->out.p + before;
}

static void end(run *r)
{
    if (!r->matched)
        serve_stop_finish(&r->st, &r->out);
    serve_buf_put(&r->out, "", 0);
}

static void done(run *r)
{
    serve_stop_free(&r->st);
    serve_buf_free(&r->out);
}

START_TEST(no_stop_strings_pass_through)
{
    run r;
    start(&r, NULL, 0);
    ck_assert_str_eq(feed(&r, "abc", 3), "abc");
    ck_assert_str_eq(feed(&r, "", 0), "");
    end(&r);
    ck_assert_str_eq(r.out.p, "abc");
    done(&r);
}
END_TEST

START_TEST(holds_back_a_possible_beginning)
{
    char *stops[] = {"END"};
    run r;
    start(&r, stops, 1);
    ck_assert_str_eq(feed(&r, "abcE", 4), "abc"); /* "E" could begin "END" */
    ck_assert_str_eq(feed(&r, "N", 1), "");       /* "EN" too */
    ck_assert_str_eq(feed(&r, "X", 1), "ENX");    /* not after all */
    ck_assert_str_eq(feed(&r, "yEN", 3), "y");
    ck_assert_str_eq(feed(&r, "D tail", 6), "");  /* matched across pieces */
    ck_assert(r.matched);
    end(&r);
    ck_assert_str_eq(r.out.p, "abcENXy");
    done(&r);
    /* a held beginning that never completes comes out at the end */
    start(&r, stops, 1);
    ck_assert_str_eq(feed(&r, "xyEN", 4), "xy");
    end(&r);
    ck_assert_str_eq(r.out.p, "xyEN");
    done(&r);
}
END_TEST

START_TEST(earliest_match_and_overlaps)
{
    char *stops[] = {"de", "bc"};
    run r;
    start(&r, stops, 2);
    ck_assert_str_eq(feed(&r, "abcdef", 6), "a"); /* "bc" comes first */
    ck_assert(r.matched);
    done(&r);
    char *self[] = {"aab"};
    start(&r, self, 1);
    ck_assert_str_eq(feed(&r, "a", 1), "");
    ck_assert_str_eq(feed(&r, "a", 1), "");
    ck_assert_str_eq(feed(&r, "a", 1), "a"); /* keeps "aa", the longest candidate */
    ck_assert_str_eq(feed(&r, "b", 1), "");
    ck_assert(r.matched);
    end(&r);
    ck_assert_str_eq(r.out.p, "a");
    done(&r);
    /* the stop string at the very start: nothing at all */
    char *at0[] = {"Hi"};
    start(&r, at0, 1);
    ck_assert_str_eq(feed(&r, "Hi there", 8), "");
    ck_assert(r.matched);
    done(&r);
}
END_TEST

START_TEST(utf8_and_nul_bytes)
{
    char *stops[] = {"\xc3\xafv"}; /* "ïv" */
    run r;
    start(&r, stops, 1);
    ck_assert_str_eq(feed(&r, "na\xc3\xaf", 4), "na"); /* held from the character's start */
    ck_assert_str_eq(feed(&r, "ve", 2), "");
    ck_assert(r.matched);
    done(&r);
    char *b[] = {"b"};
    start(&r, b, 1);
    const char *piece = "a\0cb";
    feed(&r, piece, 4);
    ck_assert(r.matched);
    ck_assert_uint_eq(r.out.n, 3);
    ck_assert(!memcmp(r.out.p, "a\0c", 3));
    done(&r);
}
END_TEST

/* The definition: generation stops at the first piece after which the
 * text holds a stop string, and the text is cut before the earliest
 * occurrence in it (a longer stop string that began earlier but had not
 * completed then never will: the generation has stopped). */
static size_t reference(const char *t, size_t n, const size_t *cuts, int n_cuts, char **stops,
                        int k, int *hit)
{
    *hit = 0;
    for (int c = 0; c < n_cuts; c++) {
        size_t len = cuts[c];
        for (size_t i = 0; i < len; i++)
            for (int s = 0; s < k; s++) {
                size_t m = strlen(stops[s]);
                if (i + m <= len && !memcmp(t + i, stops[s], m)) {
                    *hit = 1;
                    return i;
                }
            }
    }
    return n;
}

/* How much of t[0..n) must stay held: its longest suffix that is a proper
 * prefix of a stop string. */
static size_t must_hold(const char *t, size_t n, char **stops, int k)
{
    size_t keep = 0;
    for (int s = 0; s < k; s++)
        for (size_t m = 1; m < strlen(stops[s]) && m <= n; m++)
            if (!memcmp(t + n - m, stops[s], m) && m > keep)
                keep = m;
    return keep;
}

START_TEST(random_texts_match_the_definition)
{
    uint64_t rng = 88172645463325252ull;
#define NEXT() (rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17, rng)
    for (int trial = 0; trial < 3000; trial++) {
        char text[200], sbuf[4][8];
        char *stops[4];
        size_t n = NEXT() % 120;
        for (size_t i = 0; i < n; i++)
            text[i] = "abc"[NEXT() % 3];
        int k = (int)(NEXT() % 4) + 1;
        for (int s = 0; s < k; s++) {
            size_t m = NEXT() % 6 + 1;
            for (size_t i = 0; i < m; i++)
                sbuf[s][i] = "abc"[NEXT() % 3];
            sbuf[s][m] = '\0';
            stops[s] = sbuf[s];
        }
        size_t cuts[200];
        int n_cuts = 0;
        for (size_t off = 0; off < n;) {
            size_t piece = NEXT() % 5;
            off += piece < n - off ? piece : n - off;
            cuts[n_cuts++] = off;
        }
        int hit;
        size_t want = reference(text, n, cuts, n_cuts, stops, k, &hit);
        run r;
        start(&r, stops, k);
        for (int c = 0, off = 0; c < n_cuts && !r.matched; c++) {
            size_t piece = cuts[c] - (size_t)off;
            feed(&r, text + off, piece);
            /* what is out never contradicts the final answer */
            ck_assert_uint_le(r.out.n, want);
            ck_assert(!memcmp(r.out.p, text, r.out.n));
            off = (int)cuts[c];
            /* and everything that cannot begin a stop string is out */
            if (!r.matched)
                ck_assert_uint_eq(r.out.n, (size_t)off - must_hold(text, (size_t)off, stops, k));
        }
        ck_assert_int_eq(r.matched, hit);
        end(&r);
        ck_assert_uint_eq(r.out.n, want);
        ck_assert(!memcmp(r.out.p ? r.out.p : "", text, want));
        done(&r);
    }
#undef NEXT
}
END_TEST

static Suite *stop_suite(void)
{
    Suite *s = suite_create("stop");
    TCase *tc = tcase_create("stop");
    tcase_add_test(tc, no_stop_strings_pass_through);
    tcase_add_test(tc, holds_back_a_possible_beginning);
    tcase_add_test(tc, earliest_match_and_overlaps);
    tcase_add_test(tc, utf8_and_nul_bytes);
    tcase_add_test(tc, random_texts_match_the_definition);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(stop_suite)

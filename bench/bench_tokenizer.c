/* bench_tokenizer.c - tokenizer load time and single-core encode throughput.
 *
 * usage: bench_tokenizer TOKENIZER_JSON TEXT_FILE [REPS [LOAD_MS ENCODE_MBS]]
 *
 * LOAD_MS and ENCODE_MBS are the targets the report compares with
 * (default 100 ms and 10 MB/s).
 *
 * Baselines measured in the same run on the same data:
 *   load:   reading + cJSON-parsing tokenizer.json (the floor of any loader
 *           built on the same JSON parser),
 *   encode: the GPT-2 pre-tokenizer regex alone (PCRE2 JIT) over the text,
 *           the same for every tokenizer (Llama-3's and Qwen's regexes are
 *           longer; Llama-2 has none), a fixed yardstick.
 * Prints the best of REPS runs (default 5) and the ratios, in wall time and
 * in this thread's CPU time (which a busy shared machine inflates less). */
#include "hxq_common.h"
#include "hxq_io.h"
#include "hxq_tokenizer.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define WS "\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}" \
           "\\x{202F}\\x{205F}\\x{3000}"
static const char pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+"
    "|[" WS "]+(?![^" WS "])|[" WS "]+";

static long long regex_split(const char *text, size_t len)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP, &ec, &eo, NULL);
    if (!re)
        return -1;
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    long long words = 0;
    size_t pos = 0;
    while (pos < len &&
           pcre2_match(re, (PCRE2_SPTR)text, len, pos, PCRE2_NO_UTF_CHECK, md, NULL) > 0) {
        pos = pcre2_get_ovector_pointer(md)[1];
        words++;
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return words;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct { double t[5]; } stamps;

static stamps stamp(stamps s, int i, double (*clock)(void))
{
    s.t[i] = clock();
    return s;
}

static void report(const char *what, const double best[4], double mb, double load_ms,
                   double enc_mbs)
{
    printf("%s: load %7.1f ms (JSON parse only %6.1f ms, ratio %.2fx; target < %.0f ms: %s)\n"
           "%*s  encode %6.1f MB/s (regex split only %6.1f MB/s, ratio %.2fx; target > %.0f MB/s: "
           "%s)\n", what, best[1] * 1e3, best[0] * 1e3, best[1] / best[0], load_ms,
           best[1] * 1e3 < load_ms ? "met" : "missed", (int)strlen(what), "", mb / best[2],
           mb / best[3], best[2] / best[3], enc_mbs, mb / best[2] > enc_mbs ? "met" : "missed");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s TOKENIZER_JSON TEXT_FILE [REPS [LOAD_MS ENCODE_MBS]]\n",
                argv[0]);
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    if (reps < 1)
        reps = 1;
    double load_ms = argc > 5 ? atof(argv[4]) : 100, enc_mbs = argc > 5 ? atof(argv[5]) : 10;
    hxq_error err = {0};
    char *text;
    size_t len;
    if (hxq_read_file(argv[2], (size_t)1 << 31, &text, &len, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 3;
    }
    double wall[4] = {1e30, 1e30, 1e30, 1e30}, cpu[4] = {1e30, 1e30, 1e30, 1e30};
    int64_t ntok = 0;
    long long words = 0;
    for (int r = 0; r < reps; r++) {
        stamps w = {{0}}, c = {{0}};
        w = stamp(w, 0, hxq_now);
        c = stamp(c, 0, cpu_now);
        char *json;
        size_t jlen;
        if (hxq_read_file(argv[1], (size_t)1 << 30, &json, &jlen, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 3;
        }
        cJSON_Delete(cJSON_ParseWithLength(json, jlen));
        free(json);
        w = stamp(w, 1, hxq_now);
        c = stamp(c, 1, cpu_now);
        hxq_tokenizer *tok;
        if (hxq_tokenizer_load(argv[1], &tok, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 3;
        }
        w = stamp(w, 2, hxq_now);
        c = stamp(c, 2, cpu_now);
        int32_t *ids;
        if (hxq_tokenizer_encode(tok, text, len, &ids, &ntok, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 3;
        }
        w = stamp(w, 3, hxq_now);
        c = stamp(c, 3, cpu_now);
        words = regex_split(text, len);
        w = stamp(w, 4, hxq_now);
        c = stamp(c, 4, cpu_now);
        free(ids);
        hxq_tokenizer_free(tok);
        for (int k = 0; k < 4; k++) {
            double dw = w.t[k + 1] - w.t[k], dc = c.t[k + 1] - c.t[k];
            wall[k] = dw < wall[k] ? dw : wall[k];
            cpu[k] = dc < cpu[k] ? dc : cpu[k];
        }
    }
    double mb = (double)len / 1e6;
    printf("tokenizer %s, text %s (%zu bytes, %lld tokens, %lld regex words), best of %d\n",
           argv[1], argv[2], len, (long long)ntok, words, reps);
    report("wall time", wall, mb, load_ms, enc_mbs);
    report("cpu time ", cpu, mb, load_ms, enc_mbs);
    free(text);
    return 0;
}

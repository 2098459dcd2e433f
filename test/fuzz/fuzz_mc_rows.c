/* fuzz_mc_rows.c - libFuzzer target: hxq_mc_parse() over the input as
 * multiple-choice JSONL (the first byte picks the task: hellaswag, arc or
 * mc). A refused input must say why; an accepted one must hold documents
 * of 1..64 choices with a gold among them, valid UTF-8 strings (after
 * HellaSwag's preprocess) and increasing line numbers.
 * Also built into test/fuzz/test_fuzz_replay.c. */
#include "hxq_infer.h"

#include "fuzz_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int utf8_ok(const char *s)
{
    size_t n = strlen(s);
    return hxq_utf8_valid_prefix(s, n) == n;
}

int hxq_fuzz_mc_rows(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    hxq_mc_task task = (hxq_mc_task)(data[0] % 3);
    hxq_mc_set s;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    int rc = hxq_mc_parse(task, (const char *)data + 1, size - 1, "fuzz.jsonl", 0, &s, &err);
    if (rc < 0) {
        if (!err.msg[0])
            __builtin_trap();
        return 0;
    }
    int64_t line = 0;
    for (int64_t i = 0; i < s.n; i++) {
        const hxq_mc_doc *d = &s.docs[i];
        if (d->n_choices < 1 || d->n_choices > HXQ_MC_MAX_CHOICES || d->gold < 0 ||
            d->gold >= d->n_choices || d->line <= line || !utf8_ok(d->context))
            __builtin_trap();
        for (int c = 0; c < d->n_choices; c++)
            if (!utf8_ok(d->choices[c]))
                __builtin_trap();
        line = d->line;
    }
    hxq_mc_set_free(&s);
    return 0;
}

#ifndef HXQ_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return hxq_fuzz_mc_rows(data, size);
}
#endif

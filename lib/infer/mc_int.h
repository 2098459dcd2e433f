/* mc_int.h - private to the multiple-choice files of the infer module
 * (mc_*.c): Python's string operations that lm-evaluation-harness applies
 * to the rows, on UTF-8. */
#ifndef HXQ_MC_INT_H
#define HXQ_MC_INT_H

#include "hxq_infer.h"

#include <stddef.h>

/* Length of s[0..n) without its trailing whitespace: Python's
 * len(s.rstrip()), in bytes. s is valid UTF-8. */
size_t mc_rstrip_len(const char *s, size_t n);

/* Python len(s): code points of a valid UTF-8 string. */
int64_t mc_py_len(const char *s);

/* Python s.capitalize() (3.8+): the first code point title-cased, the
 * rest lower-cased, with Unicode's simple case mappings (utf8proc).
 * malloc'd; NULL when out of memory. */
char *mc_py_capitalize(const char *s);

/* lm-eval's HellaSwag preprocess: strip, " [title]" -> ". ", remove every
 * \[.*?\] (non-greedy, not across a newline), then "  " -> " " once over
 * the string. malloc'd; NULL when out of memory. */
char *mc_hellaswag_preprocess(const char *s);

/* Logits scratch kept across documents (mc_score.c). */
typedef struct mc_scratch {
    float *logits;
    int64_t cap;             /* floats */
} mc_scratch;

/* hxq_mc_score() with a scratch that grows as needed. */
int mc_score(hxq_engine *e, const hxq_mc_request *r, double *ll, mc_scratch *s,
             hxq_error *err);
void mc_scratch_free(mc_scratch *s);

/* Tokens the choices of r feed in one pass, for the largest of the
 * groups of `group` choices scored together (the last continuation token
 * of each is never fed). */
int64_t mc_group_tokens(const hxq_mc_request *r, int group);

/* Choices scored in one pass at most (engine sequences), bounding the KV
 * caches of an engine made for a set. */
#define MC_MAX_SEQ 8

#endif

/* tok_split.c - HF's SplitDelimiterBehavior applied to the segments of
 * find_matches as they arrive (NormalizedString::split), emitting the
 * non-empty pieces:
 *   Removed             the non-matches;
 *   Isolated            every segment;
 *   MergedWithPrevious  a match joins the non-match before it;
 *   MergedWithNext      a match joins the non-match after it;
 *   Contiguous          runs of segments of one kind join.
 * invert swaps matches and non-matches first. */
#include "tok_int.h"

#include <string.h>

void tok_splitter_init(tok_splitter *sp, tok_split_behavior b, int invert, tok_piece_fn emit,
                       void *ctx)
{
    memset(sp, 0, sizeof(*sp));
    sp->behavior = b;
    sp->invert = invert;
    sp->emit = emit;
    sp->ctx = ctx;
}

static int out(tok_splitter *sp, size_t a, size_t b)
{
    return a < b ? sp->emit(sp->ctx, a, b) : 0;
}

/* Emits the held piece, if any. */
static int release(tok_splitter *sp)
{
    if (!sp->have)
        return 0;
    sp->have = 0;
    return out(sp, sp->ps, sp->pe);
}

static int hold(tok_splitter *sp, size_t a, size_t b, int m)
{
    sp->have = 1;
    sp->ps = a;
    sp->pe = b;
    sp->pend_match = m;
    return 0;
}

int tok_splitter_seg(void *p, size_t a, size_t b, int m)
{
    tok_splitter *sp = p;
    m = sp->invert ? !m : !!m;
    int rc = 0;
    switch (sp->behavior) {
    case TOK_SPLIT_REMOVED:
        rc = m ? 0 : out(sp, a, b);
        break;
    case TOK_SPLIT_ISOLATED:
        rc = out(sp, a, b);
        break;
    case TOK_SPLIT_CONTIGUOUS:
        if (sp->have && m == sp->prev_match)
            sp->pe = b;
        else if ((rc = release(sp)) == 0)
            rc = hold(sp, a, b, m);
        break;
    case TOK_SPLIT_MERGED_PREV:
        if (sp->have && m && !sp->prev_match)
            sp->pe = b;
        else if ((rc = release(sp)) == 0)
            rc = hold(sp, a, b, m);
        break;
    case TOK_SPLIT_MERGED_NEXT:
        if (sp->have && sp->pend_match && !m) {
            sp->have = 0;
            rc = out(sp, sp->ps, b);
        } else if ((rc = release(sp)) == 0) {
            rc = m ? hold(sp, a, b, m) : out(sp, a, b);
        }
        break;
    }
    sp->prev_match = m;
    return rc;
}

int tok_splitter_end(tok_splitter *sp)
{
    return release(sp);
}

int tok_split_behavior_parse(const char *s, tok_split_behavior *out)
{
    static const struct { const char *name; tok_split_behavior b; } names[] = {
        {"Removed", TOK_SPLIT_REMOVED}, {"Isolated", TOK_SPLIT_ISOLATED},
        {"MergedWithPrevious", TOK_SPLIT_MERGED_PREV}, {"MergedWithNext", TOK_SPLIT_MERGED_NEXT},
        {"Contiguous", TOK_SPLIT_CONTIGUOUS}};
    for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(s, names[i].name)) {
            *out = names[i].b;
            return 0;
        }
    return -1;
}

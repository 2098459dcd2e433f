/* cmd_tokenize.c - hxq tokenize: text -> token ids (and back with --decode). */
#include "hxq_cmd.h"
#include "hxq_io.h"
#include "hxq_tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: hxq tokenize (MODEL_DIR | --tokenizer FILE) [--json] [--add-special]\n"
    "                    [--decode [--skip-special]] (TEXT | --file F | -)\n\n"
    "Encodes TEXT (or the bytes of file F, or of standard input for '-', taken\n"
    "byte for byte) with the model's tokenizer.json exactly as Hugging Face\n"
    "tokenizers does, by default as encode(text, add_special_tokens=False), and\n"
    "prints one 'id<TAB>token' line per token.\n\n"
    "  --tokenizer FILE  a tokenizer.json instead of a model folder\n"
    "  --add-special     add the post-processor's special tokens (BOS ...), as\n"
    "                    add_special_tokens=True and `hxq run --prompt` do\n"
    "  --json            print {\"ids\": [...], \"tokens\": [...]} instead\n"
    "                    (with --decode: {\"text\": \"...\"})\n"
    "  --decode          the input is token ids (separated by spaces, commas or\n"
    "                    newlines, brackets allowed); print the decoded text\n"
    "                    as is, without an added newline\n"
    "  --skip-special    with --decode: drop special tokens (<|endoftext|> ...)\n";

#define INPUT_MAX ((size_t)1 << 31)

static int read_stream(FILE *f, char **out, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -1;
    for (;;) {
        if (n == cap) {
            char *g = cap < INPUT_MAX ? realloc(buf, cap * 2) : NULL;
            if (!g) {
                free(buf);
                return -1;
            }
            buf = g;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

static void json_string(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* Token strings are printed with control characters escaped. */
static void plain_string(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c == '\\')
            printf(c == '\\' ? "\\\\" : "\\x%02x", c);
        else
            putchar(c);
    }
}

static int print_ids(const hxq_tokenizer *tok, const int32_t *ids, int64_t n, int json)
{
    if (json) {
        fputs("{\"ids\": [", stdout);
        for (int64_t i = 0; i < n; i++)
            printf(i ? ", %d" : "%d", ids[i]);
        fputs("], \"tokens\": [", stdout);
        for (int64_t i = 0; i < n; i++) {
            const char *s = hxq_tokenizer_token_str(tok, ids[i]);
            if (i)
                fputs(", ", stdout);
            json_string(s ? s : "", s ? strlen(s) : 0);
        }
        fputs("]}\n", stdout);
        return HXQ_EXIT_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        printf("%d\t", ids[i]);
        plain_string(hxq_tokenizer_token_str(tok, ids[i]));
        putchar('\n');
    }
    return HXQ_EXIT_OK;
}

/* Parses "1 2, 3" / "[1, 2, 3]" into ids; -1 on a bad entry. */
static int parse_ids(const char *s, size_t len, int32_t **out, int64_t *n)
{
    int64_t cap = 64, k = 0;
    int32_t *v = malloc((size_t)cap * sizeof(*v));
    if (!v)
        return -1;
    size_t i = 0;
    while (i < len) {
        char c = s[i];
        if (c == ' ' || c == ',' || c == '\n' || c == '\t' || c == '\r' || c == '[' || c == ']') {
            i++;
            continue;
        }
        long long x = 0;
        size_t j = i;
        while (j < len && s[j] >= '0' && s[j] <= '9' && x <= INT32_MAX)
            x = x * 10 + (s[j++] - '0');
        if (j == i || x > INT32_MAX) {
            free(v);
            return -1;
        }
        if (k == cap) {
            int32_t *g = realloc(v, (size_t)cap * 2 * sizeof(*v));
            if (!g) {
                free(v);
                return -1;
            }
            v = g;
            cap *= 2;
        }
        v[k++] = (int32_t)x;
        i = j;
    }
    *out = v;
    *n = k;
    return 0;
}

static int run_decode(const hxq_tokenizer *tok, const char *in, size_t len, int json, int skip)
{
    int32_t *ids;
    int64_t n;
    if (parse_ids(in, len, &ids, &n) < 0)
        return cmd_usage_error("tokenize", "--decode expects non-negative integer token ids");
    hxq_error err = {0};
    char *text;
    size_t tl;
    int rc = hxq_tokenizer_decode(tok, ids, n, skip ? HXQ_DECODE_SKIP_SPECIAL : 0, &text, &tl,
                                  &err);
    free(ids);
    if (rc < 0)
        return cmd_fail("tokenize", rc, &err);
    if (json) {
        fputs("{\"text\": ", stdout);
        json_string(text, tl);
        fputs("}\n", stdout);
    } else {
        fwrite(text, 1, tl, stdout);
    }
    free(text);
    return HXQ_EXIT_OK;
}

int cmd_tokenize(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return HXQ_EXIT_OK;
    }
    const char *model = NULL, *tokfile = NULL, *file = NULL, *text = NULL;
    int json = 0, decode = 0, skip = 0, special = 0, npos = 0;
    const char *pos[2] = {NULL, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--decode"))
            decode = 1;
        else if (!strcmp(a, "--skip-special"))
            skip = 1;
        else if (!strcmp(a, "--add-special"))
            special = 1;
        else if (!strcmp(a, "--tokenizer") || !strcmp(a, "--file")) {
            if (i + 1 >= argc)
                return cmd_usage_error("tokenize", "%s needs a value", a);
            *(!strcmp(a, "--file") ? &file : &tokfile) = argv[++i];
        } else if (a[0] == '-' && a[1] == '-' && a[2])
            return cmd_usage_error("tokenize", "unknown option '%s'", a);
        else if (npos < 2)
            pos[npos++] = a;
        else
            return cmd_usage_error("tokenize", "too many arguments");
    }
    int p = 0;
    if (!tokfile) {
        if (npos == 0)
            return cmd_usage_error("tokenize", "expected MODEL_DIR or --tokenizer FILE");
        model = pos[p++];
    }
    if (p < npos)
        text = pos[p++];
    if (p < npos)
        return cmd_usage_error("tokenize", "too many arguments");
    if (special && decode)
        return cmd_usage_error("tokenize", "--add-special goes with encoding, not --decode");
    if (!!text + !!file != 1)
        return cmd_usage_error("tokenize", "give exactly one of TEXT, --file F or -");

    char *buf = NULL;
    size_t len = 0;
    hxq_error err = {0};
    int rc;
    if (file) {
        if ((rc = hxq_read_file(file, INPUT_MAX, &buf, &len, &err)) < 0)
            return cmd_fail("tokenize", rc, &err);
    } else if (!strcmp(text, "-")) {
        if (read_stream(stdin, &buf, &len) < 0) {
            fprintf(stderr, "hxq tokenize: cannot read standard input\n");
            return HXQ_EXIT_IO;
        }
    }
    const char *in = buf ? buf : text;
    if (!buf)
        len = strlen(text);

    hxq_tokenizer *tok;
    if ((rc = hxq_tokenizer_load(tokfile ? tokfile : model, &tok, &err)) < 0) {
        free(buf);
        return cmd_fail("tokenize", rc, &err);
    }
    int ex;
    if (decode) {
        ex = run_decode(tok, in, len, json, skip);
    } else {
        int32_t *ids;
        int64_t n;
        rc = special ? hxq_tokenizer_encode_special(tok, in, len, &ids, &n, &err)
                     : hxq_tokenizer_encode(tok, in, len, &ids, &n, &err);
        if (rc < 0) {
            ex = cmd_fail("tokenize", rc, &err);
        } else {
            ex = print_ids(tok, ids, n, json);
            free(ids);
        }
    }
    hxq_tokenizer_free(tok);
    free(buf);
    return ex;
}

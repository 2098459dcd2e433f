/* cmd_compress.c - hxq compress SRC DST: options -> hxq_compress(). */
#include "hxq_cmd.h"
#include "hxq_pipeline.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char usage[] =
    "usage: hxq compress SRC DST [options]\n\n"
    "Compresses the Hugging Face checkpoint folder SRC (BF16/F16/F32 safetensors,\n"
    "single file or shards + index) into the new HXQ folder DST: per compressed\n"
    "Linear <p> a 256-entry F32 codebook, U8 indices and a sidecar of exact\n"
    "outliers; every other tensor exact in its source dtype; config.json with\n"
    "quantization_config; tokenizer/generation files; and the receipts\n"
    "compression_receipt.json, conversion_receipt.json and\n"
    "completeness_gate_receipt.json. DST is written under a temporary name beside\n"
    "it and renamed at the end. Fused 3-D experts (mlp.experts.gate_up_proj,\n"
    "mlp.experts.down_proj) are split into per-expert matrices (hub layout).\n\n"
    "Policy: every 2-D '*.weight' with at least --min-elements elements is\n"
    "compressed unless its module name contains an exact pattern (defaults:\n"
    "embed_tokens embed_positions wte wpe lm_head layernorm layer_norm norm\n"
    "backbone.embedding).\n\n"
    "options:\n"
    "  --exact PATTERN        keep modules whose name contains PATTERN exact\n"
    "                         (repeatable; adds to the defaults)\n"
    "  --include-head         compress the token embedding and lm_head too (the\n"
    "                         defaults keep them exact, as the reference does):\n"
    "                         a smaller folder and fewer bytes read per token\n"
    "  --min-elements N       2-D weights with fewer elements stay exact (256)\n"
    "  --sidecar MODE         sidecar budget per matrix: 'reference' (default: the\n"
    "                         reference's count rule), 'none', a count N, or a\n"
    "                         fraction like 0.001 or 0.1%%\n"
    "  --threads N            worker threads (default: all CPUs); the output is\n"
    "                         byte-identical for any N\n"
    "  --window N             matrices in flight, bounds memory (default 4 x threads)\n"
    "  --max-shard-size SIZE  bytes per safetensors file, e.g. 5GB, 500MB, 2GiB\n"
    "                         (default 5GB); more files get an index.json\n"
    "  --snr-floor DB         quality gate: every compressed matrix must reach this\n"
    "                         SNR in dB (default 25); below it the folder is still\n"
    "                         written, its verdict is FAIL and the exit status 1\n"
    "  --force                replace an existing DST\n"
    "  --dry-run              print the plan (what is compressed, kept, sizes) and\n"
    "                         write nothing\n"
    "  --quiet                no progress line and no summary\n"
    "  --json                 print the summary (or the dry-run totals) as JSON\n"
    "  -h, --help             this text\n\n"
    "A progress line (tensors done/total, GB/s, ETA) is drawn on stderr when it is\n"
    "a terminal. exit status: 0 PASS, 1 verdict FAIL, 2 usage, 3 I/O or format error\n";

static int parse_sidecar(const char *s, hxq_encode_opts *e)
{
    if (!strcmp(s, "reference")) {
        e->sidecar_mode = HXQ_SIDECAR_REFERENCE;
        return 0;
    }
    if (!strcmp(s, "none")) {
        e->sidecar_mode = HXQ_SIDECAR_NONE;
        return 0;
    }
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0))
        return -1;
    if (!strcmp(end, "%") && v <= 100) {
        e->sidecar_mode = HXQ_SIDECAR_FRACTION;
        e->sidecar_fraction = v / 100;
        return 0;
    }
    if (*end)
        return -1;
    if (strchr(s, '.')) {
        if (v > 1)
            return -1;
        e->sidecar_mode = HXQ_SIDECAR_FRACTION;
        e->sidecar_fraction = v;
        return 0;
    }
    e->sidecar_mode = HXQ_SIDECAR_COUNT;
    e->sidecar_count = (int64_t)v;
    return 0;
}

/* Set by SIGINT/SIGTERM: the library stops and removes its staging folder. */
static volatile int interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

struct progress_state {
    double last;
};

static void draw_progress(void *ctx, const hxq_progress *p)
{
    struct progress_state *ps = ctx;
    double now = p->elapsed_s;
    int final = p->done == p->total;
    if (!final && now - ps->last < 0.1)
        return;
    ps->last = now;
    if (!strcmp(p->phase, "plan")) {
        fprintf(stderr, "\r\033[Kplanning: %lld/%lld", (long long)p->done, (long long)p->total);
    } else {
        double gbs = now > 0 ? (double)p->bytes_done / now / 1e9 : 0;
        double eta = p->bytes_done > 0 ? now * (double)(p->bytes_total - p->bytes_done) /
                                             (double)p->bytes_done
                                       : 0;
        fprintf(stderr, "\r\033[Kcompress: %lld/%lld tensors  %.2f %s  ETA %.0fs",
                (long long)p->done, (long long)p->total, gbs >= 1 ? gbs : gbs * 1000,
                gbs >= 1 ? "GB/s" : "MB/s", eta);
    }
    if (final)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

static void human(double bytes, char *buf, size_t cap)
{
    if (bytes >= 1e9)
        snprintf(buf, cap, "%.2f GB", bytes / 1e9);
    else
        snprintf(buf, cap, "%.1f MB", bytes / 1e6);
}

static int dry_run(const char *src, const hxq_compress_opts *o, int json)
{
    hxq_error err = {0};
    hxq_plan *p;
    int rc = hxq_plan_create(src, o, &p, &err);
    if (rc < 0)
        return cmd_fail("compress", rc, &err);
    hxq_plan_totals t;
    hxq_plan_totals_get(p, &t);
    if (!json) {
        for (int64_t i = 0; i < hxq_plan_count(p); i++) {
            const hxq_plan_item *it = hxq_plan_item_at(p, i);
            if (it->compressed)
                printf("compress  %-60s [%lld, %lld] %s sidecar %lld -> %llu bytes (shard %d)\n",
                       it->name, (long long)it->rows, (long long)it->cols,
                       hxq_dtype_name(it->src->dtype), (long long)it->sidecar,
                       (unsigned long long)it->out_bytes, it->shard + 1);
            else
                printf("exact     %-60s %s %llu bytes (shard %d)\n", it->name,
                       hxq_dtype_name(it->src->dtype), (unsigned long long)it->out_bytes,
                       it->shard + 1);
        }
        char a[32], b[32];
        human((double)t.bytes_in, a, sizeof(a));
        human((double)t.bytes_out, b, sizeof(b));
        printf("plan: %lld source tensors -> %lld compressed modules + %lld exact tensors "
               "(%lld keys), %s -> %s of tensor data (%.2fx) in %d file(s)\n",
               (long long)t.source_tensors, (long long)t.compressed, (long long)t.exact,
               (long long)t.keys, a, b, t.bytes_out ? (double)t.bytes_in / (double)t.bytes_out : 0,
               t.shards);
    } else {
        printf("{\"dry_run\": true, \"source_tensors\": %lld, \"compressed\": %lld, "
               "\"exact\": %lld, \"total_keys\": %lld, \"bytes_in\": %llu, "
               "\"bytes_out_data\": %llu, \"shards\": %d}\n",
               (long long)t.source_tensors, (long long)t.compressed, (long long)t.exact,
               (long long)t.keys, (unsigned long long)t.bytes_in,
               (unsigned long long)t.bytes_out, t.shards);
    }
    hxq_plan_free(p);
    return HXQ_EXIT_OK;
}

static void print_summary(const char *dst, const hxq_compress_summary *s, int json)
{
    if (json) {
        printf("{\"output\": \"%s\", \"verdict\": \"%s\", \"source_tensors\": %lld, "
               "\"compressed\": %lld, \"exact\": %lld, \"total_keys\": %lld, "
               "\"bytes_in\": %llu, \"bytes_out\": %llu, \"ratio\": %.4f, \"seconds\": %.3f, "
               "\"min_snr_db\": %.3f, \"below_floor\": %lld}\n",
               dst, s->pass ? "PASS" : "FAIL", (long long)s->totals.source_tensors,
               (long long)s->totals.compressed, (long long)s->totals.exact,
               (long long)s->totals.keys, (unsigned long long)s->totals.bytes_in,
               (unsigned long long)s->totals.bytes_out, s->ratio, s->seconds,
               isfinite(s->min_snr_db) ? s->min_snr_db : 999.0, (long long)s->below_floor);
        return;
    }
    char a[32], b[32];
    human((double)s->totals.bytes_in, a, sizeof(a));
    human((double)s->totals.bytes_out, b, sizeof(b));
    printf("%s: %lld compressed + %lld exact tensors, %s -> %s (%.2fx) in %.2f s, "
           "min SNR %.2f dB, verdict %s\n",
           dst, (long long)s->totals.compressed, (long long)s->totals.exact, a, b, s->ratio,
           s->seconds, s->min_snr_db, s->pass ? "PASS" : "FAIL");
}

int cmd_compress(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        printf(usage);
        return HXQ_EXIT_OK;
    }
    hxq_compress_opts o;
    hxq_compress_opts_init(&o);
    const char *pos[2];
    int npos = 0, quiet = 0, json = 0, dry = 0;
    const char **extra = calloc((size_t)argc + 1, sizeof(char *));
    if (!extra)
        return cmd_usage_error("compress", "out of memory");
    int rc = HXQ_EXIT_OK;
    for (int i = 1; i < argc && rc == HXQ_EXIT_OK; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = !strcmp(a, "--exact") || !strcmp(a, "--min-elements") ||
                    !strcmp(a, "--sidecar") || !strcmp(a, "--threads") || !strcmp(a, "--window") ||
                    !strcmp(a, "--max-shard-size") || !strcmp(a, "--snr-floor");
        if (takes && !v) {
            rc = cmd_usage_error("compress", "%s needs a value", a);
            break;
        }
        if (!strcmp(a, "--exact")) {
            extra[o.n_extra_exact++] = v;
        } else if (!strcmp(a, "--min-elements")) {
            long long n = cmd_parse_count(v);
            if (n < 0)
                rc = cmd_usage_error("compress", "bad --min-elements '%s'", v);
            o.min_elements = n;
        } else if (!strcmp(a, "--sidecar")) {
            if (parse_sidecar(v, &o.encode) < 0)
                rc = cmd_usage_error("compress", "bad --sidecar '%s'", v);
        } else if (!strcmp(a, "--threads") || !strcmp(a, "--window")) {
            long long n = cmd_parse_count(v);
            if (n < 1 || n > 4096)
                rc = cmd_usage_error("compress", "bad %s '%s'", a, v);
            *(!strcmp(a, "--threads") ? &o.threads : &o.window) = (int)n;
        } else if (!strcmp(a, "--max-shard-size")) {
            if (!(o.max_shard_size = cmd_parse_size(v)))
                rc = cmd_usage_error("compress", "bad --max-shard-size '%s'", v);
        } else if (!strcmp(a, "--snr-floor")) {
            char *end;
            o.snr_floor_db = strtod(v, &end);
            if (end == v || *end || !isfinite(o.snr_floor_db))
                rc = cmd_usage_error("compress", "bad --snr-floor '%s'", v);
        } else if (!strcmp(a, "--include-head")) {
            o.include_head = 1;
        } else if (!strcmp(a, "--force")) {
            o.force = 1;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--dry-run")) {
            dry = 1;
        } else if (a[0] == '-' && a[1]) {
            rc = cmd_usage_error("compress", "unknown option '%s'", a);
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            rc = cmd_usage_error("compress", "unexpected argument '%s'", a);
        }
        i += takes;
    }
    if (rc == HXQ_EXIT_OK && (npos < 1 || (!dry && npos != 2)))
        rc = cmd_usage_error("compress", dry ? "expected SRC" : "expected SRC and DST");
    if (rc != HXQ_EXIT_OK) {
        free(extra);
        return rc;
    }
    o.extra_exact = extra;
    struct progress_state ps = {-1};
    if (!quiet && isatty(STDERR_FILENO)) {
        o.progress = draw_progress;
        o.progress_ctx = &ps;
    }
    if (dry) {
        rc = dry_run(pos[0], &o, json);
        free(extra);
        return rc;
    }
    hxq_error err = {0};
    hxq_compress_summary s;
    memset(&s, 0, sizeof(s));
    o.cancel = &interrupted;
    catch_signals();
    int st = hxq_compress(pos[0], pos[1], &o, &s, &err);
    free(extra);
    if (st < 0 && st != HXQ_ERR_VERIFY)
        return cmd_fail("compress", st, &err);
    if (!quiet || json)
        print_summary(pos[1], &s, json);
    if (st == HXQ_ERR_VERIFY)
        return cmd_fail("compress", st, &err);
    return HXQ_EXIT_OK;
}

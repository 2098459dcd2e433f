/* cmd_verify.c - hxq verify: check a model folder against its receipts,
 * its own structure and (optionally) its source. */
#include "hxq_cmd.h"
#include "hxq_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: hxq verify DIR [--source SRC] [--recompute] [--eval-data FILE]\n"
    "                  [--eval-reference REF] [--recompute-eval] [--threads N] [--json]\n\n"
    "Checks an HXQ model folder and exits 0 only when every check holds:\n"
    "  - every file recorded in compression_receipt.json (or conversion_receipt.json;\n"
    "    for a folder made by the reference tool, the SHA-256 of model.safetensors)\n"
    "    is present with the recorded size and SHA-256, receipt seals are intact, and\n"
    "    no unrecorded file is present;\n"
    "  - every compressed module has a finite F32[256] codebook, U8 [out, in]\n"
    "    indices, sidecar positions sorted, unique and in range with finite values;\n"
    "    exact tensors are finite; key count and quantization_config agree with the\n"
    "    tensors;\n"
    "  - eval_receipt.json (hxq eval --receipt), when present: its seal, its figures\n"
    "    recomputed from its per-choice log-likelihoods, a PASS gate, and the folder\n"
    "    and compression receipt hashes it records.\n\n"
    "options:\n"
    "  --source SRC   also check against the dense source folder: every source\n"
    "                 tensor accounted for, source hashes as recorded, per-tensor\n"
    "                 error recomputed equal to the receipt's\n"
    "  --recompute    re-run the compression from SRC with the receipt's options into\n"
    "                 a temporary folder and require byte-identical files (needs --source)\n"
    "  --eval-data FILE     the eval's JSONL file: its size and SHA-256 as recorded\n"
    "  --eval-reference REF the reference folder (default: the recorded path): its\n"
    "                 folder hash as recorded\n"
    "  --recompute-eval re-run both models on the data (--eval-data, else the\n"
    "                 recorded path) and require every log-likelihood within 1e-3\n"
    "                 nats and the same figures and gate\n"
    "  --threads N    threads for --recompute and --recompute-eval (default: all CPUs)\n"
    "  --json         print the report as JSON on stdout\n\n"
    "exit status: 0 all checks passed, 1 a check failed (each failure is listed as\n"
    "file, tensor, check, detail), 2 usage, 3 the folder cannot be read\n";

static void print_text(const hxq_verify_report *r, const char *dir)
{
    for (int64_t i = 0; i < r->n_failures; i++) {
        const hxq_verify_failure *f = &r->failures[i];
        printf("FAIL  %s  %s  %s: %s\n", f->file[0] ? f->file : "-",
               f->tensor[0] ? f->tensor : "-", f->check, f->detail);
    }
    if (r->total_failures > r->n_failures)
        printf("... and %lld more failure(s)\n", (long long)(r->total_failures - r->n_failures));
    printf("%s: %s (%lld file(s) hashed against %s, %lld tensor(s) and %lld module(s) checked",
           dir, r->total_failures ? "FAIL" : "PASS", (long long)r->files_hashed,
           r->receipt[0] ? r->receipt : "no receipt", (long long)r->tensors_checked,
           (long long)r->modules_checked);
    if (r->source_tensors)
        printf(", %lld source tensor(s) accounted for, %lld error(s) recomputed",
               (long long)r->source_tensors, (long long)r->errors_compared);
    if (r->files_recomputed)
        printf(", %lld file(s) recomputed", (long long)r->files_recomputed);
    if (r->eval_receipts)
        printf(", %lld eval receipt(s) checked", (long long)r->eval_receipts);
    if (r->eval_recomputed)
        printf(", %lld log-likelihood(s) re-run", (long long)r->eval_recomputed);
    printf(", %lld failure(s))\n", (long long)r->total_failures);
}

int cmd_verify(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return HXQ_EXIT_OK;
    }
    hxq_verify_opts o = {0};
    const char *dir = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--recompute")) {
            o.recompute = 1;
        } else if (!strcmp(a, "--recompute-eval")) {
            o.recompute_eval = 1;
        } else if (!strcmp(a, "--source") || !strcmp(a, "--threads") ||
                   !strcmp(a, "--eval-data") || !strcmp(a, "--eval-reference")) {
            if (i + 1 >= argc)
                return cmd_usage_error("verify", "%s needs a value", a);
            if (!strcmp(a, "--source")) {
                o.source = argv[++i];
            } else if (!strcmp(a, "--eval-data")) {
                o.eval_data = argv[++i];
            } else if (!strcmp(a, "--eval-reference")) {
                o.eval_reference = argv[++i];
            } else {
                long long n = cmd_parse_count(argv[++i]);
                if (n < 1 || n > 1024)
                    return cmd_usage_error("verify", "--threads takes 1..1024");
                o.threads = (int)n;
            }
        } else if (a[0] == '-' && a[1]) {
            return cmd_usage_error("verify", "unknown option '%s'", a);
        } else if (!dir) {
            dir = a;
        } else {
            return cmd_usage_error("verify", "expected one DIR");
        }
    }
    if (!dir)
        return cmd_usage_error("verify", "expected one DIR");
    if (o.recompute && !o.source)
        return cmd_usage_error("verify", "--recompute needs --source SRC");
    hxq_verify_report rep;
    hxq_verify_report_init(&rep);
    hxq_error err = {0};
    int rc = hxq_verify_folder(dir, &o, &rep, &err);
    if (rc < 0 && rc != HXQ_ERR_VERIFY) {
        hxq_verify_report_free(&rep);
        return cmd_fail("verify", rc, &err);
    }
    if (json) {
        char *text;
        int jr = hxq_verify_report_json(&rep, dir, &text, &err);
        if (jr < 0) {
            hxq_verify_report_free(&rep);
            return cmd_fail("verify", jr, &err);
        }
        printf("%s\n", text);
        free(text);
    } else {
        print_text(&rep, dir);
    }
    hxq_verify_report_free(&rep);
    return rc == HXQ_OK ? HXQ_EXIT_OK : HXQ_EXIT_VERIFY;
}

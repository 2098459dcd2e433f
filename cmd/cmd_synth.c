/* cmd_synth.c - hxq synth DST: a synthetic OLMoE checkpoint for benchmarks. */
#include "hxq_cmd.h"
#include "hxq_pipeline.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CONFIG_FROM "models/tiny-olmoe"
#define DEFAULT_TOKENIZER "test/fixtures/olmoe/allenai_gpt-neox-olmo-dolma-v1_5.json"

static const char usage[] =
    "usage: hxq synth DST [options]\n\n"
    "Writes a deterministic synthetic OLMoE checkpoint (BF16, hub layout, sharded like\n"
    "transformers) into the new folder DST, with OLMoE-1B-7B widths by default:\n"
    "heavy-tailed weights (Student-t, 4 degrees of freedom, plus rare outliers 8-56x\n"
    "larger), norms near 1. config.json comes from --config-from with the sizes\n"
    "replaced; tokenizer files from there too, tokenizer.json from --tokenizer.\n\n"
    "options:\n"
    "  --layers N           decoder layers (4; ~0.84 GB each at full width)\n"
    "  --hidden N           hidden size (2048)\n"
    "  --intermediate N     per-expert intermediate size (1024)\n"
    "  --experts N          experts per layer (64)\n"
    "  --top-k N            experts per token (8)\n"
    "  --heads N            attention heads, also kv heads (16)\n"
    "  --vocab N            vocabulary rows (50304)\n"
    "  --seed N             random seed (1)\n"
    "  --fused              store experts fused as transformers 5 does\n"
    "                       (mlp.experts.gate_up_proj [E,2I,H], down_proj [E,H,I])\n"
    "  --max-shard-size N   bytes per safetensors file (5000000000)\n"
    "  --threads N          worker threads (all CPUs)\n"
    "  --config-from DIR    config/tokenizer template (" DEFAULT_CONFIG_FROM ")\n"
    "  --tokenizer FILE     copied as tokenizer.json (" DEFAULT_TOKENIZER ")\n";

int cmd_synth(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return HXQ_EXIT_OK;
    }
    hxq_synth_opts o;
    hxq_synth_opts_init(&o);
    o.config_from = DEFAULT_CONFIG_FROM;
    o.aux_from = DEFAULT_CONFIG_FROM;
    o.tokenizer_json = DEFAULT_TOKENIZER;
    const char *dst = NULL;
    static const struct {
        const char *flag;
        size_t off;
    } nums[] = {{"--layers", offsetof(hxq_synth_opts, layers)},
                {"--hidden", offsetof(hxq_synth_opts, hidden)},
                {"--intermediate", offsetof(hxq_synth_opts, intermediate)},
                {"--experts", offsetof(hxq_synth_opts, experts)},
                {"--top-k", offsetof(hxq_synth_opts, top_k)},
                {"--heads", offsetof(hxq_synth_opts, heads)},
                {"--vocab", offsetof(hxq_synth_opts, vocab)}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int done = 0;
        for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
            if (strcmp(a, nums[k].flag))
                continue;
            long long n = v ? cmd_parse_count(v) : -1;
            if (n < 1)
                return cmd_usage_error("synth", "%s needs a positive number", a);
            *(int64_t *)((char *)&o + nums[k].off) = n;
            i++;
            done = 1;
        }
        if (done)
            continue;
        if (!strcmp(a, "--fused")) {
            o.fused = 1;
        } else if (!strcmp(a, "--seed") || !strcmp(a, "--max-shard-size") ||
                   !strcmp(a, "--threads")) {
            long long n = v ? cmd_parse_count(v) : -1;
            if (n < 0 || (n == 0 && strcmp(a, "--seed")))
                return cmd_usage_error("synth", "bad %s value", a);
            if (!strcmp(a, "--seed"))
                o.seed = (uint64_t)n;
            else if (!strcmp(a, "--threads"))
                o.threads = (int)n;
            else
                o.max_shard_size = (uint64_t)n;
            i++;
        } else if (!strcmp(a, "--config-from") || !strcmp(a, "--tokenizer")) {
            if (!v)
                return cmd_usage_error("synth", "%s needs a value", a);
            if (!strcmp(a, "--tokenizer"))
                o.tokenizer_json = v;
            else
                o.config_from = o.aux_from = v;
            i++;
        } else if (a[0] == '-' && a[1]) {
            return cmd_usage_error("synth", "unknown option '%s'", a);
        } else if (!dst) {
            dst = a;
        } else {
            return cmd_usage_error("synth", "unexpected argument '%s'", a);
        }
    }
    if (!dst)
        return cmd_usage_error("synth", "expected DST");
    hxq_error err = {0};
    int rc = hxq_synth(dst, &o, &err);
    if (rc < 0)
        return cmd_fail("synth", rc, &err);
    return HXQ_EXIT_OK;
}

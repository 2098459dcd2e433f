/* cmd_synth.c - hxq synth DST: a synthetic checkpoint for benchmarks and
 * tests (OLMoE at real widths, or a tiny model of one family). */
#include "hxq_cmd.h"
#include "hxq_pipeline.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CONFIG_FROM "models/tiny-olmoe"
#define DEFAULT_TOKENIZER "test/fixtures/olmoe/allenai_gpt-neox-olmo-dolma-v1_5.json"
#define FAMILY_TOKENIZER DEFAULT_CONFIG_FROM "/tokenizer.json"

static const char usage[] =
    "usage: hxq synth DST [--arch NAME] [options]\n\n"
    "Writes a deterministic synthetic checkpoint (BF16, hub layout, sharded like\n"
    "transformers) into the new folder DST: heavy-tailed weights (Student-t, 4 degrees\n"
    "of freedom, plus rare outliers 8-56x larger), norms near 1.\n"
    "Without --arch: an OLMoE with OLMoE-1B-7B widths for benchmarks; config.json comes\n"
    "from --config-from with the sizes replaced, tokenizer files from there too,\n"
    "tokenizer.json from --tokenizer.\n"
    "With --arch NAME (llama, mistral, qwen2, qwen3, mixtral, qwen3_moe, olmoe): that\n"
    "family's config.json and tensor names at tiny test widths (hidden 64, 2 layers,\n"
    "vocab 4096; the options below change them) with the tiny-olmoe tokenizer\n"
    "(llama, mistral, mixtral: a BOS in front of every prompt).\n\n"
    "options:\n"
    "  --arch NAME          model family (see above)\n"
    "  --layers N           decoder layers (4; ~0.84 GB each at full width)\n"
    "  --hidden N           hidden size (2048)\n"
    "  --intermediate N     MLP width; per expert for OLMoE and Mixtral (1024)\n"
    "  --moe-intermediate N qwen3_moe: the experts' width\n"
    "  --experts N          experts per layer (64)\n"
    "  --top-k N            experts per token (8)\n"
    "  --heads N            attention heads (16)\n"
    "  --kv-heads N         key/value heads (default: as many as heads)\n"
    "  --head-dim N         head width (default: hidden / heads)\n"
    "  --sliding-window N   mistral, qwen2: attention window in tokens (0: none)\n"
    "  --vocab N            vocabulary rows (50304)\n"
    "  --seed N             random seed (1)\n"
    "  --fused              store experts fused as transformers 5 does\n"
    "                       (mlp.experts.gate_up_proj [E,2I,H], down_proj [E,H,I])\n"
    "  --max-shard-size N   bytes per safetensors file (5000000000)\n"
    "  --threads N          worker threads (all CPUs)\n"
    "  --config-from DIR    config/tokenizer template (" DEFAULT_CONFIG_FROM ")\n"
    "  --tokenizer FILE     copied as tokenizer.json (" DEFAULT_TOKENIZER ";\n"
    "                       with --arch " FAMILY_TOKENIZER ")\n";

/* --arch first: it sets the defaults the other options change. */
static int apply_arch(int argc, char **argv, hxq_synth_opts *o)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--arch"))
            continue;
        if (i + 1 >= argc)
            return cmd_usage_error("synth", "--arch needs a value");
        hxq_error err = {0};
        if (hxq_synth_opts_arch(o, argv[i + 1], &err) < 0)
            return cmd_usage_error("synth", "%s", err.msg);
        o->config_from = NULL;
        o->aux_from = DEFAULT_CONFIG_FROM;
        o->tokenizer_json = FAMILY_TOKENIZER;
    }
    return HXQ_EXIT_OK;
}

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
    int rc = apply_arch(argc, argv, &o);
    if (rc != HXQ_EXIT_OK)
        return rc;
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
                {"--vocab", offsetof(hxq_synth_opts, vocab)},
                {"--kv-heads", offsetof(hxq_synth_opts, kv_heads)},
                {"--head-dim", offsetof(hxq_synth_opts, head_dim)},
                {"--moe-intermediate", offsetof(hxq_synth_opts, moe_intermediate)},
                {"--sliding-window", offsetof(hxq_synth_opts, sliding_window)}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int done = 0;
        for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
            if (strcmp(a, nums[k].flag))
                continue;
            long long n = v ? cmd_parse_count(v) : -1;
            if (n < 1 && !(n == 0 && !strcmp(a, "--sliding-window")))
                return cmd_usage_error("synth", "%s needs a positive number", a);
            *(int64_t *)((char *)&o + nums[k].off) = n;
            i++;
            done = 1;
        }
        if (done)
            continue;
        if (!strcmp(a, "--fused")) {
            o.fused = 1;
        } else if (!strcmp(a, "--arch")) {
            i++;                                   /* applied first */
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
    rc = hxq_synth(dst, &o, &err);
    if (rc < 0)
        return cmd_fail("synth", rc, &err);
    return HXQ_EXIT_OK;
}

/* cmd_convert.c - hxq convert: HXQ folder -> dense BF16 checkpoint, or a
 * reference/older HXQ folder -> our canonical layout. */
#include "hxq_cmd.h"
#include "hxq_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: hxq convert SRC DST --to dense|hxq [--max-shard-size S] [--force] [--quiet]\n\n"
    "Converts the HXQ model folder SRC into DST without refitting anything:\n"
    "  --to dense   a plain BF16 checkpoint in the Hugging Face hub layout, without\n"
    "               quantization_config, that stock transformers loads: each compressed\n"
    "               weight is codebook[indices] with the sidecar values replacing,\n"
    "               rounded to BF16; exact tensors are converted to BF16\n"
    "  --to hxq     the canonical HXQ layout: F32[256] codebooks, U8 [out, in]\n"
    "               indices, I64/F32 sidecars (empty when the source had none),\n"
    "               quant_method \"hxq\"; F16 exact tensors (the reference tool's) go back\n"
    "               to BF16 when that is exact and they hold no F16 subnormal, else\n"
    "               stay F16: effective weights never change. Accepts quant_method\n"
    "               hxq, helix and cdna_v3 (n_clusters <= 256)\n\n"
    "options:\n"
    "  --max-shard-size S  tensor bytes per shard, e.g. 5GB, 500MB, 2GiB\n"
    "                      (default 5GB); beyond it the output is sharded with\n"
    "                      model.safetensors.index.json\n"
    "  --force             replace an existing DST\n"
    "  --quiet             print nothing on success\n\n"
    "Output is written into a temporary folder beside DST, checked, and renamed at\n"
    "the end, with conversion_receipt.json (source and output file hashes, the\n"
    "mapping of every tensor, verdict). 'hxq verify DST' re-checks it.\n"
    "exit status: 0 ok, 1 the converted folder failed its checks, 2 usage,\n"
    "3 I/O or format error (unreadable or unsupported source)\n";

int cmd_convert(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return HXQ_EXIT_OK;
    }
    hxq_convert_opts o = {0};
    const char *pos[2] = {NULL, NULL};
    int npos = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--force")) {
            o.force = 1;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--to") || !strcmp(a, "--max-shard-size")) {
            if (i + 1 >= argc)
                return cmd_usage_error("convert", "%s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--to")) {
                if (!strcmp(v, "dense"))
                    o.to = HXQ_CONVERT_DENSE;
                else if (!strcmp(v, "hxq"))
                    o.to = HXQ_CONVERT_HXQ;
                else
                    return cmd_usage_error("convert", "--to takes dense or hxq, not '%s'", v);
            } else {
                uint64_t sz = cmd_parse_size(v);
                if (!sz || sz > (uint64_t)INT64_MAX)
                    return cmd_usage_error("convert", "--max-shard-size: '%s' is not a size", v);
                o.max_shard_size = (int64_t)sz;
            }
        } else if (a[0] == '-' && a[1]) {
            return cmd_usage_error("convert", "unknown option '%s'", a);
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            return cmd_usage_error("convert", "expected SRC and DST");
        }
    }
    if (npos != 2)
        return cmd_usage_error("convert", "expected SRC and DST");
    if (!o.to)
        return cmd_usage_error("convert", "--to dense|hxq is required");
    hxq_error err = {0};
    hxq_convert_summary s;
    int rc = hxq_convert_folder(pos[0], pos[1], &o, &s, &err);
    if (rc < 0)
        return cmd_fail("convert", rc, &err);
    if (!quiet)
        printf("%s -> %s (%s): %lld tensors in, %lld out (%lld modules), %lld exact re-typed "
               "(%lld lossy), %d shard(s), %llu -> %llu tensor bytes\n",
               pos[0], pos[1], o.to == HXQ_CONVERT_DENSE ? "dense" : "hxq",
               (long long)s.tensors_in, (long long)s.tensors_out, (long long)s.modules,
               (long long)s.exact_narrowed, (long long)s.exact_lossy, s.nshards,
               (unsigned long long)s.bytes_in, (unsigned long long)s.bytes_out);
    return HXQ_EXIT_OK;
}

/* cmd_inspect.c - hxq inspect: list a checkpoint's tensors. */
#include "hxq_cmd.h"
#include "hxq_io.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: hxq inspect PATH\n\n"
    "Lists every tensor of a model folder (single file or shards with\n"
    "model.safetensors.index.json) or of one .safetensors file: name, dtype,\n"
    "shape and file, after validating the headers.\n";

static void print_tensor(const hxq_tensor *t)
{
    printf("%-64s %-5s [", t->name, hxq_dtype_name(t->dtype));
    for (int d = 0; d < t->ndim; d++)
        printf(d ? ", %lld" : "%lld", (long long)t->shape[d]);
    const char *base = strrchr(t->path, '/');
    printf("]  %s\n", base ? base + 1 : t->path);
}

int cmd_inspect(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return HXQ_EXIT_OK;
    }
    if (argc != 2)
        return cmd_usage_error("inspect", "expected one PATH");
    hxq_error err = {0};
    int rc;
    if (hxq_is_dir(argv[1])) {
        hxq_ckpt *c;
        if ((rc = hxq_ckpt_open(argv[1], &c, &err)) < 0)
            return cmd_fail("inspect", rc, &err);
        uint64_t bytes = 0;
        for (int64_t i = 0; i < hxq_ckpt_count(c); i++) {
            print_tensor(hxq_ckpt_tensor(c, i));
            bytes += hxq_ckpt_tensor(c, i)->nbytes;
        }
        printf("%lld tensors, %llu bytes of data in %d file(s)\n",
               (long long)hxq_ckpt_count(c), (unsigned long long)bytes, hxq_ckpt_nfiles(c));
        hxq_ckpt_close(c);
    } else {
        hxq_st_file *f;
        if ((rc = hxq_st_open(argv[1], &f, &err)) < 0)
            return cmd_fail("inspect", rc, &err);
        for (int64_t i = 0; i < hxq_st_count(f); i++)
            print_tensor(hxq_st_tensor(f, i));
        printf("%lld tensors\n", (long long)hxq_st_count(f));
        hxq_st_close(f);
    }
    return HXQ_EXIT_OK;
}

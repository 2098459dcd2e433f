/* dtype.c - safetensors dtype names and sizes; widening tensor reads. */
#include "hxq_io.h"

#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtype_table[HXQ_DT_COUNT] = {
    [HXQ_DT_BOOL] = {"BOOL", 1},     [HXQ_DT_U8] = {"U8", 1},
    [HXQ_DT_I8] = {"I8", 1},         [HXQ_DT_F8_E4M3] = {"F8_E4M3", 1},
    [HXQ_DT_F8_E5M2] = {"F8_E5M2", 1}, [HXQ_DT_I16] = {"I16", 2},
    [HXQ_DT_U16] = {"U16", 2},       [HXQ_DT_F16] = {"F16", 2},
    [HXQ_DT_BF16] = {"BF16", 2},     [HXQ_DT_I32] = {"I32", 4},
    [HXQ_DT_U32] = {"U32", 4},       [HXQ_DT_F32] = {"F32", 4},
    [HXQ_DT_I64] = {"I64", 8},       [HXQ_DT_U64] = {"U64", 8},
    [HXQ_DT_F64] = {"F64", 8},
};

size_t hxq_dtype_size(hxq_dtype dt)
{
    return (unsigned)dt < HXQ_DT_COUNT ? dtype_table[dt].size : 0;
}

const char *hxq_dtype_name(hxq_dtype dt)
{
    return (unsigned)dt < HXQ_DT_COUNT ? dtype_table[dt].name : "?";
}

int hxq_dtype_parse(const char *name, hxq_dtype *out)
{
    for (int i = 0; i < HXQ_DT_COUNT; i++) {
        if (!strcmp(name, dtype_table[i].name)) {
            *out = (hxq_dtype)i;
            return 0;
        }
    }
    return -1;
}

float hxq_tensor_f32_at(const hxq_tensor *t, int64_t i)
{
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case HXQ_DT_BF16: {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        return hxq_bf16_to_f32(h);
    }
    case HXQ_DT_F16: {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        return hxq_f16_to_f32(h);
    }
    case HXQ_DT_F32: {
        float f;
        memcpy(&f, p + 4 * i, 4);
        return f;
    }
    case HXQ_DT_F64: {
        double d;
        memcpy(&d, p + 8 * i, 8);
        return (float)d;
    }
    default:
        return 0.0f;
    }
}

int hxq_tensor_to_f32(const hxq_tensor *t, float *out, hxq_error *err)
{
    switch (t->dtype) {
    case HXQ_DT_F32:
        memcpy(out, t->data, (size_t)t->nelem * 4);
        return HXQ_OK;
    case HXQ_DT_BF16:
    case HXQ_DT_F16:
    case HXQ_DT_F64:
        for (int64_t i = 0; i < t->nelem; i++)
            out[i] = hxq_tensor_f32_at(t, i);
        return HXQ_OK;
    default:
        return hxq_err(err, HXQ_ERR_UNSUPPORTED,
                       "%s: tensor '%s': dtype %s is not a floating type",
                       t->path ? t->path : "?", t->name, hxq_dtype_name(t->dtype));
    }
}

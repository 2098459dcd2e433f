/* cuda_fp16.h - the binary16 type and conversions kernels/cuda uses, for the
 * CPU SIMT emulator (see simt.h). Conversions are hxq's own exact widening
 * and round-to-nearest-even narrowing, as __half2float / __float2half are. */
#ifndef HXQ_EMU_CUDA_FP16_H
#define HXQ_EMU_CUDA_FP16_H

extern "C" {
#include "hxq_common.h"
}

struct __half {
    unsigned short bits;
};

static inline __half __ushort_as_half(unsigned short u) { return __half{u}; }
static inline float __half2float(__half h) { return hxq_f16_to_f32(h.bits); }
static inline __half __float2half(float f) { return __half{hxq_f32_to_f16(f)}; }

#endif

/* fuzz_util.h - helpers shared by the fuzz targets (header-only, so each
 * target stays one translation unit for libFuzzer and the replay test). */
#ifndef HXQ_FUZZ_UTIL_H
#define HXQ_FUZZ_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A NUL-terminated malloc'd copy of the input (JSON readers take C
 * strings), or NULL when out of memory. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
    }
    return text;
}

#endif

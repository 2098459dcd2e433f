/* compress_floor.c - the floor for hxq compress: read every byte of the
 * given source files and SHA-256 as many bytes as the compressed output
 * holds (the unavoidable work of reading the input and hashing the output
 * for the receipt), on one thread. Prints "floor_s <seconds> read <bytes>
 * hashed <bytes>".
 *
 * usage: compress_floor OUT_BYTES FILE... */
#include "hxq_receipt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (8u << 20)

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: compress_floor OUT_BYTES FILE...\n");
        return 2;
    }
    unsigned long long want = strtoull(argv[1], NULL, 10), read_total = 0, hashed = 0;
    unsigned char *buf = malloc(BLOCK);
    hxq_sha256 *h = hxq_sha256_create();
    if (!buf || !h)
        return 3;
    double t0 = hxq_now();
    for (int i = 2; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY);
        if (fd < 0) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            return 3;
        }
        ssize_t r;
        while ((r = read(fd, buf, BLOCK)) > 0) {
            read_total += (unsigned long long)r;
            unsigned long long take = want - hashed < (unsigned long long)r ? want - hashed
                                                                            : (unsigned long long)r;
            hxq_sha256_update(h, buf, (size_t)take);
            hashed += take;
        }
        close(fd);
    }
    while (hashed < want) {   /* output larger than the input: hash the buffer again */
        unsigned long long take = want - hashed < BLOCK ? want - hashed : BLOCK;
        hxq_sha256_update(h, buf, (size_t)take);
        hashed += take;
    }
    char hex[HXQ_SHA256_HEX];
    hxq_sha256_final_hex(h, hex);
    printf("floor_s %.3f read %llu hashed %llu\n", hxq_now() - t0, read_total, hashed);
    free(buf);
    return 0;
}

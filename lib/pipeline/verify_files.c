/* verify_files.c - receipts: their seals, and the SHA-256 and size of
 * every file they record. */
#include "hxq_receipt.h"
#include "verify_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int verify_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

const char *verify_base(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

int verify_load_json(const char *dir, const char *name, hxq_verify_report *rep, cJSON **out,
                     char **text, size_t *len)
{
    *out = NULL;
    if (text)
        *text = NULL;
    char *path = hxq_path_join(dir, name);
    if (!path)
        return HXQ_ERR_NOMEM;
    if (!hxq_path_exists(path)) {
        free(path);
        return HXQ_OK;
    }
    hxq_error e = {0};
    char *buf;
    size_t n;
    int rc = hxq_read_file(path, VERIFY_RECEIPT_MAX, &buf, &n, &e);
    free(path);
    if (rc == HXQ_ERR_NOMEM)
        return rc;
    if (rc < 0)
        return hxq_verify_fail(rep, name, "", "receipt", "%s", e.msg);
    cJSON *root = cJSON_ParseWithLength(buf, n);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        free(buf);
        return hxq_verify_fail(rep, name, "", "receipt", "not a valid JSON object");
    }
    *out = root;
    if (text) {
        *text = buf;
        *len = n;
    } else {
        free(buf);
    }
    return HXQ_OK;
}

int verify_file_list(const char *dir, const char *receipt, const cJSON *files,
                     hxq_verify_report *rep)
{
    if (!cJSON_IsArray(files))
        return hxq_verify_fail(rep, receipt, "", "receipt", "no list of output files");
    const cJSON *f;
    cJSON_ArrayForEach(f, files) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "name");
        const cJSON *sha = cJSON_GetObjectItemCaseSensitive(f, "sha256");
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(f, "size");
        if (!cJSON_IsString(name) || !cJSON_IsString(sha) || !cJSON_IsNumber(size) ||
            strchr(name->valuestring, '/') || !name->valuestring[0]) {
            VERIFY_TRY(hxq_verify_fail(rep, receipt, "", "receipt",
                                       "a file entry lacks a plain name, sha256 or size"));
            continue;
        }
        const char *n = name->valuestring;
        char *path = hxq_path_join(dir, n);
        if (!path)
            return HXQ_ERR_NOMEM;
        if (!hxq_path_exists(path)) {
            free(path);
            VERIFY_TRY(hxq_verify_fail(rep, n, "", "present", "recorded in %s but missing",
                                       receipt));
            continue;
        }
        char hex[HXQ_SHA256_HEX];
        uint64_t got = 0;
        hxq_error e = {0};
        int rc = hxq_sha256_file(path, hex, &got, &e);
        free(path);
        if (rc < 0) {
            VERIFY_TRY(hxq_verify_fail(rep, n, "", "readable", "%s", e.msg));
            continue;
        }
        rep->files_hashed++;
        if ((double)got != size->valuedouble)
            VERIFY_TRY(hxq_verify_fail(rep, n, "", "size", "%llu bytes, %s records %.0f",
                                       (unsigned long long)got, receipt, size->valuedouble));
        if (strcmp(hex, sha->valuestring))
            VERIFY_TRY(hxq_verify_fail(rep, n, "", "sha256", "sha256 %s, %s records %s", hex,
                                       receipt, sha->valuestring));
    }
    return HXQ_OK;
}

/* 1 when name is in the list or is one of the receipts themselves (the
 * eval receipt is checked on its own, verify_eval.c). */
static int recorded(const char *name, const cJSON *const *lists, int nlists)
{
    if (!strcmp(name, VERIFY_COMPRESSION_RECEIPT) || !strcmp(name, VERIFY_CONVERSION_RECEIPT) ||
        hxq_is_eval_receipt_name(name))
        return 1;
    for (int l = 0; l < nlists; l++) {
        const cJSON *f;
        cJSON_ArrayForEach(f, lists[l]) {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "name");
            if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
                return 1;
        }
    }
    return 0;
}

/* Every regular file of the folder must be recorded by some receipt. */
static int check_unrecorded(const char *dir, const cJSON *const *lists, int nlists,
                            hxq_verify_report *rep)
{
    DIR *d = opendir(dir);
    if (!d)
        return HXQ_ERR_IO;
    struct dirent *de;
    int rc = HXQ_OK;
    while (rc == HXQ_OK && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *path = hxq_path_join(dir, de->d_name);
        if (!path) {
            rc = HXQ_ERR_NOMEM;
            break;
        }
        struct stat st;
        int regular = stat(path, &st) == 0 && S_ISREG(st.st_mode);
        free(path);
        if (regular && !recorded(de->d_name, lists, nlists))
            rc = hxq_verify_fail(rep, de->d_name, "", "recorded",
                                 "file is not recorded in any receipt");
    }
    closedir(d);
    return rc;
}

int verify_check_seal(const char *name, const char *text, size_t len, int required,
                      hxq_verify_report *rep)
{
    int sealed;
    hxq_error e = {0};
    int rc = hxq_receipt_seal_check(text, len, &sealed, &e);
    if (rc == HXQ_ERR_NOMEM)
        return rc;
    if (rc < 0)
        return hxq_verify_fail(rep, name, "", "seal", "%s", e.msg);
    if (!sealed && required)
        return hxq_verify_fail(rep, name, "", "seal", "receipt has no \"%s\"", HXQ_SEAL_KEY);
    return HXQ_OK;
}

/* Compares the SHA-256 of dir/name with hex recorded in the receipt. */
static int check_one_hash(const char *dir, const char *name, const char *hex_rec,
                          hxq_verify_report *rep)
{
    char *path = hxq_path_join(dir, name);
    if (!path)
        return HXQ_ERR_NOMEM;
    char hex[HXQ_SHA256_HEX];
    hxq_error e = {0};
    int rc = hxq_path_exists(path) ? hxq_sha256_file(path, hex, NULL, &e)
                                   : hxq_err(&e, HXQ_ERR_IO, "missing");
    free(path);
    if (rc < 0)
        return hxq_verify_fail(rep, name, "", "present", "%s (recorded in %s)", e.msg,
                               VERIFY_CONVERSION_RECEIPT);
    rep->files_hashed++;
    if (strcmp(hex, hex_rec))
        return hxq_verify_fail(rep, name, "", "sha256", "sha256 %s, %s records %s", hex,
                               VERIFY_CONVERSION_RECEIPT, hex_rec);
    return HXQ_OK;
}

/* The reference's conversion receipt: a PASS verdict and the SHA-256 of
 * model.safetensors (ours, when sharded: of the index, plus "shards"). */
static int check_reference_receipt(const char *dir, const cJSON *root, hxq_verify_report *rep)
{
    const char *name = VERIFY_CONVERSION_RECEIPT;
    const cJSON *verdict = cJSON_GetObjectItemCaseSensitive(root, "verdict");
    if (!cJSON_IsString(verdict) || strcmp(verdict->valuestring, "PASS"))
        VERIFY_TRY(hxq_verify_fail(rep, name, "", "receipt_verdict", "verdict is not \"PASS\""));
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(root, "validation");
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(val, "sha256");
    const cJSON *shards = cJSON_GetObjectItemCaseSensitive(val, "shards");
    if (!cJSON_IsString(sha))
        return hxq_verify_fail(rep, name, "", "receipt", "no validation.sha256");
    VERIFY_TRY(check_one_hash(dir, shards ? "model.safetensors.index.json" : "model.safetensors",
                              sha->valuestring, rep));
    const cJSON *s;
    cJSON_ArrayForEach(s, shards) {
        if (!cJSON_IsString(s) || strchr(s->string, '/'))
            VERIFY_TRY(hxq_verify_fail(rep, name, "", "receipt", "a shard entry is malformed"));
        else
            VERIFY_TRY(check_one_hash(dir, s->string, s->valuestring, rep));
    }
    return HXQ_OK;
}

/* The output file list of our own receipts. */
static const cJSON *output_files(const cJSON *root)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "output");
    return cJSON_GetObjectItemCaseSensitive(o, "files");
}

/* 1 when config.json says hxq compress wrote the folder (its
 * quantization_config carries hxq_format_version). */
static int made_by_compress(const char *dir, hxq_verify_report *rep)
{
    cJSON *cfg = NULL;
    if (verify_load_json(dir, "config.json", rep, &cfg, NULL, NULL) < 0 || !cfg)
        return 0;
    const cJSON *qc = cJSON_GetObjectItemCaseSensitive(cfg, "quantization_config");
    int ours = cJSON_HasObjectItem(qc, "hxq_format_version");
    cJSON_Delete(cfg);
    return ours;
}

int verify_receipts(const char *dir, hxq_verify_report *rep)
{
    cJSON *comp = NULL, *conv = NULL;
    char *comp_text = NULL, *conv_text = NULL;
    size_t comp_len = 0, conv_len = 0;
    const cJSON *lists[2];
    int nlists = 0;
    int rc = verify_load_json(dir, VERIFY_COMPRESSION_RECEIPT, rep, &comp, &comp_text, &comp_len);
    if (rc == HXQ_OK)
        rc = verify_load_json(dir, VERIFY_CONVERSION_RECEIPT, rep, &conv, &conv_text, &conv_len);
    if (rc < 0)
        goto out;
    if (comp) {
        snprintf(rep->receipt, sizeof(rep->receipt), "%s", VERIFY_COMPRESSION_RECEIPT);
        if ((rc = verify_check_seal(VERIFY_COMPRESSION_RECEIPT, comp_text, comp_len, 1, rep)) < 0)
            goto out;
        lists[nlists++] = output_files(comp);
        if ((rc = verify_file_list(dir, VERIFY_COMPRESSION_RECEIPT, lists[nlists - 1], rep)) < 0)
            goto out;
    }
    if (conv) {
        /* ours when any of our keys is there: one changed byte cannot hide
         * all of them and so cannot pass our receipt off as the reference's */
        int ours = cJSON_HasObjectItem(conv, "format") || cJSON_HasObjectItem(conv, "output") ||
                   cJSON_HasObjectItem(conv, "tensors") || cJSON_HasObjectItem(conv, HXQ_SEAL_KEY);
        if (!comp)
            snprintf(rep->receipt, sizeof(rep->receipt), "%s", VERIFY_CONVERSION_RECEIPT);
        if (ours) {
            if ((rc = verify_check_seal(VERIFY_CONVERSION_RECEIPT, conv_text, conv_len, 1, rep)) < 0)
                goto out;
            lists[nlists++] = output_files(conv);
            if ((rc = verify_file_list(dir, VERIFY_CONVERSION_RECEIPT, lists[nlists - 1], rep)) <
                0)
                goto out;
        } else if ((rc = check_reference_receipt(dir, conv, rep)) < 0) {
            goto out;
        }
    }
    if (!comp && made_by_compress(dir, rep))
        rc = hxq_verify_fail(rep, VERIFY_COMPRESSION_RECEIPT, "", "receipt",
                             "missing, but config.json says hxq compress wrote this folder");
    else if (!comp && !conv && !rep->total_failures)
        rc = hxq_verify_fail(rep, "", "", "receipt",
                             "no " VERIFY_COMPRESSION_RECEIPT " or " VERIFY_CONVERSION_RECEIPT);
    else if (nlists)
        rc = check_unrecorded(dir, lists, nlists, rep);
out:
    cJSON_Delete(comp);
    cJSON_Delete(conv);
    free(comp_text);
    free(conv_text);
    return rc;
}

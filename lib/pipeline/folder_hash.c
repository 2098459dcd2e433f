/* folder_hash.c - the regular files of a folder with their SHA-256, and
 * one SHA-256 standing for the whole folder. */
#include "pipeline_int.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int pipeline_hash_folder(const char *dir, int (*skip)(const char *name), hxq_rc_file **files,
                         int *n, hxq_error *err)
{
    *files = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return hxq_err(err, HXQ_ERR_IO, "%s: cannot open folder", dir);
    char **names = NULL;
    int k = 0, rc = HXQ_OK;
    struct dirent *de;
    while ((de = readdir(d)) && rc == HXQ_OK) {
        if (de->d_name[0] == '.' || (skip && skip(de->d_name)))
            continue;
        char *path = hxq_path_join(dir, de->d_name);
        struct stat st;
        int regular = path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
        free(path);
        if (!regular)
            continue;
        char **v = realloc(names, (size_t)(k + 1) * sizeof(char *));
        if (v)
            names = v;
        if (!v || !(names[k] = hxq_strdup(de->d_name)))
            rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        else
            k++;
    }
    closedir(d);
    if (rc == HXQ_OK)
        qsort(names, (size_t)k, sizeof(char *), str_cmp);
    hxq_rc_file *f = rc == HXQ_OK ? calloc((size_t)k + 1, sizeof(hxq_rc_file)) : NULL;
    if (rc == HXQ_OK && !f)
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    int done = 0;
    for (int i = 0; i < k && rc == HXQ_OK; i++) {
        rc = pipeline_hash_file(dir, names[i], &f[i], err);
        done = i + 1;
    }
    for (int i = 0; i < k; i++)
        free(names[i]);
    free(names);
    if (rc < 0) {
        hxq_rc_files_free(f, done);
        return rc;
    }
    *files = f;
    *n = k;
    return HXQ_OK;
}

int hxq_is_eval_receipt_name(const char *name)
{
    return !strcmp(name, HXQ_EVAL_RECEIPT);
}

int hxq_folder_sha256(const char *dir, char hex[HXQ_SHA256_HEX], hxq_error *err)
{
    hxq_rc_file *f;
    int n;
    HXQ_TRY(pipeline_hash_folder(dir, hxq_is_eval_receipt_name, &f, &n, err));
    hxq_sha256 *h = hxq_sha256_create();
    if (!h) {
        hxq_rc_files_free(f, n);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    /* the lines sha256sum prints: "<hex>  <name>\n" */
    for (int i = 0; i < n; i++) {
        hxq_sha256_update(h, f[i].sha256, 64);
        hxq_sha256_update(h, "  ", 2);
        hxq_sha256_update(h, f[i].name, strlen(f[i].name));
        hxq_sha256_update(h, "\n", 1);
    }
    hxq_sha256_final_hex(h, hex);
    hxq_rc_files_free(f, n);
    return HXQ_OK;
}

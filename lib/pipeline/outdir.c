/* outdir.c - output folders written under a staging name beside the
 * destination and renamed into place at the end, so an interrupted run
 * never leaves a folder that looks complete. */
#include "pipeline_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hxq_outdir {
    char *dst;        /* as given                         */
    char *stage;      /* "<dst>.tmp-XXXXXX"               */
    char *parent;     /* folder holding both              */
    int replace;      /* dst exists and force was given   */
    int lock;         /* holds the marker's flock, or -1  */
};

/* Absolute, symlink-free path of `path`, which may not exist yet (its
 * parent must). NULL on failure with errno set. */
static char *abs_path(const char *path)
{
    char *r = realpath(path, NULL);
    if (r)
        return r;
    if (errno != ENOENT)
        return NULL;
    char *copy = hxq_strdup(path);
    if (!copy)
        return NULL;
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/')
        copy[--n] = '\0';
    char *slash = strrchr(copy, '/');
    const char *base = slash ? slash + 1 : copy;
    char *parent_abs = slash ? (slash == copy ? realpath("/", NULL)
                                              : (*slash = '\0', realpath(copy, NULL)))
                             : realpath(".", NULL);
    char *out = NULL;
    if (parent_abs) {
        out = hxq_path_join(parent_abs, base);
        free(parent_abs);
    }
    free(copy);
    return out;
}

/* 1 when a equals b or lies inside it. */
static int is_within(const char *a, const char *b)
{
    size_t nb = strlen(b);
    if (strncmp(a, b, nb))
        return 0;
    return a[nb] == '\0' || a[nb] == '/' || (nb == 1 && b[0] == '/');
}

static int check_paths(const char *dst, const char *src, hxq_error *err)
{
    char *d = abs_path(dst);
    if (!d)
        return hxq_err(err, errno == ENOENT ? HXQ_ERR_INVALID : HXQ_ERR_IO,
                       "%s: cannot resolve the output folder's parent: %s", dst, strerror(errno));
    int rc = HXQ_OK;
    if (src) {
        char *s = realpath(src, NULL);
        if (!s)
            rc = hxq_err(err, HXQ_ERR_IO, "%s: cannot resolve: %s", src, strerror(errno));
        else if (is_within(d, s))
            rc = hxq_err(err, HXQ_ERR_INVALID, "%s: the output folder is inside the source %s",
                         dst, src);
        else if (is_within(s, d))
            rc = hxq_err(err, HXQ_ERR_INVALID, "%s: the source %s is inside the output folder",
                         dst, src);
        free(s);
    }
    free(d);
    return rc;
}

int hxq_outdir_begin(const char *dst, const char *src, int force, hxq_outdir **out,
                     hxq_error *err)
{
    if (!dst || !*dst)
        return hxq_err(err, HXQ_ERR_INVALID, "empty output folder name");
    HXQ_TRY(check_paths(dst, src, err));
    int exists = hxq_path_exists(dst);
    if (exists && !force)
        return hxq_err(err, HXQ_ERR_INVALID, "%s: already exists (use --force to replace it)",
                       dst);
    if (exists && !hxq_is_dir(dst))
        return hxq_err(err, HXQ_ERR_INVALID, "%s: exists and is not a folder", dst);
    hxq_outdir *od = calloc(1, sizeof(*od));
    size_t n = strlen(dst);
    while (n > 1 && dst[n - 1] == '/')
        n--;
    if (od)
        od->lock = -1;
    if (!od || !(od->dst = malloc(n + 1))) {
        hxq_outdir_abort(od);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    memcpy(od->dst, dst, n);
    od->dst[n] = '\0';
    char *slash = strrchr(od->dst, '/');
    od->parent = slash ? (slash == od->dst ? hxq_strdup("/")
                                           : strndup(od->dst, (size_t)(slash - od->dst)))
                       : hxq_strdup(".");
    if (!od->parent || !(od->stage = malloc(n + 12))) {
        hxq_outdir_abort(od);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    pipeline_sweep_stale(od->dst, ".tmp-");
    snprintf(od->stage, n + 12, "%s.tmp-XXXXXX", od->dst);
    if (!mkdtemp(od->stage)) {
        int e = errno;
        free(od->stage);
        od->stage = NULL;
        hxq_outdir_abort(od);
        return hxq_err(err, HXQ_ERR_IO, "%s: cannot create a staging folder beside it: %s", dst,
                       strerror(e));
    }
    od->lock = pipeline_stage_lock(od->stage);
    od->replace = exists;
    *out = od;
    return HXQ_OK;
}

const char *hxq_outdir_path(const hxq_outdir *od)
{
    return od->stage;
}

static void outdir_free(hxq_outdir *od)
{
    if (od->lock >= 0)
        close(od->lock);   /* after the marker went: drops the lock */
    free(od->dst);
    free(od->stage);
    free(od->parent);
    free(od);
}

void hxq_outdir_abort(hxq_outdir *od)
{
    if (!od)
        return;
    if (od->stage)
        hxq_rmtree(od->stage, NULL);
    outdir_free(od);
}

/* Unlinks the marker (the lock stays held through od->lock), so it is not
 * part of the output and a sweeper that locks it after us leaves the
 * folder alone. */
static int drop_marker(hxq_outdir *od, hxq_error *err)
{
    if (od->lock < 0)
        return HXQ_OK;   /* none was made */
    char *m = hxq_path_join(od->stage, HXQ_OUTDIR_LOCK);
    if (!m)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    int rc = unlink(m) < 0 ? hxq_err(err, HXQ_ERR_IO, "%s: cannot remove: %s", m,
                                     strerror(errno))
                           : HXQ_OK;
    free(m);
    return rc;
}

int hxq_outdir_commit(hxq_outdir *od, hxq_error *err)
{
    int rc = drop_marker(od, err);
    if (rc == HXQ_OK)
        rc = hxq_fsync_dir(od->stage, err);
    char *old = NULL;
    if (rc == HXQ_OK && od->replace) {
        size_t n = strlen(od->dst) + 12;
        if (!(old = malloc(n))) {
            rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        } else {
            snprintf(old, n, "%s.old-XXXXXX", od->dst);
            /* reserve a unique name, then move the old folder onto it */
            if (!mkdtemp(old) || rename(od->dst, old) < 0)
                rc = hxq_err(err, HXQ_ERR_IO, "%s: cannot move the old folder aside: %s",
                             od->dst, strerror(errno));
        }
    }
    if (rc == HXQ_OK && rename(od->stage, od->dst) < 0) {
        rc = hxq_err(err, HXQ_ERR_IO, "%s: cannot rename %s onto it: %s", od->dst, od->stage,
                     strerror(errno));
        if (old)
            rename(old, od->dst);   /* put the old folder back */
    }
    if (rc == HXQ_OK) {
        free(od->stage);
        od->stage = NULL;
        if (old)
            hxq_rmtree(old, NULL);
        rc = hxq_fsync_dir(od->parent, err);
    } else if (old) {
        rmdir(old);  /* the reserved name, when the move did not happen */
    }
    free(old);
    hxq_outdir_abort(od);
    return rc;
}

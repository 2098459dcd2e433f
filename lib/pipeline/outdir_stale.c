/* outdir_stale.c - owner locks of staging folders, and removal of the
 * staging folders whose owner died (SIGKILL, power loss).
 *
 * A staging folder "<dst>.tmp-XXXXXX" holds HXQ_OUTDIR_LOCK, a file its
 * owner keeps flock()ed for the folder's whole life: the lock is taken
 * under another name and the file renamed into place, so the marker never
 * exists unlocked while its owner lives, and the owner unlinks it (or the
 * whole folder) before letting go of the lock. The kernel drops the lock
 * of a dead process, so a marker that can be locked and is still linked
 * names a folder nobody owns, whatever pids were reused since. */
#include "pipeline_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_NEW ".hxq-staging.lock.new"
#define SWEEP_MAX_DEPTH 4

int pipeline_stage_lock(const char *stage)
{
    int dfd = open(stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    int fd = openat(dfd, LOCK_NEW, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    /* the pid is for people looking at the folder; the lock decides */
    if (fd >= 0 && (flock(fd, LOCK_EX | LOCK_NB) < 0 || write(fd, pid, (size_t)n) != n ||
                    renameat(dfd, LOCK_NEW, dfd, HXQ_OUTDIR_LOCK) < 0)) {
        unlinkat(dfd, LOCK_NEW, 0);
        close(fd);
        fd = -1;
    }
    close(dfd);
    return fd;
}

/* 1 when name is "<base><infix>" and six letters or digits (mkdtemp's). */
static int stage_name(const char *name, const char *base, size_t nb, const char *infix)
{
    size_t ni = strlen(infix);
    if (strncmp(name, base, nb) || strncmp(name + nb, infix, ni))
        return 0;
    const char *x = name + nb + ni;
    for (int i = 0; i < 6; i++) {
        char c = x[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return x[6] == '\0';
}

/* Removes everything in folder dfd (taking ownership of dfd), never
 * following a symbolic link, `skip` last (NULL: none), then name in
 * parent. @return 0 when all went, -1 when something stayed. */
static int remove_at(int parent, const char *name, int dfd, const char *skip, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return -1;
    }
    int ok = 1;
    struct dirent *de;
    while (ok && (de = readdir(d))) {
        const char *e = de->d_name;
        if (!strcmp(e, ".") || !strcmp(e, "..") || (skip && !strcmp(e, skip)))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            ok = 0;
        } else if (S_ISDIR(st.st_mode)) {
            int sub = depth < SWEEP_MAX_DEPTH
                          ? openat(dirfd(d), e, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                          : -1;
            ok = sub >= 0 && remove_at(dirfd(d), e, sub, NULL, depth + 1) == 0;
        } else {
            ok = unlinkat(dirfd(d), e, 0) == 0;
        }
    }
    if (ok && skip)
        ok = unlinkat(dirfd(d), skip, 0) == 0;
    closedir(d);
    return ok && unlinkat(parent, name, AT_REMOVEDIR) == 0 ? 0 : -1;
}

/* Removes staging folder `name` in pfd when it is stale; anything that
 * does not look exactly like one is left alone. @return 1 removed. */
static int sweep_one(int pfd, const char *name)
{
    uid_t me = geteuid();
    struct stat sd, sm, sl, again;
    if (fstatat(pfd, name, &sd, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sd.st_mode) ||
        sd.st_uid != me)
        return 0;
    int dfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return 0;
    int removed = 0;
    int lfd = fstatat(dfd, HXQ_OUTDIR_LOCK, &sm, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sm.st_mode)
                  ? openat(dfd, HXQ_OUTDIR_LOCK, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                  : -1;
    /* the folder we opened is the one we looked at, the marker is ours,
     * its owner is gone (lock free), and it was not unlinked by an owner
     * finishing or by another sweeper while we waited (still linked) */
    if (lfd >= 0 && fstat(dfd, &again) == 0 && again.st_dev == sd.st_dev &&
        again.st_ino == sd.st_ino && fstat(lfd, &sl) == 0 && S_ISREG(sl.st_mode) &&
        sl.st_uid == me && flock(lfd, LOCK_EX | LOCK_NB) == 0 &&
        fstatat(dfd, HXQ_OUTDIR_LOCK, &sm, AT_SYMLINK_NOFOLLOW) == 0 &&
        sm.st_dev == sl.st_dev && sm.st_ino == sl.st_ino && fstat(lfd, &sl) == 0 &&
        sl.st_nlink > 0 && fstatat(pfd, name, &again, AT_SYMLINK_NOFOLLOW) == 0 &&
        again.st_dev == sd.st_dev && again.st_ino == sd.st_ino) {
        removed = remove_at(pfd, name, dfd, HXQ_OUTDIR_LOCK, 0) == 0;
        dfd = -1;   /* remove_at took it */
    }
    if (lfd >= 0)
        close(lfd);   /* drops the lock */
    if (dfd >= 0)
        close(dfd);
    return removed;
}

int pipeline_sweep_stale(const char *path, const char *infix)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    char *parent = strndup(path, n);
    if (!parent)
        return 0;
    char *slash = strrchr(parent, '/');
    const char *base = slash ? slash + 1 : parent;
    if (slash)
        *slash = '\0';
    int pfd = open(!slash ? "." : slash == parent ? "/" : parent,
                   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0 || !*base) {
        if (pfd >= 0)
            close(pfd);
        free(parent);
        return 0;
    }
    int lfd = dup(pfd);
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (!d) {
        if (lfd >= 0)
            close(lfd);
        close(pfd);
        free(parent);
        return 0;
    }
    size_t nb = strlen(base);
    int removed = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (stage_name(de->d_name, base, nb, infix))
            removed += sweep_one(pfd, de->d_name);
    closedir(d);
    close(pfd);
    free(parent);
    return removed;
}

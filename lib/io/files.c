/* files.c - small-file reads, atomic writes, paths and folder removal. */
#include "io_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hxq_read_file(const char *path, size_t max_len, char **out, size_t *len, hxq_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hxq_err(err, HXQ_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return hxq_err(err, HXQ_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_len) {
        close(fd);
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %lld bytes exceeds the %zu-byte limit", path,
                       (long long)st.st_size, max_len);
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = errno;
            free(buf);
            close(fd);
            return hxq_err(err, HXQ_ERR_IO, "%s: read failed: %s", path,
                           r < 0 ? strerror(e) : "unexpected end of file");
        }
        got += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return HXQ_OK;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int hxq_write_file_atomic(const char *path, const void *data, size_t len, hxq_error *err)
{
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 5);
    if (!tmp)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return hxq_err(err, HXQ_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return hxq_err(err, HXQ_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return hxq_err(err, HXQ_ERR_IO, "%s: cannot finish writing: %s", path, strerror(e));
    }
    free(tmp);
    return HXQ_OK;
}

int hxq_copy_file(const char *src, const char *dst, hxq_error *err)
{
    char *buf;
    size_t len;
    int rc = hxq_read_file(src, (size_t)1 << 32, &buf, &len, err);
    if (rc < 0)
        return rc;
    rc = hxq_write_file_atomic(dst, buf, len, err);
    free(buf);
    return rc;
}

char *hxq_path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int slash = la > 0 && a[la - 1] != '/';
    char *p = malloc(la + lb + 2);
    if (!p)
        return NULL;
    memcpy(p, a, la);
    if (slash)
        p[la] = '/';
    memcpy(p + la + slash, b, lb + 1);
    return p;
}

int hxq_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int hxq_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int rmtree_depth(const char *path, int depth, hxq_error *err)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? HXQ_OK
                               : hxq_err(err, HXQ_ERR_IO, "%s: cannot open: %s", path,
                                         strerror(errno));
    struct dirent *de;
    int rc = HXQ_OK;
    while ((de = readdir(d)) && rc == HXQ_OK) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *p = hxq_path_join(path, de->d_name);
        if (!p) {
            rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
            break;
        }
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (depth >= 4)
                rc = hxq_err(err, HXQ_ERR_IO, "%s: folder nesting too deep to remove", p);
            else
                rc = rmtree_depth(p, depth + 1, err);
        } else if (unlink(p) < 0) {
            rc = hxq_err(err, HXQ_ERR_IO, "%s: cannot remove: %s", p, strerror(errno));
        }
        free(p);
    }
    closedir(d);
    if (rc == HXQ_OK && rmdir(path) < 0)
        rc = hxq_err(err, HXQ_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    return rc;
}

int hxq_rmtree(const char *path, hxq_error *err)
{
    return rmtree_depth(path, 0, err);
}

int hxq_fsync_dir(const char *path, hxq_error *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return hxq_err(err, HXQ_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int rc = fsync(fd) < 0 && errno != EINVAL
                 ? hxq_err(err, HXQ_ERR_IO, "%s: fsync failed: %s", path, strerror(errno))
                 : HXQ_OK;
    close(fd);
    return rc;
}

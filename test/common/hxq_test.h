/* hxq_test.h - helpers shared by the Check test programs.
 *
 * Each test/<module>/test_<name>.c builds into its own program whose main()
 * is HXQ_TEST_MAIN(suite_function). Tests run from the repository root, so
 * fixtures are addressed as "models/tiny-olmoe", "test/fixtures/...". */
#ifndef HXQ_TEST_H
#define HXQ_TEST_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#define HXQ_FIXTURE_DENSE "models/tiny-olmoe"
#define HXQ_FIXTURE_HELIX "models/tiny-olmoe-helix"
#define HXQ_FIXTURE_GOLDEN "test/fixtures/golden"

/* Runs the suite and returns the process exit status. */
int hxq_test_run(Suite *s);

/* A fresh empty directory under $TMPDIR (or /tmp); the caller frees the
 * string. Aborts the test on failure. */
char *hxq_test_tmpdir(const char *tag);

/* rm -rf of a test directory (only paths made by hxq_test_tmpdir). */
void hxq_test_rmtree(const char *path);

/* Reads a whole file; *len receives its size. The buffer holds a NUL after
 * the last byte, so a text file can be parsed as a C string. NULL on
 * failure. */
uint8_t *hxq_test_read_file(const char *path, size_t *len);

/* Writes a whole file; 0 on success. */
int hxq_test_write_file(const char *path, const void *data, size_t len);

/* Runs a shell command line, returns its exit status (or -1). */
int hxq_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Path of the hxq binary under test ($HXQ_BIN, default build/hxq). */
const char *hxq_test_bin(void);

#define HXQ_TEST_MAIN(suite_fn) \
    int main(void) { return hxq_test_run(suite_fn()); }

#endif

/* hxq_cmd.h - the subcommand table's entries and the helpers they share.
 * cmd/ is the only place that prints or exits. Exit codes are fixed:
 * 0 ok, 1 verification failed, 2 usage, 3 I/O or format error. */
#ifndef HXQ_CMD_H
#define HXQ_CMD_H

#include "hxq_common.h"

enum {
    HXQ_EXIT_OK = 0,
    HXQ_EXIT_VERIFY = 1,
    HXQ_EXIT_USAGE = 2,
    HXQ_EXIT_IO = 3
};

typedef int (*hxq_cmd_fn)(int argc, char **argv);

struct hxq_cmd {
    const char *name;
    hxq_cmd_fn fn;
    const char *summary;
};

/* One function per subcommand, in cmd_<name>.c. argv[0] is the name. */
int cmd_inspect(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_chat_template(int argc, char **argv);
int cmd_compress(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* hxq eval --task (cmd_eval_mc.c): multiple-choice accuracy; cmd_eval()
 * hands over when argv holds --task. Its usage text: */
int cmd_eval_mc(int argc, char **argv);
extern const char cmd_eval_mc_usage[];

/* Prints "hxq <cmd>: <message>" for err to stderr and returns the exit code
 * for its status. */
int cmd_fail(const char *cmd, int status, const hxq_error *err);

/* Prints "hxq <cmd>: <formatted message>" and returns HXQ_EXIT_USAGE. */
int cmd_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Maps a library status to an exit code. */
int cmd_exit_code(int status);

/* True when argv holds -h or --help (before any "--"). */
int cmd_wants_help(int argc, char **argv);

/* Parses a size option: a positive number with an optional suffix B, K,
 * KB, M, MB, G, GB, T, TB (powers of 1000) or KiB, MiB, GiB (case
 * ignored), e.g. "5GB", "500M", "2GiB", "123". Returns bytes, 0 on error. */
uint64_t cmd_parse_size(const char *s);

/* Parses a positive integer option value; -1 on error. */
long long cmd_parse_count(const char *s);

#endif

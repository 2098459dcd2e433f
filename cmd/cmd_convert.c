/* cmd_convert.c - hxq convert (placeholder until the library lands). */
#include "hxq_cmd.h"
int cmd_convert(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return HXQ_EXIT_USAGE;
}

/* cli/cmd_trace.h: what the files of `notfree trace` share. */
#ifndef NOTFREE_CLI_CMD_TRACE_H
#define NOTFREE_CLI_CMD_TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "notfree/trace.h"

/* The one-line error of a bad flag or input, with the help hint; returns 2. */
__attribute__((format(printf, 1, 2))) int nf_trace_bad(const char *fmt, ...);
/* Loads path; NULL with the error printed and *rc set (2: not a trace or unreadable). */
nf_trace *nf_trace_open(const char *path, int *rc);
/* b as "123 B", "45.6 KiB", "7.8 MiB" or "9.1 GiB" into buf; returns buf. */
const char *nf_trace_fmt_bytes(char *buf, size_t len, uint64_t b);
/* argv[0] is the subcommand's name. */
int nf_trace_record_main(int argc, char **argv);
int nf_trace_replay_main(int argc, char **argv);

#endif

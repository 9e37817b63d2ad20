/* cli/commands.h: the subcommands of `notfree`. Adding one: a file
 * cmd_<name>.c with its entry and help, and one line in notfree.c. */
#ifndef NOTFREE_CLI_COMMANDS_H
#define NOTFREE_CLI_COMMANDS_H

#include <stdio.h>

typedef struct nf_command {
    const char *name;
    const char *summary;               /* one line for `notfree --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    void (*help)(FILE *f);
} nf_command;

int nf_cmd_bench(int argc, char **argv);
void nf_cmd_bench_help(FILE *f);
int nf_cmd_run(int argc, char **argv);
void nf_cmd_run_help(FILE *f);
int nf_cmd_model(int argc, char **argv);
void nf_cmd_model_help(FILE *f);
int nf_cmd_alloc(int argc, char **argv);
void nf_cmd_alloc_help(FILE *f);
int nf_cmd_compare(int argc, char **argv);
void nf_cmd_compare_help(FILE *f);
int nf_cmd_check(int argc, char **argv);
void nf_cmd_check_help(FILE *f);
int nf_cmd_tour(int argc, char **argv);
void nf_cmd_tour_help(FILE *f);
int nf_cmd_diff(int argc, char **argv);
void nf_cmd_diff_help(FILE *f);
int nf_cmd_baseline(int argc, char **argv);
void nf_cmd_baseline_help(FILE *f);
int nf_cmd_regress(int argc, char **argv);
void nf_cmd_regress_help(FILE *f);
int nf_cmd_trace(int argc, char **argv);
void nf_cmd_trace_help(FILE *f);
/* A quick `notfree compare` into results_dir (for `notfree run`); 0 ok,
 * 1 a run failed, 2 it could not run. Declared in compare/compare.h too. */
int nf_compare_quick(const char *results_dir);

/* The directory part of path into dir[cap]: "." when path has no slash,
 * "/" for a file at the root (paths.c). */
void nf_cli_parent_dir(const char *path, char *dir, size_t cap);

#endif

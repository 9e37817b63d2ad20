/* paths.c: small path helpers the subcommands share (commands.h). */
#include <stdio.h>
#include <string.h>

#include "commands.h"

void nf_cli_parent_dir(const char *path, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, cap, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
}

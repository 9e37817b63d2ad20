/* cli/cmd_baseline.c: `notfree baseline save FILE [--name N]` and
 * `notfree baseline list`: results files kept per box under
 * DIR/baselines/<box key>/<name>.json, for `notfree diff --baseline`. The
 * box key comes from the file's own context (CPU model, kernel release,
 * hypervisor, THP mode), so a baseline is only ever found by a file from
 * the same kind of box. */
#include "commands.h"
#include "diff.h"

#include "notfree/context.h"
#include "notfree/resultfile.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void nf_cmd_baseline_help(FILE *f)
{
    fprintf(f, "usage: notfree baseline save FILE.json [--name NAME] [--results DIR]\n"
               "       notfree baseline list [--results DIR]\n\n"
               "save   checks FILE (a bench or compare results file with its box facts) and\n"
               "       keeps a copy as DIR/baselines/<box key>/NAME.json (NAME: default;\n"
               "       letters, digits, '.', '_', '-'), replacing one of that name.\n"
               "list   the stored baselines: box key, name, kind, rows, date; `*` marks\n"
               "       this box's.\n\n"
               "The box key is the CPU model, kernel release, hypervisor and THP mode of the\n"
               "file's context, sanitised, and a hash of them. `notfree diff --baseline [NAME]\n"
               "NEW.json` judges NEW against the baseline of NEW's box. DIR: default results.\n"
               "Exit: 0 done, 2 bad input (unreadable file, no box facts, bad name).\n");
}

static bool good_name(const char *s)
{
    if (!*s || *s == '.')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
              *s == '_' || *s == '-'))
            return false;
    return true;
}

static int save(const char *file, const char *name, const char *results)
{
    nf_rg_file f;
    char err[1024], path[4096];
    if (!good_name(name)) {
        fprintf(stderr, "notfree baseline: --name '%s': use letters, digits, '.', '_', '-'\n", name);
        return 2;
    }
    if (nf_rg_load(file, NULL, &f, err, sizeof err) != 0) {
        fprintf(stderr, "notfree baseline: %s\n", err);
        return 2;
    }
    int rc = 2;
    if (nf_baseline_path(path, sizeof path, results, f.box, name) != 0) {
        fprintf(stderr,
                "notfree baseline: %s: no box facts (context.notfree): a baseline must say "
                "which box it is from\n",
                file);
        goto out;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    bool replaced = access(path, F_OK) == 0;
    if (nf_mkdir_p(dir) != 0 || nf_json_write_file(f.root, path) != 0) {
        fprintf(stderr, "notfree baseline: cannot write %s: %s\n", path, strerror(errno));
        goto out;
    }
    printf("%s baseline '%s' (%s, %zu row-metric series): %s\n", replaced ? "replaced" : "saved", name,
           nf_rg_kind_name(f.kind), f.n, path);
    rc = 0;
out:
    nf_rg_free(&f);
    return rc;
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

static int list(const char *results)
{
    char top[4096], here[160] = "";
    snprintf(top, sizeof top, "%s/baselines", results);
    json_t *box = nf_context_to_json();
    nf_rg_box_key(box, here, sizeof here);
    json_decref(box);
    struct dirent **keys;
    int nk = scandir(top, &keys, NULL, by_name);
    if (nk < 0) {
        printf("no baselines in %s (notfree baseline save FILE.json)\n", top);
        return 0;
    }
    unsigned shown = 0;
    for (int i = 0; i < nk; i++) {
        char dir[8192];
        snprintf(dir, sizeof dir, "%s/%s", top, keys[i]->d_name);
        struct dirent **files;
        int nf = keys[i]->d_name[0] == '.' ? -1 : scandir(dir, &files, NULL, by_name);
        for (int k = 0; k < nf; k++) {
            const char *n = files[k]->d_name;
            size_t len = strlen(n);
            if (len > 5 && !strcmp(n + len - 5, ".json")) {
                char path[12288], err[512];
                snprintf(path, sizeof path, "%s/%s", dir, n);
                nf_rg_file f;
                if (!shown++)
                    printf("  %-12s %-8s %6s  %-20s  %s\n", "name", "kind", "series", "date", "box key");
                if (nf_rg_load(path, NULL, &f, err, sizeof err) != 0) {
                    printf("%c %-12.*s unreadable: %s\n", strcmp(keys[i]->d_name, here) ? ' ' : '*', (int)(len - 5), n,
                           err);
                } else {
                    const json_t *ctx = json_object_get(f.root, "context");
                    const char *date = json_string_value(json_object_get(ctx, "date"));
                    printf("%c %-12.*s %-8s %6zu  %-20s  %s\n", strcmp(keys[i]->d_name, here) ? ' ' : '*',
                           (int)(len - 5), n, nf_rg_kind_name(f.kind), f.n, date ? date : "(no date)", keys[i]->d_name);
                    nf_rg_free(&f);
                }
            }
            free(files[k]);
        }
        if (nf > 0)
            free(files);
        free(keys[i]);
    }
    free(keys);
    if (!shown)
        printf("no baselines in %s (notfree baseline save FILE.json)\n", top);
    else
        printf("(* this box: %s)\n", here[0] ? here : "unknown");
    return 0;
}

int nf_cmd_baseline(int argc, char **argv)
{
    const char *results = "results", *name = "default", *file = NULL, *verb = argc > 1 ? argv[1] : NULL;
    if (!verb || (strcmp(verb, "save") && strcmp(verb, "list"))) {
        fprintf(stderr, "notfree baseline: say save or list (notfree baseline --help)\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--name") || !strcmp(a, "--results")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "notfree baseline: %s needs a value\n", a);
                return 2;
            }
            *(a[2] == 'n' ? &name : &results) = argv[++i];
        } else if (!strncmp(a, "--name=", 7)) {
            name = a + 7;
        } else if (!strncmp(a, "--results=", 10)) {
            results = a + 10;
        } else if (a[0] == '-' || file || !strcmp(verb, "list")) {
            fprintf(stderr, "notfree baseline: unexpected '%s' (notfree baseline --help)\n", a);
            return 2;
        } else {
            file = a;
        }
    }
    if (!strcmp(verb, "list"))
        return list(results);
    if (!file) {
        fprintf(stderr, "notfree baseline save: which results file?\n");
        return 2;
    }
    return save(file, name, results);
}

/* registry.c: every allocator, by name. Adding an allocator is one line
 * here (and its nf_allocator_<name> declaration in notfree/alloc.h). */
#include <string.h>

#include "notfree/alloc.h"

static const nf_allocator *const registry[] = {
    &nf_allocator_system,
    &nf_allocator_bins,
    &nf_allocator_shard,
    &nf_allocator_slab,
};

#define REGISTRY_COUNT (sizeof registry / sizeof registry[0])

size_t nf_allocator_count(void) { return REGISTRY_COUNT; }

const nf_allocator *nf_allocator_at(size_t i) { return i < REGISTRY_COUNT ? registry[i] : NULL; }

const nf_allocator *nf_allocator_find(const char *name)
{
    for (size_t i = 0; name && i < REGISTRY_COUNT; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

int64_t nf_alloc_stats_path(const nf_alloc_stats *s, const char *name)
{
    if (!(s->available & NF_STAT_PATHS))
        return -1;
    for (unsigned i = 0; i < s->npaths && i < NF_ALLOC_MAX_PATHS; i++)
        if (strcmp(s->paths[i].name, name) == 0)
            return (int64_t)s->paths[i].count;
    return -1;
}

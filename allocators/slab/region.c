/* region.c: where slabs come from: the class geometry, regions (aligned
 * mappings cut into units), the process-wide region map, carving units
 * into slabs and giving them back, and the meta pool that magazines and
 * thread caches are cut from. Every page-source call of the slab layer is
 * made here. */
#include <errno.h>
#include <string.h>

#include "slab.h"

slab_geom slab_geom_table[SLAB_NCLASSES];

/* One bit per SLAB_REGION of user address space (4 MiB of zero pages, of
 * which a process touches one or two). */
uint64_t slab_region_bits[((uintptr_t)1 << (SLAB_ADDR_BITS - SLAB_REGION_LOG2)) / 64];

static size_t class_size(unsigned c)
{
    unsigned fine = (unsigned)(SLAB_FINE_MAX >> 4);
    if (c < fine)
        return (size_t)(c + 1) * 16;
    unsigned b = 8 + ((c - fine) >> SLAB_STEPS_LOG2);
    unsigned idx = (c - fine) & ((1u << SLAB_STEPS_LOG2) - 1);
    return ((size_t)1 << b) + (size_t)(idx + 1) * ((size_t)1 << (b - SLAB_STEPS_LOG2));
}

static void geom_compute(void)
{
    for (unsigned c = 0; c < SLAB_NCLASSES; c++) {
        slab_geom *g = &slab_geom_table[c];
        size_t size = class_size(c), k;
        for (k = 1; k < SLAB_MAX_SPAN; k++) {
            size_t span = k * SLAB_UNIT;
            if ((span % size) * SLAB_WASTE_DIV <= span)
                break;
        }
        g->size = (uint32_t)size;
        g->units = (uint32_t)k;
        g->count = (uint32_t)(k * SLAB_UNIT / size);
        g->tail = (uint32_t)(k * SLAB_UNIT - g->count * size);
        size_t cap = SLAB_MAG_BYTES / size;
        cap = cap < SLAB_MAG_MIN ? SLAB_MAG_MIN : cap > SLAB_MAG_MAX ? SLAB_MAG_MAX : cap;
        g->mag_cap = (uint32_t)cap;
        g->refill = (uint32_t)(cap / SLAB_REFILL_DIV ? cap / SLAB_REFILL_DIV : 1);
        g->shift = (uint32_t)__builtin_ctzll(size);
        uint64_t odd = size >> g->shift, inv = odd; /* Newton: each step doubles the bits right */
        for (int i = 0; i < 6; i++)
            inv *= 2 - odd * inv;
        g->inv = inv;
    }
}

_Static_assert(SLAB_NCLASSES == (SLAB_FINE_MAX >> 4) + (15 - 8) * (1 << SLAB_STEPS_LOG2),
               "classes: fine steps, then 2^SLAB_STEPS_LOG2 per doubling from 256 to 32 KiB");

void slab_geom_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, geom_compute);
}

void slab_mapped_add(slab_heap *h, int64_t delta)
{
    uint64_t now = __atomic_add_fetch(&h->mapped, (uint64_t)delta, __ATOMIC_RELAXED);
    nf_kit_peak_u64(&h->peak_mapped, now);
}

static void map_bit(uintptr_t r, bool on)
{
    uintptr_t i = r >> SLAB_REGION_LOG2;
    uint64_t bit = (uint64_t)1 << (i & 63);
    if (on)
        __atomic_fetch_or(&slab_region_bits[i >> 6], bit, __ATOMIC_RELAXED);
    else
        __atomic_fetch_and(&slab_region_bits[i >> 6], ~bit, __ATOMIC_RELAXED);
}

/* A new region, linked first; region_lock held. Maps twice the size and
 * gives back what lies outside the aligned middle. */
static slab_region *region_new_locked(slab_heap *h)
{
    size_t len = 2 * SLAB_REGION;
    char *m = nf_pages_map(h->ps, len, 0);
    if (!m)
        return NULL;
    uintptr_t a = ((uintptr_t)m + SLAB_REGION - 1) & ~(SLAB_REGION - 1);
    if (a >> SLAB_ADDR_BITS) { /* beyond the region map: not usable */
        nf_pages_unmap(h->ps, m, len);
        errno = ENOMEM;
        return NULL;
    }
    size_t head = a - (uintptr_t)m, tail = len - head - SLAB_REGION;
    if (head)
        nf_pages_unmap(h->ps, m, head);
    if (tail)
        nf_pages_unmap(h->ps, (char *)a + SLAB_REGION, tail);
    slab_mapped_add(h, (int64_t)SLAB_REGION);
    slab_region *r = (slab_region *)a;
    r->magic = h->secret ^ a;
    r->heap = h;
    r->free_units = ~(uint64_t)1;
    memset(r->head, SLAB_NO_HEAD, sizeof r->head);
    slab_poison((char *)a + SLAB_UNIT, SLAB_REGION - SLAB_UNIT);
    r->next = h->regions;
    r->prev = NULL;
    if (h->regions)
        h->regions->prev = r;
    h->regions = r;
    h->nregions++;
    h->nempty_regions++;
    map_bit(a, true);
    return r;
}

static void region_unmap_locked(slab_heap *h, slab_region *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        h->regions = r->next;
    if (r->next)
        r->next->prev = r->prev;
    h->nregions--;
    h->nempty_regions--;
    map_bit((uintptr_t)r, false);
    r->magic = 0;
    slab_unpoison(r, SLAB_REGION);
    nf_pages_unmap(h->ps, r, SLAB_REGION);
    slab_mapped_add(h, -(int64_t)SLAB_REGION);
    __atomic_fetch_add(&h->retired_paths[SLAB_PATH_REGION_UNMAP], 1, __ATOMIC_RELAXED);
}

/* The first unit of a run of k free units in free_units, or -1. */
static int find_run(uint64_t free_units, unsigned k)
{
    uint64_t m = free_units;
    for (unsigned i = 1; i < k && m; i++)
        m &= m >> 1;
    return m ? __builtin_ctzll(m) : -1;
}

static const uint64_t ALL_FREE = ~(uint64_t)1;

slab *slab_carve(slab_heap *h, unsigned units)
{
    pthread_mutex_lock(&h->region_lock);
    slab_region *r;
    int u = -1;
    for (r = h->regions; r; r = r->next)
        if ((u = find_run(r->free_units, units)) >= 0)
            break;
    if (!r) {
        r = region_new_locked(h);
        if (!r) {
            pthread_mutex_unlock(&h->region_lock);
            return NULL;
        }
        u = find_run(r->free_units, units);
    } else if (r != h->regions) { /* the region with room first: the next search ends there */
        r->prev->next = r->next;
        if (r->next)
            r->next->prev = r->prev;
        r->prev = NULL;
        r->next = h->regions;
        h->regions->prev = r;
        h->regions = r;
    }
    if (r->free_units == ALL_FREE)
        h->nempty_regions--;
    uint64_t bits = (units == 64 ? ~(uint64_t)0 : (((uint64_t)1 << units) - 1)) << u;
    r->free_units &= ~bits;
    for (unsigned i = 0; i < units; i++)
        __atomic_store_n(&r->head[(unsigned)u + i], (uint8_t)u, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&h->region_lock);
    __atomic_fetch_add(&h->held, (uint64_t)units * SLAB_UNIT, __ATOMIC_RELAXED);
    slab *s = &r->slabs[u];
    memset(s, 0, sizeof *s);
    s->units = (uint8_t)units;
    return s;
}

uintptr_t slab_base(const slab *s)
{
    slab_region *r = slab_region_of((uintptr_t)s);
    return (uintptr_t)r + (uintptr_t)(s - r->slabs) * SLAB_UNIT;
}

/* An empty slab leaves its class: its touched pages are dropped, its
 * units go back to the region, and a region left wholly empty beyond
 * SLAB_REGIONS_KEEP is unmapped. The caller holds the class lock. */
void slab_uncarve(slab_heap *h, slab *s)
{
    uintptr_t base = slab_base(s);
    size_t touched = (s->start - base) + (size_t)s->bumped * slab_geom_table[s->cls].size;
    touched = (touched + h->page - 1) & ~(h->page - 1);
    if (touched)
        nf_pages_advise(h->ps, (void *)base, touched, NF_ADVISE_DONTNEED);
    slab_poison((void *)base, (size_t)s->units * SLAB_UNIT);
    __atomic_fetch_add(&h->retired_paths[SLAB_PATH_SLAB_RELEASE], 1, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&h->held, (uint64_t)s->units * SLAB_UNIT, __ATOMIC_RELAXED);
    slab_region *r = slab_region_of(base);
    unsigned u = (unsigned)(s - r->slabs), units = s->units;
    s->list = SLAB_LIST_NONE;
    pthread_mutex_lock(&h->region_lock);
    for (unsigned i = 0; i < units; i++)
        __atomic_store_n(&r->head[u + i], (uint8_t)SLAB_NO_HEAD, __ATOMIC_RELAXED);
    r->free_units |= (units == 64 ? ~(uint64_t)0 : (((uint64_t)1 << units) - 1)) << u;
    if (r->free_units == ALL_FREE) {
        h->nempty_regions++;
        if (h->nempty_regions > SLAB_REGIONS_KEEP)
            region_unmap_locked(h, r);
    }
    pthread_mutex_unlock(&h->region_lock);
}

int slab_regions_release(slab_heap *h, bool all)
{
    int released = 0;
    pthread_mutex_lock(&h->region_lock);
    slab_region *r = h->regions;
    while (r) {
        slab_region *next = r->next;
        if (r->free_units == ALL_FREE && (all || h->nempty_regions > SLAB_REGIONS_KEEP)) {
            region_unmap_locked(h, r);
            released = 1;
        }
        r = next;
    }
    pthread_mutex_unlock(&h->region_lock);
    return released;
}

void slab_regions_destroy(slab_heap *h)
{
    while (h->regions) {
        slab_region *r = h->regions;
        h->nempty_regions++; /* region_unmap_locked counts it out */
        region_unmap_locked(h, r);
    }
    while (h->meta_chunks) {
        slab_meta_chunk *c = h->meta_chunks;
        h->meta_chunks = c->next;
        nf_pages_unmap(h->ps, c, SLAB_META_CHUNK);
    }
}

/* Zeroed meta memory (16-aligned) from the current chunk, or a new one. */
void *slab_meta_alloc_locked(slab_heap *h, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (!h->meta_cur || (size_t)(h->meta_end - h->meta_cur) < size) {
        slab_meta_chunk *c = nf_pages_map(h->ps, SLAB_META_CHUNK, 0);
        if (!c)
            return NULL;
        slab_mapped_add(h, (int64_t)SLAB_META_CHUNK);
        c->next = h->meta_chunks;
        h->meta_chunks = c;
        h->meta_cur = (char *)c + 64;
        h->meta_end = (char *)c + SLAB_META_CHUNK;
    }
    void *p = h->meta_cur;
    h->meta_cur += size;
    return p;
}

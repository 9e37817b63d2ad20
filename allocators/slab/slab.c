/* slab.c: the slab layer of one class, under the class's lock: the
 * partial, full and empty lists, carving objects (free list first, then
 * never-used objects in address order), taking objects back, and giving
 * empty slabs back to their region.
 *
 * Which empty slabs stay: the class's working set is the recent peak of
 * its slabs in use (not empty), that peak halving every
 * SLAB_EMPTY_DECAY_S seconds. Empty slabs up to the peak minus the slabs
 * in use now (and at least SLAB_EMPTY_RESERVE) stay carved with their
 * pages, so a program whose use of a class swings (a producer's batches
 * freed by a consumer, a fill and drain) reuses them instead of dropping
 * their pages and faulting them again at 10-40 us a page; past that they
 * go back (MADV_DONTNEED). trim gives back every empty slab. */
#include "notfree/clock.h"
#include "slab.h"

/* The class's decayed peak of slabs in use, raised to the count now. */
static double working_set_locked(slab_class *c)
{
    double now = nf_now_s();
    c->ws_peak = slab_decay(c->ws_peak, now - c->ws_at, SLAB_EMPTY_DECAY_S);
    c->ws_at = now;
    double busy = (double)(c->nslabs - c->nempty);
    if (c->ws_peak < busy)
        c->ws_peak = busy;
    return c->ws_peak;
}

static slab **list_head(slab_class *c, unsigned list)
{
    return list == SLAB_LIST_PARTIAL ? &c->partial : list == SLAB_LIST_FULL ? &c->full : &c->empty;
}

static void list_remove(slab_class *c, slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        *list_head(c, s->list) = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->list == SLAB_LIST_EMPTY)
        c->nempty--;
    s->list = SLAB_LIST_NONE;
    s->next = s->prev = NULL;
}

static void list_push(slab_class *c, slab *s, unsigned list)
{
    slab **head = list_head(c, list);
    s->list = (uint8_t)list;
    s->prev = NULL;
    s->next = *head;
    if (*head)
        (*head)->prev = s;
    *head = s;
    if (list == SLAB_LIST_EMPTY)
        c->nempty++;
}

static void list_move(slab_class *c, slab *s, unsigned list)
{
    if (s->list != list) {
        list_remove(c, s);
        list_push(c, s, list);
    }
}

/* A fresh slab for class cls, on no list. */
static slab *slab_new_locked(slab_heap *h, unsigned cls)
{
    const slab_geom *g = &slab_geom_table[cls];
    slab_class *c = &h->cls[cls];
    slab *s = slab_carve(h, g->units);
    if (!s)
        return NULL;
    size_t colour = 0;
    if (SLAB_COLOUR && (g->size & (g->size - 1)) && g->tail >= SLAB_COLOUR_STEP) {
        colour = c->colour_next;
        c->colour_next += SLAB_COLOUR_STEP;
        if (c->colour_next > g->tail)
            c->colour_next = 0;
    }
    s->start = slab_base(s) + colour;
    s->end = s->start + (uintptr_t)g->count * g->size;
    s->inv = g->inv;
    s->shift = (uint8_t)g->shift;
    s->count = g->count;
    s->size = g->size;
    __atomic_store_n(&s->cls, (uint8_t)cls, __ATOMIC_RELAXED);
    c->nslabs++;
    return s;
}

/* Pop s's free list, checking the decoded next pointer: a corrupted one
 * aborts rather than hand out a wild pointer. */
static void *pop_free(slab_heap *h, slab *s)
{
    void **p = s->free;
    void *next = slab_encode(h, p, *p);
    if (next && !slab_on_boundary(s, (uintptr_t)next))
        slab_die("corrupted free list in the slab of", p, "a freed block was written to");
    s->free = next;
    return p;
}

unsigned slab_alloc_batch_locked(slab_heap *h, unsigned cls, void **out, unsigned n, slab_path *how)
{
    slab_class *c = &h->cls[cls];
    uint32_t size = slab_geom_table[cls].size;
    unsigned got = 0;
    *how = SLAB_PATH_SLAB;
    while (got < n) {
        slab *s = c->partial;
        if (!s) {
            if (c->empty) {
                s = c->empty;
            } else {
                if (!(s = slab_new_locked(h, cls)))
                    break;
                if (got == 0)
                    *how = SLAB_PATH_NEW_SLAB;
                list_push(c, s, SLAB_LIST_EMPTY);
            }
            list_move(c, s, SLAB_LIST_PARTIAL);
            working_set_locked(c); /* one more slab in use */
        }
        while (got < n && s->free) {
            out[got++] = pop_free(h, s);
            s->inuse++;
        }
        uint32_t bumped = s->bumped;
        while (got < n && bumped < s->count) {
            out[got++] = (void *)(s->start + (uintptr_t)bumped * size);
            bumped++;
            s->inuse++;
        }
        __atomic_store_n(&s->bumped, bumped, __ATOMIC_RELAXED); /* free reads it unlocked */
        if (!s->free && bumped == s->count)
            list_move(c, s, SLAB_LIST_FULL);
    }
    return got;
}

/* Take object p (its key already written) back into slab s. */
void slab_free_locked(slab_heap *h, unsigned cls, slab *s, void *p)
{
    slab_class *c = &h->cls[cls];
    void **w = p;
    *w = slab_encode(h, w, s->free);
    s->free = p;
    s->inuse--;
    if (s->inuse == 0) {
        list_move(c, s, SLAB_LIST_EMPTY);
        if (c->nempty > SLAB_EMPTY_RESERVE) {
            double keep = working_set_locked(c) - (double)(c->nslabs - c->nempty);
            if ((double)c->nempty > keep) {
                list_remove(c, s);
                c->nslabs--;
                slab_uncarve(h, s);
            }
        }
    } else if (s->list == SLAB_LIST_FULL) {
        list_move(c, s, SLAB_LIST_PARTIAL);
    }
}

int slab_release_empty_locked(slab_heap *h, unsigned cls, unsigned keep)
{
    slab_class *c = &h->cls[cls];
    int released = 0;
    while (c->nempty > keep) {
        slab *s = c->empty;
        list_remove(c, s);
        c->nslabs--;
        slab_uncarve(h, s);
        released = 1;
    }
    return released;
}

/* reserve.c: the model's big bookkeeping arrays (a descriptor per frame,
 * the free-frame stack, the swap slots' counts and free stack) as address
 * space reserved once and made resident only where it is written.
 *
 * A model sized for 64 GiB of frames or 1 TiB of swap must not cost that
 * before it is used: these arrays are filled from index 0 upward as frames
 * and slots are first taken (see the watermarks in frames.c and
 * reclaim.c), so the pages of the mapping that become resident are those
 * the run reached. MAP_NORESERVE: the reservation is not charged to the
 * box's commit; the kernel gives the pages zero-filled on first touch.
 */
#include "model_impl.h"

#include <errno.h>
#include <sys/mman.h>

void *nf_reserve(size_t n, size_t size)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = mmap(NULL, n * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void nf_unreserve(void *p, size_t n, size_t size)
{
    if (p)
        munmap(p, (n ? n : 1) * size);
}

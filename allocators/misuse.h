/* allocators/misuse.h: how every allocator of ours reports misuse (a
 * double free, a pointer it never gave out, a damaged list) before it
 * aborts. Internal to allocators/. */
#ifndef NOTFREE_ALLOCATORS_MISUSE_H
#define NOTFREE_ALLOCATORS_MISUSE_H

/* Writes "notfree-<name>: <what> 0x<p>[: <why>]\n" to stderr with one
 * write(2) and aborts. Never allocates and takes no lock, so it is safe
 * inside malloc, under any allocator lock and in a forked child. why may
 * be NULL. */
_Noreturn void nf_alloc_die(const char *name, const char *what, const void *p, const char *why) __attribute__((cold));

#endif

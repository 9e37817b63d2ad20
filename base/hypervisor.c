/* base/hypervisor.c: the hypervisor's CPUID signature (see hypervisor.h). */
#include "notfree/hypervisor.h"

#include <pthread.h>
#include <string.h>

static char g_name[16];
static const char *g_result;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
static void probe(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        g_result = NULL;
        return;
    }
    if (!(c & (1u << 31))) {
        g_result = "none";
        return;
    }
    __cpuid(0x40000000, a, b, c, d);
    memcpy(g_name, &b, 4);
    memcpy(g_name + 4, &c, 4);
    memcpy(g_name + 8, &d, 4);
    g_name[12] = '\0';
    /* Signatures are padded with NULs or spaces; keep printable bytes. */
    size_t n = strlen(g_name);
    while (n && g_name[n - 1] == ' ')
        g_name[--n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (g_name[i] < 0x20 || g_name[i] > 0x7e)
            g_name[i] = '?';
    g_result = n ? g_name : "unknown";
}
#else
static void probe(void)
{
    g_result = NULL;
}
#endif

const char *nf_hypervisor(void)
{
    pthread_once(&g_once, probe);
    return g_result;
}

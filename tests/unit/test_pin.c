/* test_pin: binding the calling thread to each PU reads back that PU, and
 * the kernel agrees (sched_getcpu runs us on the PU's OS number); bad PUs
 * are refused with a message; thread indices wrap from the base PU; a
 * thread's binding is its own, not the process's. */
#include "../common/check.h"
#include "notfree/pin.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

static int npus;

/* The OS number in "PU L#a (P#b)", or -1. */
static int os_index_of(const char *desc, int *logical)
{
    int l, p;
    if (sscanf(desc, "PU L#%d (P#%d)", &l, &p) != 2)
        return -1;
    *logical = l;
    return p;
}

static void test_init(void)
{
    char err[160] = "";
    CHECK(nf_pin_init(err, sizeof err) == 0, "nf_pin_init: %s", err);
    npus = nf_pin_pu_count();
    CHECK(npus >= 1, "pu count %d", npus);
    CHECK(npus <= sysconf(_SC_NPROCESSORS_CONF), "more PUs (%d) than CPUs", npus);
    CHECK(nf_pin_default_pu() == npus - 1, "default PU %d", nf_pin_default_pu());
    CHECK(nf_pin_base() == npus - 1, "base before set: %d", nf_pin_base());
}

static void test_each_pu(void)
{
    for (int pu = 0; pu < npus; pu++) {
        char err[160] = "", desc[128] = "";
        CHECK(nf_pin_thread_to(pu, err, sizeof err) == 0, "bind PU %d: %s", pu, err);
        int got = nf_pin_current(desc, sizeof desc);
        CHECK(got == pu, "bound to %d, read back %d (%s)", pu, got, desc);
        int logical = -1, os = os_index_of(desc, &logical);
        CHECK(os >= 0 && logical == pu, "desc \"%s\"", desc);
        sched_yield();
        CHECK(sched_getcpu() == os, "running on cpu %d, bound to P#%d", sched_getcpu(), os);
        cpu_set_t set;
        CHECK(sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1 && CPU_ISSET((size_t)os, &set),
              "kernel affinity is not exactly P#%d", os);
        printf("PU %d: %s\n", pu, desc);
    }
}

static void test_out_of_range(void)
{
    char err[160] = "", desc[128];
    int before = nf_pin_current(desc, sizeof desc);
    CHECK(nf_pin_thread_to(npus, err, sizeof err) == -1, "PU %d accepted", npus);
    CHECK(err[0] != '\0', "no message for PU %d", npus);
    printf("out of range: %s\n", err);
    err[0] = '\0';
    CHECK(nf_pin_thread_to(-1, err, sizeof err) == -1 && err[0], "PU -1 accepted");
    CHECK(nf_pin_current(desc, sizeof desc) == before, "a refused bind changed the binding");
    err[0] = '\0';
    CHECK(nf_pin_set_base(npus, err, sizeof err) == -1 && err[0], "base %d accepted", npus);
    CHECK(nf_pin_set_base(-5, err, sizeof err) == -1, "base -5 accepted");
    CHECK(nf_pin_base() == npus - 1, "a refused base changed the base to %d", nf_pin_base());
}

static void test_wrap(void)
{
    char err[160];
    for (int base = 0; base < npus; base++) {
        CHECK(nf_pin_set_base(base, err, sizeof err) == 0, "set base %d: %s", base, err);
        CHECK(nf_pin_base() == base, "base %d", nf_pin_base());
        for (int i = 0; i < 3 * npus; i++)
            CHECK(nf_pin_pu_for_thread(i) == (base + i) % npus, "base %d thread %d -> %d", base, i,
                  nf_pin_pu_for_thread(i));
        CHECK(nf_pin_pu_for_thread(npus) == base, "wrap");
        CHECK(nf_pin_thread(1, err, sizeof err) == 0, "nf_pin_thread(1): %s", err);
        CHECK(nf_pin_current(NULL, 0) == (base + 1) % npus, "thread 1 of base %d", base);
    }
    nf_pin_set_base(nf_pin_default_pu(), err, sizeof err);
}

static int other_pu = -1;
static void *other_thread(void *arg)
{
    (void)arg;
    char err[160];
    if (nf_pin_thread_to(npus - 1, err, sizeof err) == 0)
        other_pu = nf_pin_current(NULL, 0);
    return NULL;
}

static void test_thread_binding_is_per_thread(void)
{
    char err[160];
    if (npus < 2) {
        printf("one PU: skipped\n");
        return;
    }
    CHECK(nf_pin_thread_to(0, err, sizeof err) == 0, "%s", err);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, other_thread, NULL) == 0, "pthread_create");
    pthread_join(t, NULL);
    CHECK(other_pu == npus - 1, "other thread read back %d", other_pu);
    CHECK(nf_pin_current(NULL, 0) == 0, "main thread moved to %d", nf_pin_current(NULL, 0));
}

static void test_unbound(void)
{
    /* Bound to every PU: not one PU, so -1 and the cpuset in desc. */
    if (npus < 2)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    for (size_t i = 0; i < CPU_SETSIZE; i++)
        CPU_SET(i, &set);
    sched_setaffinity(0, sizeof set, &set);
    char desc[128] = "";
    CHECK(nf_pin_current(desc, sizeof desc) == -1, "unbound thread read back as one PU");
    CHECK(strncmp(desc, "cpuset ", 7) == 0, "desc \"%s\"", desc);
    printf("unbound: %s\n", desc);
}

static void test_topology_json(void)
{
    char buf[4096];
    size_t n = nf_pin_topology_json(buf, sizeof buf);
    CHECK(n > 0 && n < sizeof buf, "length %zu", n);
    json_t *t = json_loads(buf, 0, NULL);
    CHECK(t != NULL, "not JSON: %s", buf);
    CHECK(json_integer_value(json_object_get(t, "pus")) == npus, "pus is not %d in %s", npus, buf);
    json_t *ps = json_object_get(t, "page_sizes_kib");
    CHECK(json_integer_value(json_array_get(ps, 0)) == 4, "no 4 KiB page first in %s", buf);
    json_decref(t);
    /* truncation: snprintf-like */
    char small[16];
    CHECK(nf_pin_topology_json(small, sizeof small) == n, "needed length");
    CHECK(strlen(small) == sizeof small - 1, "truncated text not terminated");
}

int main(void)
{
    TEST(test_init);
    if (npus < 1)
        return check_done();
    TEST(test_each_pu);
    TEST(test_out_of_range);
    TEST(test_wrap);
    TEST(test_thread_binding_is_per_thread);
    TEST(test_unbound);
    TEST(test_topology_json);
    return check_done();
}

/*
 * Where the release threads run.
 *
 * Both directions' release threads on one CPU: they hand packets to each other (arming each other's
 * timer) and their writes wake each other's peers, and on a VM a cross-CPU wake-up costs more than
 * the work (here 8.3 % of a core pinned against 10.9 % spread, at 20 Mbit/s). But two SCHED_FIFO
 * threads busy on one CPU keep that CPU's softirq thread from running, and other programs' packets
 * wait, and a stall of that one CPU holds both directions. QOELAB_RELEASE_CPU (always set by the
 * emulator's parent; "none" unless asked) says which:
 *   "auto": one CPU (where the first thread started) while each thread keeps it busy less
 *     than PIN_LEAVE_SHARE, measured every PIN_CHECK_US; above that the thread spreads over all the
 *     CPUs it was allowed, and it comes back below PIN_RETURN_SHARE;
 *   a CPU number: always that CPU; anything else: the scheduler places them. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "release-cpu.h"

static pthread_mutex_t pin_mu = PTHREAD_MUTEX_INITIALIZER;
static int pin_cpu = -1;     /* auto: the CPU the first release thread found itself on */
static cpu_set_t pin_spread; /* the CPUs the process was allowed, to spread over again */

static void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

static double thread_cpu_us(void) { return clock_us(CLOCK_THREAD_CPUTIME_ID); }

void pin_start(pin_t *p) {
  memset(p, 0, sizeof *p);
  const char *want = getenv("QOELAB_RELEASE_CPU");
  if (!want) return; /* the addon outside the emulator process: the scheduler places them */
  if (strcmp(want, "auto") == 0) {
    pthread_mutex_lock(&pin_mu);
    if (pin_cpu < 0) {
      CPU_ZERO(&pin_spread);
      if (sched_getaffinity(0, sizeof pin_spread, &pin_spread) == 0 && CPU_COUNT(&pin_spread) > 1) pin_cpu = sched_getcpu();
    }
    int cpu = pin_cpu;
    pthread_mutex_unlock(&pin_mu);
    if (cpu < 0) return; /* one CPU only: nothing to choose */
    p->mode = PIN_AUTO;
    pin_to(cpu);
    p->pinned = 1;
    p->check_wall = clock_us(CLOCK_MONOTONIC);
    p->check_cpu = thread_cpu_us();
    return;
  }
  char *end = NULL;
  long cpu = strtol(want, &end, 10);
  if (*want && end && *end == '\0' && cpu >= 0 && cpu < CPU_SETSIZE) {
    p->mode = PIN_FIXED;
    pin_to((int)cpu);
    p->pinned = 1;
  }
}

void pin_adapt(pin_t *p) {
  double wall = clock_us(CLOCK_MONOTONIC);
  double cpu = thread_cpu_us();
  double share = (cpu - p->check_cpu) / (wall - p->check_wall);
  p->check_wall = wall;
  p->check_cpu = cpu;
  if (p->pinned && share > PIN_LEAVE_SHARE) {
    sched_setaffinity(0, sizeof pin_spread, &pin_spread);
    p->pinned = 0;
  } else if (!p->pinned && share < PIN_RETURN_SHARE) {
    pin_to(pin_cpu);
    p->pinned = 1;
  }
}

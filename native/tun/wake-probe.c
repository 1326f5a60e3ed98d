/*
 * qoelab_wake_probe: the timer wake-up cost probe, an N-API addon of its own built beside qoelab_tun.
 * A benchmark instrument, not part of the emulator: bench/link-emulator.ts prints this machine's floor
 * with it, and link-emulator.test.ts runs it as a control for CPU stalls.
 *
 *   timerWakeCost(count, periodUs, priority) -> [CPU µs per wake-up, mean, p99 and max lateness µs]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "clock.h"
#include "napi-util.h"

/* timerWakeCost(count, periodUs, priority) -> [CPU µs per wake-up, mean, p99 and max lateness µs]: a thread
 * sleeps `count` times for `periodUs` the way a release thread does (timerfd + poll, slack 1 ns,
 * SCHED_FIFO when `priority` > 0 and allowed). It is this machine's floor for one on-time release. */
typedef struct {
  int count, prio;
  double period_us, cpu_us, mean_late, p99_late, max_late;
} wake_probe_t;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void *wake_probe_main(void *arg) {
  wake_probe_t *p = arg;
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  if (p->prio > 0) {
    struct sched_param sp;
    memset(&sp, 0, sizeof sp);
    sp.sched_priority = p->prio;
    sched_setscheduler(0, SCHED_FIFO, &sp);
  }
  double *late = malloc(sizeof(double) * (size_t)p->count);
  if (!late) return NULL;
  struct rusage r0, r1;
  getrusage(RUSAGE_THREAD, &r0);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  for (int i = 0; i < p->count && tfd >= 0; i++) {
    double due = clock_us(CLOCK_MONOTONIC) + p->period_us;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value = deadline_timespec(due);
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    struct pollfd fd = {tfd, POLLIN, 0};
    poll(&fd, 1, -1);
    uint64_t expirations;
    ssize_t got = read(tfd, &expirations, sizeof expirations);
    (void)got;
    late[i] = clock_us(CLOCK_MONOTONIC) - due;
  }
  if (tfd >= 0) close(tfd);
  getrusage(RUSAGE_THREAD, &r1);
  double used = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1e6 +
                (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
  double sum = 0;
  for (int i = 0; i < p->count; i++) sum += late[i];
  qsort(late, (size_t)p->count, sizeof(double), cmp_double);
  p->cpu_us = used / p->count;
  p->mean_late = sum / p->count;
  p->p99_late = late[(int)((p->count - 1) * 0.99)];
  p->max_late = late[p->count - 1];
  free(late);
  return NULL;
}

static napi_value TimerWakeCost(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t count, prio;
  double period;
  if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], &count) ||
      napi_get_value_double(env, argv[1], &period) != napi_ok || !get_i32(env, argv[2], &prio))
    return NULL;
  if (count < 1 || count > 1000000 || !(period > 0 && period < 1e6)) {
    napi_throw_range_error(env, NULL, "timerWakeCost: count 1..1e6, periodUs in (0, 1e6)");
    return NULL;
  }
  wake_probe_t probe = {count, prio, period, 0, 0, 0, 0};
  pthread_t t;
  if (pthread_create(&t, NULL, wake_probe_main, &probe) != 0) return make_int(env, -errno);
  pthread_join(t, NULL);
  napi_value out, v;
  napi_create_array_with_length(env, 4, &out);
  napi_create_double(env, probe.cpu_us, &v);
  napi_set_element(env, out, 0, v);
  napi_create_double(env, probe.mean_late, &v);
  napi_set_element(env, out, 1, v);
  napi_create_double(env, probe.p99_late, &v);
  napi_set_element(env, out, 2, v);
  napi_create_double(env, probe.max_late, &v);
  napi_set_element(env, out, 3, v);
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"timerWakeCost", NULL, TimerWakeCost, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

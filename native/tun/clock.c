/* The clocks JS reads, and the calling thread's timer slack and scheduling. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>

#include "clock.h"
#include "napi-util.h"
#include "tun.h"

napi_value NowUs(napi_env env, napi_callback_info info) { return make_double(env, clock_us(CLOCK_MONOTONIC)); }

napi_value RealtimeUs(napi_env env, napi_callback_info info) {
  return make_double(env, clock_us(CLOCK_REALTIME));
}

/* setTimerSlack(ns): this thread's timer slack (Linux defaults to 50 µs, which timerfd deadlines inherit). */
napi_value SetTimerSlack(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t ns;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &ns)) return NULL;
  return make_int(env, prctl(PR_SET_TIMERSLACK, (unsigned long)(ns > 0 ? ns : 1), 0, 0, 0) < 0 ? -errno : 0);
}

/* setRealtime(priority): SCHED_FIFO for the calling thread (0 = back to SCHED_OTHER); 0 or -errno.
 * A shared machine's load would otherwise delay deadlines by whole scheduler slices. */
napi_value SetRealtime(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t prio;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &prio)) return NULL;
  struct sched_param sp;
  memset(&sp, 0, sizeof sp);
  sp.sched_priority = prio;
  return make_int(env, sched_setscheduler(0, prio > 0 ? SCHED_FIFO : SCHED_OTHER, &sp) < 0 ? -errno : 0);
}

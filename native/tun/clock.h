/* Clocks in µs as doubles (what JS sees) and timerfd deadlines; inline, for the release threads'
 * hot loops. */
#ifndef QOELAB_CLOCK_H
#define QOELAB_CLOCK_H

#include <time.h>

static inline double clock_us(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Absolute CLOCK_MONOTONIC µs as a timerfd deadline. A deadline already past still fires: zero would
 * disarm the timer, so it becomes 1 ns. */
static inline struct timespec deadline_timespec(double at_us) {
  struct timespec ts;
  ts.tv_sec = (time_t)(at_us / 1e6);
  ts.tv_nsec = (long)((at_us - (double)ts.tv_sec * 1e6) * 1e3);
  if (ts.tv_nsec >= 1000000000L) ts.tv_nsec = 999999999L;
  if (ts.tv_sec == 0 && ts.tv_nsec == 0) ts.tv_nsec = 1;
  return ts;
}

#endif

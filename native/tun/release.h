/*
 * What the release threads (sender.c), the readers of arrivals (reader.c), their registry
 * (registry.c) and the decisions in C (fast-path.c) share. Locks, outermost first: a sender's `mu`,
 * a reader's `mu`, a sender's `inner`; the registry's lock is taken before any of them.
 */
#ifndef QOELAB_RELEASE_H
#define QOELAB_RELEASE_H

#include <node_api.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  double due;
  uint64_t order; /* ties keep the order JS handed packets over */
  int32_t slot;
  int32_t len;
} due_t;

typedef struct {
  int32_t slot;
  int32_t result;
  double at;
} done_t;

/* The state of a direction decided in C (fast-path.c). */
typedef struct fast fast_t;

typedef struct sender {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_mutex_t inner; /* innermost lock: the timer (armed) and the hand-over of C decisions */
  fast_t *fast;          /* this direction's packets are decided in C (set once, before use) */
  struct reader *fast_reader;
  napi_env env;
  napi_ref pool_ref;
  uint8_t *pool;
  size_t pool_len;
  int32_t slot_size;
  int fd_out;
  int tfd;
  int cap;
  due_t *heap;
  int heap_n;
  uint64_t order;
  done_t *done;
  int done_head, done_n;
  double armed; /* wake-up the timerfd is set for, 0 = none (under inner) */
  uint64_t arm_gen; /* bumped by every arming (under inner) */
  double spin_us;
  int prio;
  int realtime_ok;
  int stop;
  int running;
  double wakeups, spins;
  struct reader *reader; /* arrivals on fd_out for the other direction's worker (under mu) */
} sender_t;

typedef struct reader {
  pthread_mutex_t mu;
  int fd;      /* the TUN read */
  int efd;     /* eventfd the worker watches */
  int cap;     /* staged packets */
  int slot_size;
  uint8_t *ring;
  int32_t *lens;
  double *stamps;
  int head, n;
  double window_us;
  int notified;
  struct sender *target; /* decides here for this release thread (its fast state), or NULL: stage */
} reader_t;

/* sender.c */
void heap_push(sender_t *s, due_t v);
due_t heap_pop(sender_t *s);
/* Arms the timerfd for absolute µs `at` (> 0); caller holds `inner`. */
void sender_arm_locked(sender_t *s, double at);
void sender_arm(sender_t *s, double at);
sender_t *get_sender(napi_env env, napi_value v);

/* reader.c */
double reader_poll(reader_t *r);
int reader_full(reader_t *r);
void reader_finalize(napi_env env, void *data, void *hint);
reader_t *get_reader(napi_env env, napi_value v);

/* registry.c: links the release thread writing to a TUN with the reader of that TUN, in either order. */
void registry_link(int fd, sender_t *s, reader_t *r);
void registry_unlink(sender_t *s, reader_t *r);
void registry_poke(reader_t *r);

/* fast-path.c (see there); each takes the locks it needs, unless said otherwise. */
void fast_poll(reader_t *r);
void fast_take(sender_t *s);
void fast_written(sender_t *s, const due_t *batch, const double *at, const int32_t *result, int n);
int fast_inbox_waiting(const fast_t *f);
void fast_stop(sender_t *s);
int fast_event_fd(const fast_t *f);
double fast_log_lost(const fast_t *f);
void fast_free(fast_t *f);

#endif

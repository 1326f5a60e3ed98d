/*
 * The release thread ("sender"): a direction's delay line.
 *
 * The delay line lives in C on its own thread: JS decides each packet's fate and departure time once
 * (on arrival, or when it enters the rate server) and hands it over; this thread sleeps on a timerfd
 * armed with the absolute CLOCK_MONOTONIC deadline of the earliest packet (timer slack 1 ns, SCHED_FIFO),
 * writes every packet that is due, and reports what it wrote. A JS event loop wake-up costs tens of µs
 * of CPU and adds its own jitter; this thread's costs a few µs, so no busy-wait is needed to be on time.
 * spinUs (default 0) still lets it wake that early and spin, for machines with slow timer wake-ups.
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
#include <sys/timerfd.h>
#include <unistd.h>

#include "clock.h"
#include "napi-util.h"
#include "release-cpu.h"
#include "release.h"
#include "tun.h"

static int due_before(const due_t *a, const due_t *b) { return a->due < b->due || (a->due == b->due && a->order < b->order); }

void heap_push(sender_t *s, due_t v) {
  int i = s->heap_n++;
  while (i > 0) {
    int p = (i - 1) / 2;
    if (!due_before(&v, &s->heap[p])) break;
    s->heap[i] = s->heap[p];
    i = p;
  }
  s->heap[i] = v;
}

due_t heap_pop(sender_t *s) {
  due_t top = s->heap[0];
  due_t last = s->heap[--s->heap_n];
  int n = s->heap_n, i = 0;
  if (n > 0) {
    for (;;) {
      int l = 2 * i + 1;
      if (l >= n) break;
      int m = (l + 1 < n && due_before(&s->heap[l + 1], &s->heap[l])) ? l + 1 : l;
      if (!due_before(&s->heap[m], &last)) break;
      s->heap[i] = s->heap[m];
      i = m;
    }
    s->heap[i] = last;
  }
  return top;
}

/* Arms the timerfd for absolute µs `at` (> 0); caller holds `inner`. */
void sender_arm_locked(sender_t *s, double at) {
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  if (at < 1e-3) at = 1e-3;
  its.it_value = deadline_timespec(at);
  timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL);
  s->armed = at;
  s->arm_gen++;
}

void sender_arm(sender_t *s, double at) {
  pthread_mutex_lock(&s->inner);
  sender_arm_locked(s, at);
  pthread_mutex_unlock(&s->inner);
}


#define SENDER_BATCH 64

static void *sender_main(void *arg) {
  sender_t *s = arg;
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  prctl(PR_SET_NAME, "qoelab-release", 0, 0, 0); /* tells it apart in top, perf and /proc */
  pin_t pin;
  pin_start(&pin);
  due_t batch[SENDER_BATCH];
  double at[SENDER_BATCH];
  int32_t result[SENDER_BATCH];
  pthread_mutex_lock(&s->mu);
  for (;;) {
    if (s->stop) break;
    if (s->fast) fast_take(s);
    double now = clock_us(CLOCK_MONOTONIC);
    if (pin.mode == PIN_AUTO && now - pin.check_wall >= PIN_CHECK_US) pin_adapt(&pin);
    int n = 0;
    while (n < SENDER_BATCH && s->heap_n > 0 && s->heap[0].due <= now) batch[n++] = heap_pop(s);
    if (n > 0) {
      pthread_mutex_unlock(&s->mu);
      for (int i = 0; i < n; i++) {
        size_t off = (size_t)batch[i].slot * (size_t)s->slot_size;
        at[i] = clock_us(CLOCK_MONOTONIC);
        ssize_t w;
        do w = write(s->fd_out, s->pool + off, (size_t)batch[i].len);
        while (w < 0 && errno == EINTR);
        result[i] = w < 0 ? -errno : (int32_t)w;
      }
      pthread_mutex_lock(&s->mu);
      if (s->fast) {
        /* Decided in C: logged there, and the slot taken back (the worker sees only the log). */
        fast_written(s, batch, at, result, n);
        continue;
      }
      for (int i = 0; i < n; i++) {
        done_t *d = &s->done[(s->done_head + s->done_n++) % s->cap];
        d->slot = batch[i].slot;
        d->result = result[i];
        d->at = at[i];
      }
      continue;
    }
    /* Nothing due: take the answers the writes provoked, then sleep until the next deadline (a release
     * or the reader's window) or until the TUN has something to read. */
    reader_t *r = s->reader;
    double notify_at = 0;
    if (r && r->target) fast_poll(r);
    else if (r) notify_at = reader_poll(r);
    double wake = 0;
    if (s->heap_n > 0) {
      double due = s->heap[0].due;
      wake = due - s->spin_us;
      if (wake <= now) {
        /* Closer than a wake-up is worth: wait here (the lock is free for JS meanwhile). */
        s->spins++;
        pthread_mutex_unlock(&s->mu);
        while (clock_us(CLOCK_MONOTONIC) < due) {
        }
        pthread_mutex_lock(&s->mu);
        continue;
      }
    }
    if (notify_at > 0 && (wake == 0 || notify_at < wake)) wake = notify_at;
    pthread_mutex_lock(&s->inner);
    if (s->fast && fast_inbox_waiting(s->fast)) {
      /* Handed over since fast_take: into the heap before choosing when to wake. */
      pthread_mutex_unlock(&s->inner);
      continue;
    }
    /* The timer is set outside `inner` (a timerfd_settime may exit to the hypervisor, and the reading
     * thread would wait for the lock meanwhile); whoever arms it for an earlier time in between bumps
     * arm_gen, and then the earlier time is set again. */
    if (s->armed != wake) {
      s->armed = wake;
      uint64_t gen = ++s->arm_gen;
      pthread_mutex_unlock(&s->inner);
      struct itimerspec its;
      memset(&its, 0, sizeof its);
      if (wake > 0) its.it_value = deadline_timespec(wake);
      timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL);
      pthread_mutex_lock(&s->inner);
      if (s->arm_gen != gen && s->armed != 0) sender_arm_locked(s, s->armed);
    }
    pthread_mutex_unlock(&s->inner);
    struct pollfd fds[2] = {{s->tfd, POLLIN, 0}, {-1, POLLIN, 0}};
    if (r && (r->target || !reader_full(r))) fds[1].fd = s->fd_out;
    pthread_mutex_unlock(&s->mu);
    int ready = poll(fds, 2, -1);
    pthread_mutex_lock(&s->mu);
    if (ready > 0 && (fds[0].revents & POLLIN)) {
      uint64_t expirations;
      ssize_t got = read(s->tfd, &expirations, sizeof expirations);
      (void)got;
      s->wakeups++;
      pthread_mutex_lock(&s->inner);
      s->armed = 0; /* expired (or re-armed by JS or a reading thread: re-armed below either way) */
      pthread_mutex_unlock(&s->inner);
    }
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

static void sender_join(sender_t *s) {
  if (!s->running) return;
  pthread_mutex_lock(&s->mu);
  s->stop = 1;
  sender_arm(s, 1e-3); /* long past: fires at once */
  pthread_mutex_unlock(&s->mu);
  pthread_join(s->thread, NULL);
  s->running = 0;
}

static void sender_cleanup_hook(void *arg) { sender_join((sender_t *)arg); }

static void sender_finalize(napi_env env, void *data, void *hint) {
  sender_t *s = data;
  registry_unlink(s, NULL);
  /* The thread deciding for this one (the other direction's) must let go before the memory does. */
  if (s->fast_reader) {
    registry_unlink(NULL, s->fast_reader);
    s->fast_reader->target = NULL;
  }
  sender_join(s);
  napi_remove_env_cleanup_hook(env, sender_cleanup_hook, s);
  if (s->pool_ref) napi_delete_reference(env, s->pool_ref);
  close(s->tfd);
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->inner);
  fast_free(s->fast);
  free(s->heap);
  free(s->done);
  free(s);
}

/* sender(fd, pool, slotSize, realtimePrio, spinUs) -> handle */
napi_value Sender(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t fd, slot_size, prio;
  double spin;
  uint8_t *pool;
  size_t pool_len;
  if (!get_args(env, info, 5, argv) || !get_i32(env, argv[0], &fd) || !get_bytes(env, argv[1], &pool, &pool_len) ||
      !get_i32(env, argv[2], &slot_size) || !get_i32(env, argv[3], &prio))
    return NULL;
  if (napi_get_value_double(env, argv[4], &spin) != napi_ok || slot_size <= 0 || pool_len < (size_t)slot_size) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", "sender: bad slot size or spin");
    return NULL;
  }
  sender_t *s = calloc(1, sizeof *s);
  if (!s) {
    napi_throw_error(env, "QOELAB_TUN_NOMEM", "qoelab_tun: out of memory");
    return NULL;
  }
  s->env = env;
  s->pool = pool;
  s->pool_len = pool_len;
  s->slot_size = slot_size;
  s->fd_out = fd;
  s->cap = (int)(pool_len / (size_t)slot_size);
  s->spin_us = spin > 0 ? spin : 0;
  s->prio = prio;
  s->heap = calloc((size_t)s->cap, sizeof *s->heap);
  s->done = calloc((size_t)s->cap, sizeof *s->done);
  s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  pthread_mutex_init(&s->mu, NULL);
  pthread_mutex_init(&s->inner, NULL);
  /* The pool's memory must outlive the thread: hold the array until the handle is finalized. */
  if (!s->heap || !s->done || s->tfd < 0 || napi_create_reference(env, argv[1], 1, &s->pool_ref) != napi_ok) {
    if (s->tfd >= 0) close(s->tfd);
    free(s->heap);
    free(s->done);
    free(s);
    napi_throw_error(env, "QOELAB_TUN_SENDER", "qoelab_tun: cannot create the release thread");
    return NULL;
  }
  /* SCHED_FIFO from the start when allowed (a loaded machine would otherwise delay deadlines by whole
   * scheduler slices); without the privilege the thread runs at normal priority. */
  int started = -1;
  if (prio > 0) {
    pthread_attr_t attr;
    struct sched_param sp;
    memset(&sp, 0, sizeof sp);
    sp.sched_priority = prio;
    pthread_attr_init(&attr);
    pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
    pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
    pthread_attr_setschedparam(&attr, &sp);
    started = pthread_create(&s->thread, &attr, sender_main, s);
    pthread_attr_destroy(&attr);
    s->realtime_ok = started == 0;
  }
  if (started != 0) started = pthread_create(&s->thread, NULL, sender_main, s);
  if (started != 0) {
    napi_delete_reference(env, s->pool_ref);
    close(s->tfd);
    free(s->heap);
    free(s->done);
    free(s);
    napi_throw_error(env, "QOELAB_TUN_SENDER", "qoelab_tun: cannot start the release thread");
    return NULL;
  }
  s->running = 1;
  registry_link(fd, s, NULL);
  napi_add_env_cleanup_hook(env, sender_cleanup_hook, s);
  napi_value external;
  CHECK(napi_create_external(env, s, sender_finalize, NULL, &external));
  return external;
}

sender_t *get_sender(napi_env env, napi_value v) {
  return get_external(env, v, "qoelab_tun: expected a sender handle");
}

/* senderSchedule(h, slots:Int32Array, lengths:Int32Array, dueUs:Float64Array, count) -> count taken */
napi_value SenderSchedule(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t count;
  int32_t *slots, *lengths;
  size_t nslots, nlens, due_len;
  uint8_t *due_bytes;
  if (!get_args(env, info, 5, argv)) return NULL;
  sender_t *s = get_sender(env, argv[0]);
  if (!s || !get_i32_array(env, argv[1], &slots, &nslots) || !get_i32_array(env, argv[2], &lengths, &nlens) ||
      !get_bytes(env, argv[3], &due_bytes, &due_len) || !get_i32(env, argv[4], &count))
    return NULL;
  const double *due = (const double *)due_bytes;
  if ((size_t)count > nslots) count = (int32_t)nslots;
  if ((size_t)count > nlens) count = (int32_t)nlens;
  if ((size_t)count > due_len / sizeof(double)) count = (int32_t)(due_len / sizeof(double));
  int32_t taken = 0;
  pthread_mutex_lock(&s->mu);
  for (; taken < count && s->heap_n + s->done_n < s->cap; taken++) {
    int32_t slot = slots[taken], len = lengths[taken];
    if (slot < 0 || len < 0 || (size_t)(slot + 1) * (size_t)s->slot_size > s->pool_len || len > s->slot_size) break;
    due_t v = {due[taken], s->order++, slot, len};
    heap_push(s, v);
  }
  /* Wake the thread earlier if the new head is due before it planned to wake (or it sleeps unarmed). */
  if (s->heap_n > 0 && s->running) {
    double wake = s->heap[0].due - s->spin_us;
    pthread_mutex_lock(&s->inner);
    if (s->armed == 0 || wake < s->armed) sender_arm_locked(s, wake);
    pthread_mutex_unlock(&s->inner);
  }
  pthread_mutex_unlock(&s->mu);
  return make_int(env, taken);
}

/* senderDrain(h, slots:Int32Array, results:Int32Array, atUs:Float64Array) -> count */
napi_value SenderDrain(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t *slots, *results;
  size_t nslots, nres, at_len;
  uint8_t *at_bytes;
  if (!get_args(env, info, 4, argv)) return NULL;
  sender_t *s = get_sender(env, argv[0]);
  if (!s || !get_i32_array(env, argv[1], &slots, &nslots) || !get_i32_array(env, argv[2], &results, &nres) ||
      !get_bytes(env, argv[3], &at_bytes, &at_len))
    return NULL;
  double *at = (double *)at_bytes;
  size_t max = nslots < nres ? nslots : nres;
  if (max > at_len / sizeof(double)) max = at_len / sizeof(double);
  int32_t n = 0;
  pthread_mutex_lock(&s->mu);
  while ((size_t)n < max && s->done_n > 0) {
    done_t *d = &s->done[s->done_head];
    slots[n] = d->slot;
    results[n] = d->result;
    at[n] = d->at;
    n++;
    s->done_head = (s->done_head + 1) % s->cap;
    s->done_n--;
  }
  pthread_mutex_unlock(&s->mu);
  return make_int(env, n);
}

/* senderStop(h, slots:Int32Array) -> count of packets never written (their slots, in due order) */
napi_value SenderStop(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t *slots;
  size_t nslots;
  if (!get_args(env, info, 2, argv)) return NULL;
  sender_t *s = get_sender(env, argv[0]);
  if (!s || !get_i32_array(env, argv[1], &slots, &nslots)) return NULL;
  sender_join(s);
  int32_t n = 0;
  if (s->fast) {
    /* Decided in C, so logged there too: in flight at stop (the reader was stopped first). */
    fast_stop(s);
    return make_int(env, 0);
  }
  while ((size_t)n < nslots && s->heap_n > 0) slots[n++] = heap_pop(s).slot;
  return make_int(env, n);
}

/* senderInfo(h) -> [realtime ok (1/0), timer wake-ups, spins, log rows lost (decisions in C)] */
napi_value SenderInfo(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  sender_t *s = get_sender(env, argv[0]);
  if (!s) return NULL;
  pthread_mutex_lock(&s->mu);
  pthread_mutex_lock(&s->inner);
  double values[4] = {s->prio > 0 ? s->realtime_ok : 1, s->wakeups, s->spins, s->fast ? fast_log_lost(s->fast) : 0};
  pthread_mutex_unlock(&s->inner);
  pthread_mutex_unlock(&s->mu);
  napi_value out;
  CHECK(napi_create_array_with_length(env, 4, &out));
  for (uint32_t i = 0; i < 4; i++) napi_set_element(env, out, i, make_double(env, values[i]));
  return out;
}

/*
 * Decisions in C (the fast path): a second copy of the TypeScript pipeline's queue and rate decisions.
 *
 * For the simple spec (constant delay > 4 ms, optional constant rate, droptail queue; nothing random)
 * every decision follows from the arrival stamp alone: a FIFO server at a constant rate starts a packet
 * at max(arrival, the previous packet's end), and a packet waits in the queue until then. So the thread
 * that reads the TUN (the other direction's release thread, see reader.c) decides each packet on
 * reading it and hands it straight to this direction's release thread, which logs it when written; the
 * worker only collects log rows (every few thousand packets) and never wakes per packet.
 * The rules are the TypeScript pipeline's (link-emulator-pipeline.ts, -queue.ts, -rate.ts).
 *
 * Kept identical to the TypeScript by src/netlab/link-emulator/link-emulator-fast-path.test.ts: the
 * same packets through both, the same departure times and drops. Change both together.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "napi-util.h"
#include "release.h"
#include "tun.h"

struct fast {
  /* decisions: touched only by the thread reading the TUN, under the reader's lock */
  double delay_us, us_per_byte, limit_packets, limit_bytes, epoch_us;
  double last_done; /* when the server finishes the last admitted packet */
  double seq;
  double *wait_start; /* admitted packets whose service starts later (the queue), FIFO */
  int32_t *wait_len;
  int wait_head, wait_n, wait_cap;
  double wait_bytes;
  uint8_t *scratch; /* a packet read while no slot is free (dropped as no-buffer) */
  /* hand-over and log: shared with the release thread, under its `inner` lock */
  int32_t *free_slots;
  int free_n;
  due_t *inbox;
  int inbox_n;
  double *arrival, *seqs; /* per slot */
  double *log;            /* rows of LOG_STRIDE doubles (link-emulator-pipeline.ts) */
  int log_cap, log_head, log_n;
  double log_lost;
  int efd; /* readable when the log is an eighth full */
  int notified;
};

#define LOG_STRIDE 6

/* Appends a log row; caller holds the release thread's `inner`. Wakes the worker an eighth full. */
static void fast_log(fast_t *f, double seq, double arrival, double sched, double dep, double size, double code) {
  if (f->log_n == f->log_cap) {
    f->log_lost++;
    return;
  }
  double *row = f->log + (size_t)((f->log_head + f->log_n) % f->log_cap) * LOG_STRIDE;
  row[0] = seq;
  row[1] = arrival - f->epoch_us;
  row[2] = sched < 0 ? -1 : sched - f->epoch_us;
  row[3] = dep < 0 ? -1 : dep - f->epoch_us;
  row[4] = size;
  row[5] = code;
  f->log_n++;
  if (!f->notified && f->log_n * 8 >= f->log_cap) {
    uint64_t one = 1;
    ssize_t w = write(f->efd, &one, sizeof one);
    (void)w;
    f->notified = 1;
  }
}

/* Decides one arrival at `t` (µs) of `len` bytes as the pipeline would: its due time, or -1 when the
 * droptail queue is full. Only the thread reading the TUN calls this. */
static double fast_decide(fast_t *f, double t, int32_t len) {
  /* Packets whose service started by t have left the queue (the pipeline runs completions due by an
   * arrival's stamp before it). */
  while (f->wait_n > 0 && f->wait_start[f->wait_head] <= t) {
    f->wait_bytes -= f->wait_len[f->wait_head];
    f->wait_head = (f->wait_head + 1) % f->wait_cap;
    f->wait_n--;
  }
  double departure = t;
  if (f->us_per_byte > 0) {
    if (f->wait_n + 1 > f->limit_packets || f->wait_bytes + len > f->limit_bytes) return -1;
    double start = t > f->last_done ? t : f->last_done;
    /* The same arithmetic as ConstantRate.serve on epoch-relative time. */
    departure = f->epoch_us + ((start - f->epoch_us) + (double)len * f->us_per_byte);
    f->last_done = departure;
    if (start > t && f->wait_n < f->wait_cap) {
      int i = (f->wait_head + f->wait_n++) % f->wait_cap;
      f->wait_start[i] = start;
      f->wait_len[i] = len;
      f->wait_bytes += len;
    }
  }
  return departure + f->delay_us;
}

#define FAST_BATCH 16

/* Reads what waits in the TUN straight into free slots of the target release thread's pool, decides
 * each packet and hands it over (arming that thread's timer only if it is due before it would wake).
 * Caller holds its own sender's lock (which keeps the reader linked). */
void fast_poll(reader_t *r) {
  sender_t *t = r->target;
  fast_t *f = t->fast;
  pthread_mutex_lock(&r->mu);
  for (;;) {
    int32_t slots[FAST_BATCH], lens[FAST_BATCH];
    double stamps[FAST_BATCH], due[FAST_BATCH], seqs[FAST_BATCH];
    int have = 0, got = 0;
    pthread_mutex_lock(&t->inner);
    while (have < FAST_BATCH && f->free_n > 0) slots[have++] = f->free_slots[--f->free_n];
    pthread_mutex_unlock(&t->inner);
    while (got < FAST_BATCH) {
      uint8_t *buf = got < have ? t->pool + (size_t)slots[got] * (size_t)t->slot_size : f->scratch;
      ssize_t n = read(r->fd, buf, (size_t)t->slot_size);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      lens[got] = (int32_t)n;
      stamps[got] = clock_us(CLOCK_MONOTONIC);
      seqs[got] = f->seq++;
      due[got] = got < have ? fast_decide(f, stamps[got], lens[got]) : -2; /* -2: no buffer */
      got++;
    }
    double earliest = 0;
    pthread_mutex_lock(&t->inner);
    for (int i = 0; i < got; i++) {
      if (due[i] < 0) {
        fast_log(f, seqs[i], stamps[i], -1, -1, lens[i], due[i] == -2 ? 5 : 2);
        if (i < have) f->free_slots[f->free_n++] = slots[i];
        continue;
      }
      int32_t slot = slots[i];
      f->arrival[slot] = stamps[i];
      f->seqs[slot] = seqs[i];
      due_t v = {due[i], 0, slot, lens[i]};
      f->inbox[f->inbox_n++] = v;
      if (earliest == 0 || due[i] < earliest) earliest = due[i];
    }
    for (int i = got; i < have; i++) f->free_slots[f->free_n++] = slots[i];
    if (earliest > 0 && (t->armed == 0 || earliest < t->armed)) sender_arm_locked(t, earliest);
    pthread_mutex_unlock(&t->inner);
    if (got < FAST_BATCH) break;
  }
  pthread_mutex_unlock(&r->mu);
}

/* Moves packets decided by the reading thread into the heap; caller holds the lock. */
void fast_take(sender_t *s) {
  fast_t *f = s->fast;
  pthread_mutex_lock(&s->inner);
  for (int i = 0; i < f->inbox_n; i++) {
    due_t v = f->inbox[i];
    v.order = s->order++;
    heap_push(s, v);
  }
  f->inbox_n = 0;
  pthread_mutex_unlock(&s->inner);
}

void fast_free(fast_t *f) {
  if (!f) return;
  if (f->efd >= 0) close(f->efd);
  free(f->wait_start);
  free(f->wait_len);
  free(f->scratch);
  free(f->free_slots);
  free(f->inbox);
  free(f->arrival);
  free(f->seqs);
  free(f->log);
  free(f);
}

/* Logs the `n` packets the release thread just wrote (result: bytes or -errno, at[i] just before the
 * write) and takes their slots back. Caller holds the sender's `mu`. */
void fast_written(sender_t *s, const due_t *batch, const double *at, const int32_t *result, int n) {
  fast_t *f = s->fast;
  pthread_mutex_lock(&s->inner);
  for (int i = 0; i < n; i++) {
    int32_t slot = batch[i].slot;
    if (result[i] >= 0)
      fast_log(f, f->seqs[slot], f->arrival[slot], batch[i].due, at[i], batch[i].len, 0);
    else
      fast_log(f, f->seqs[slot], f->arrival[slot], -1, -1, batch[i].len, 6);
    f->free_slots[f->free_n++] = slot;
  }
  pthread_mutex_unlock(&s->inner);
}

/* Packets handed over since the last fast_take; caller holds the sender's `inner`. */
int fast_inbox_waiting(const fast_t *f) { return f->inbox_n > 0; }

/* After the release thread stopped (and the reader before it): logs what was in flight. */
void fast_stop(sender_t *s) {
  fast_t *f = s->fast;
  pthread_mutex_lock(&s->inner);
  for (int i = 0; i < f->inbox_n; i++) heap_push(s, f->inbox[i]);
  f->inbox_n = 0;
  while (s->heap_n > 0) {
    due_t v = heap_pop(s);
    fast_log(f, f->seqs[v.slot], f->arrival[v.slot], -1, -1, v.len, 7);
    f->free_slots[f->free_n++] = v.slot;
  }
  pthread_mutex_unlock(&s->inner);
}

int fast_event_fd(const fast_t *f) { return f->efd; }

/* Caller holds the sender's `inner`. */
double fast_log_lost(const fast_t *f) { return f->log_lost; }

/* readerFast(fd, sender, params:Float64Array, logRows) -> handle: arrivals on fd decided in C (see
 * above) for `sender`'s direction; params = [delayUs, usPerByte (0: no rate), limitPackets,
 * limitBytes, epochUs, slots]; the first `slots` slots of the sender's pool are its buffers. */
napi_value ReaderFast(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, log_rows;
  uint8_t *pbytes;
  size_t plen;
  if (!get_args(env, info, 4, argv) || !get_i32(env, argv[0], &fd)) return NULL;
  sender_t *t = get_sender(env, argv[1]);
  if (!t || !get_bytes(env, argv[2], &pbytes, &plen) || !get_i32(env, argv[3], &log_rows)) return NULL;
  const double *p = (const double *)pbytes;
  int slots = plen >= 6 * sizeof(double) ? (int)p[5] : 0;
  if (slots <= 0 || slots > t->cap || log_rows <= 0 || t->fast) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", "readerFast: bad parameters, or already deciding in C");
    return NULL;
  }
  reader_t *r = calloc(1, sizeof *r);
  fast_t *f = calloc(1, sizeof *f);
  if (f) {
    f->delay_us = p[0];
    f->us_per_byte = p[1];
    f->limit_packets = p[2];
    f->limit_bytes = p[3];
    f->epoch_us = p[4];
    f->wait_cap = slots;
    f->wait_start = calloc((size_t)slots, sizeof *f->wait_start);
    f->wait_len = calloc((size_t)slots, sizeof *f->wait_len);
    f->scratch = malloc((size_t)t->slot_size);
    f->free_slots = calloc((size_t)slots, sizeof *f->free_slots);
    f->inbox = calloc((size_t)slots, sizeof *f->inbox);
    f->arrival = calloc((size_t)slots, sizeof *f->arrival);
    f->seqs = calloc((size_t)slots, sizeof *f->seqs);
    f->log_cap = log_rows;
    f->log = calloc((size_t)log_rows * LOG_STRIDE, sizeof *f->log);
    f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }
  if (!r || !f || !f->wait_start || !f->wait_len || !f->scratch || !f->free_slots || !f->inbox || !f->arrival ||
      !f->seqs || !f->log || f->efd < 0) {
    fast_free(f);
    free(r);
    napi_throw_error(env, "QOELAB_TUN_READER", "qoelab_tun: cannot create the reader");
    return NULL;
  }
  /* Slots are handed out from the top: slot 0 first, as the pipeline does. */
  for (int i = 0; i < slots; i++) f->free_slots[i] = slots - 1 - i;
  f->free_n = slots;
  r->fd = fd;
  r->efd = -1;
  r->target = t;
  pthread_mutex_init(&r->mu, NULL);
  pthread_mutex_lock(&t->mu);
  pthread_mutex_lock(&t->inner);
  t->fast = f;
  t->fast_reader = r;
  pthread_mutex_unlock(&t->inner);
  pthread_mutex_unlock(&t->mu);
  registry_link(fd, NULL, r);
  napi_value external;
  CHECK(napi_create_external(env, r, reader_finalize, NULL, &external));
  return external;
}

/* readerLog(h, out:Float64Array) -> rows moved into out (LOG_STRIDE doubles each), oldest first */
napi_value ReaderLog(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint8_t *out_bytes;
  size_t out_len;
  if (!get_args(env, info, 2, argv)) return NULL;
  reader_t *r = get_reader(env, argv[0]);
  if (!r || !get_bytes(env, argv[1], &out_bytes, &out_len)) return NULL;
  sender_t *t = r->target;
  if (!t) return make_int(env, 0);
  fast_t *f = t->fast;
  double *out = (double *)out_bytes;
  int max = (int)(out_len / (LOG_STRIDE * sizeof(double)));
  uint64_t count;
  ssize_t got = read(f->efd, &count, sizeof count);
  (void)got;
  int n = 0;
  for (;;) {
    /* A few hundred rows per hold: the release threads take this lock on every packet. */
    pthread_mutex_lock(&t->inner);
    int stop = n + 256;
    while (n < max && n < stop && f->log_n > 0) {
      memcpy(out + (size_t)n * LOG_STRIDE, f->log + (size_t)f->log_head * LOG_STRIDE, LOG_STRIDE * sizeof(double));
      f->log_head = (f->log_head + 1) % f->log_cap;
      f->log_n--;
      n++;
    }
    int more = n < max && f->log_n > 0;
    if (!more) f->notified = 0;
    pthread_mutex_unlock(&t->inner);
    if (!more) break;
  }
  return make_int(env, n);
}

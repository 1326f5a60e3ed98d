/*
 * qoelab_tun: the smallest native surface the userspace link emulator needs, as an N-API addon.
 *
 *   openTun(name, netnsPath|null, mtu, device) -> fd | -errno  TUN (IFF_TUN|IFF_NO_PI), non-blocking,
 *                                                            created inside netnsPath via setns;
 *                                                            device is normally "/dev/net/tun"
 *   readBatch(fd, pool, slotSize, slots, lengths, max) -> count | -errno
 *                                                            reads up to max packets into pool slots
 *   write(fd, buf, offset, length)          -> bytes | -errno  never throws
 *   writeBatch(fd, buf, offsets, lengths, count) -> packets written (stops at the first error)
 *   close(fd), nowUs(), realtimeUs(), strerror(errno), setTimerSlack(ns), setRealtime(prio) (this thread)
 *   watch(fd, callback)                     -> handle        uv_poll on the calling thread's loop
 *   timer(callback)                         -> handle        timerfd (CLOCK_MONOTONIC) on that loop
 *   timerArm(handle, atUs)                                   absolute monotonic µs; 0 disarms
 *   unwatch(handle)                                          stops and frees a watch or a timer
 *   sender(fd, pool, slotSize, realtimePrio, spinUs)  -> handle  a release thread (see below)
 *   senderSchedule(h, slots, lengths, dueUs, count)          hands packets over, each to be written at dueUs
 *   senderDrain(h, slots, results, atUs) -> count            packets written since: bytes or -errno, time
 *   senderStop(h, slots) -> count                             joins the thread; slots never written
 *   senderInfo(h) -> [realtime ok, wake-ups, spins]
 *   reader(fd, windowUs, capacity, slotSize) -> handle      arrivals on fd, read by the release thread
 *                                                            that writes to fd (see "arrivals" below)
 *   readerEventFd(h) -> fd                                   readable when arrivals wait (watch it)
 *   readerDrain(h, pool, slotSize, slots, lengths, stampsUs, max) -> count   copies them into the pool
 *   readerStop(h)                                            the release thread stops reading for it
 *   readerFast(fd, sender, params, logRows) -> handle        like reader, but that thread also decides
 *                                                            each packet (simple specs, see "decisions in C")
 *   readerLog(h, out) -> rows                                log rows of the packets decided in C
 *
 * Why uv_poll on the JS thread rather than a reader thread: the per-packet decisions (loss models,
 * queues, delay) live in TypeScript and run on the event loop of the direction's worker; an epoll
 * wake-up of that loop costs one syscall, a hand-off from a private thread would cost a second wake-up
 * and a copy. timerfd gives the loop microsecond deadlines (libuv's own timers round to 1 ms).
 * The exception is a direction whose every delay is long (> 4 ms): the release thread that writes to
 * its TUN reads it too (most arrivals are answers to those writes, so need no wake-up of their own)
 * and hands them over in batches, one wake-up of the worker per few ms instead of one per packet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, "QOELAB_TUN_NAPI", "N-API call failed: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

static napi_value make_double(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", "qoelab_tun: missing arguments");
    return 0;
  }
  return 1;
}

static int get_i32(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", "qoelab_tun: expected a number");
    return 0;
  }
  return 1;
}

/* Bytes of a TypedArray (any element type) or Buffer. */
static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  napi_typedarray_type type;
  size_t length;
  void *ptr;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, &ab, &offset) != napi_ok) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", "qoelab_tun: expected a typed array");
    return 0;
  }
  size_t elem = 1;
  switch (type) {
    case napi_int16_array:
    case napi_uint16_array:
      elem = 2;
      break;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      elem = 4;
      break;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array:
      elem = 8;
      break;
    default:
      elem = 1;
  }
  *data = ptr;
  *len = length * elem;
  return 1;
}

static int get_i32_array(napi_env env, napi_value v, int32_t **data, size_t *count) {
  napi_typedarray_type type;
  size_t length;
  void *ptr;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, &ab, &offset) != napi_ok || type != napi_int32_array) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", "qoelab_tun: expected an Int32Array");
    return 0;
  }
  *data = ptr;
  *count = length;
  return 1;
}

static double clock_us(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Absolute CLOCK_MONOTONIC µs as a timerfd deadline. A deadline already past still fires: zero would
 * disarm the timer, so it becomes 1 ns. */
static struct timespec deadline_timespec(double at_us) {
  struct timespec ts;
  ts.tv_sec = (time_t)(at_us / 1e6);
  ts.tv_nsec = (long)((at_us - (double)ts.tv_sec * 1e6) * 1e3);
  if (ts.tv_nsec >= 1000000000L) ts.tv_nsec = 999999999L;
  if (ts.tv_sec == 0 && ts.tv_nsec == 0) ts.tv_nsec = 1;
  return ts;
}

static napi_value NowUs(napi_env env, napi_callback_info info) { return make_double(env, clock_us(CLOCK_MONOTONIC)); }

static napi_value RealtimeUs(napi_env env, napi_callback_info info) {
  return make_double(env, clock_us(CLOCK_REALTIME));
}

/* setTimerSlack(ns): this thread's timer slack (Linux defaults to 50 µs, which timerfd deadlines inherit). */
static napi_value SetTimerSlack(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t ns;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &ns)) return NULL;
  return make_int(env, prctl(PR_SET_TIMERSLACK, (unsigned long)(ns > 0 ? ns : 1), 0, 0, 0) < 0 ? -errno : 0);
}

/* setRealtime(priority): SCHED_FIFO for the calling thread (0 = back to SCHED_OTHER); 0 or -errno.
 * A shared machine's load would otherwise delay deadlines by whole scheduler slices. */
static napi_value SetRealtime(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t prio;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &prio)) return NULL;
  struct sched_param sp;
  memset(&sp, 0, sizeof sp);
  sp.sched_priority = prio;
  return make_int(env, sched_setscheduler(0, prio > 0 ? SCHED_FIFO : SCHED_OTHER, &sp) < 0 ? -errno : 0);
}

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

static napi_value StrError(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t e;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &e)) return NULL;
  napi_value out;
  const char *text = strerror(e < 0 ? -e : e);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &out);
  return out;
}

/* Sets MTU and IFF_UP on the device through an AF_INET socket of the current namespace. */
static int bring_up(const char *name, int mtu) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  int rc = 0;
  if (mtu > 0) {
    ifr.ifr_mtu = mtu;
    if (ioctl(s, SIOCSIFMTU, &ifr) < 0) rc = -errno;
  }
  if (rc == 0 && ioctl(s, SIOCGIFFLAGS, &ifr) < 0) rc = -errno;
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) rc = -errno;
  }
  close(s);
  return rc;
}

static int open_tun_here(const char *device, const char *name, int mtu) {
  int fd = open(device, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  int rc = bring_up(name, mtu);
  if (rc < 0) {
    close(fd);
    return rc;
  }
  return fd;
}

/* openTun(name, netnsPath | null, mtu, device) -> fd or -errno. */
static napi_value OpenTun(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  char name[IFNAMSIZ];
  size_t n;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &n) != napi_ok || n == 0 || n >= IFNAMSIZ - 1) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", "openTun: name must be 1-14 characters");
    return NULL;
  }
  char path[512] = {0};
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t == napi_string) napi_get_value_string_utf8(env, argv[1], path, sizeof path, &n);
  int32_t mtu;
  if (!get_i32(env, argv[2], &mtu)) return NULL;
  char device[256];
  if (napi_get_value_string_utf8(env, argv[3], device, sizeof device, &n) != napi_ok || n == 0) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", "openTun: device path expected");
    return NULL;
  }
  if (path[0] == 0) return make_int(env, open_tun_here(device, name, mtu));

  /* setns changes only this thread's namespace; we go in, create the device, and come straight back. */
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) return make_int(env, -errno);
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int e = errno;
    close(self);
    return make_int(env, -e);
  }
  int fd;
  if (setns(target, CLONE_NEWNET) < 0) {
    fd = -errno;
  } else {
    fd = open_tun_here(device, name, mtu);
    if (setns(self, CLONE_NEWNET) < 0) {
      /* Staying in the lab's namespace would silently misroute everything this thread does later. */
      abort();
    }
  }
  close(target);
  close(self);
  return make_int(env, fd);
}

static napi_value Close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &fd)) return NULL;
  return make_int(env, close(fd) < 0 ? -errno : 0);
}

/* readBatch(fd, pool, slotSize, slots:Int32Array, lengths:Int32Array, max) */
static napi_value ReadBatch(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  int32_t fd, slot_size, max;
  uint8_t *pool;
  size_t pool_len, nslots, nlens;
  int32_t *slots, *lengths;
  if (!get_args(env, info, 6, argv) || !get_i32(env, argv[0], &fd) || !get_bytes(env, argv[1], &pool, &pool_len) ||
      !get_i32(env, argv[2], &slot_size) || !get_i32_array(env, argv[3], &slots, &nslots) ||
      !get_i32_array(env, argv[4], &lengths, &nlens) || !get_i32(env, argv[5], &max))
    return NULL;
  if ((size_t)max > nslots) max = (int32_t)nslots;
  if ((size_t)max > nlens) max = (int32_t)nlens;
  int32_t count = 0;
  while (count < max) {
    int32_t slot = slots[count];
    size_t off = (size_t)slot * (size_t)slot_size;
    if (slot < 0 || off + (size_t)slot_size > pool_len) break;
    ssize_t got = read(fd, pool + off, (size_t)slot_size);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (count == 0) return make_int(env, -errno);
      break;
    }
    lengths[count++] = (int32_t)got;
  }
  return make_int(env, count);
}

static napi_value Write(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, offset, length;
  uint8_t *buf;
  size_t len;
  if (!get_args(env, info, 4, argv) || !get_i32(env, argv[0], &fd) || !get_bytes(env, argv[1], &buf, &len) ||
      !get_i32(env, argv[2], &offset) || !get_i32(env, argv[3], &length))
    return NULL;
  if (offset < 0 || length < 0 || (size_t)offset + (size_t)length > len) return make_int(env, -EINVAL);
  for (;;) {
    ssize_t n = write(fd, buf + offset, (size_t)length);
    if (n < 0 && errno == EINTR) continue;
    return make_int(env, n < 0 ? -errno : n);
  }
}

/* writeBatch(fd, buf, offsets, lengths, count) -> packets written before the first failure */
static napi_value WriteBatch(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t fd, count;
  uint8_t *buf;
  size_t len, noff, nlen;
  int32_t *offsets, *lengths;
  if (!get_args(env, info, 5, argv) || !get_i32(env, argv[0], &fd) || !get_bytes(env, argv[1], &buf, &len) ||
      !get_i32_array(env, argv[2], &offsets, &noff) || !get_i32_array(env, argv[3], &lengths, &nlen) ||
      !get_i32(env, argv[4], &count))
    return NULL;
  if ((size_t)count > noff) count = (int32_t)noff;
  if ((size_t)count > nlen) count = (int32_t)nlen;
  int32_t done = 0;
  while (done < count) {
    int32_t o = offsets[done], l = lengths[done];
    if (o < 0 || l < 0 || (size_t)o + (size_t)l > len) break;
    ssize_t n = write(fd, buf + o, (size_t)l);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    done++;
  }
  return make_int(env, done);
}

/* ---- event-loop integration ---------------------------------------------------------------- */

typedef struct watch {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int fd;
  int is_timer; /* owns fd (a timerfd) */
  int closing;
} watch_t;

static void watch_free(uv_handle_t *handle) {
  watch_t *w = (watch_t *)handle->data;
  if (w->is_timer) close(w->fd);
  free(w);
}

static void watch_close(watch_t *w) {
  if (w->closing) return;
  w->closing = 1;
  uv_poll_stop(&w->poll);
  if (w->callback) napi_delete_reference(w->env, w->callback);
  w->callback = NULL;
  if (w->context) napi_async_destroy(w->env, w->context);
  w->context = NULL;
  uv_close((uv_handle_t *)&w->poll, watch_free);
}

static void cleanup_hook(void *arg) { watch_close((watch_t *)arg); }

static void on_poll(uv_poll_t *handle, int status, int events) {
  watch_t *w = (watch_t *)handle->data;
  if (w->closing) return;
  if (w->is_timer) {
    uint64_t expirations;
    if (read(w->fd, &expirations, sizeof expirations) < 0 && errno == EAGAIN) return;
  }
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, args[2], result;
  if (napi_get_reference_value(env, w->callback, &cb) == napi_ok && cb != NULL) {
    napi_get_global(env, &recv); /* make_callback needs an object receiver */
    napi_create_int32(env, status, &args[0]);
    napi_create_int32(env, events, &args[1]);
    napi_status st = napi_make_callback(env, w->context, recv, cb, 2, args, &result);
    if (st == napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void finalize_nothing(napi_env env, void *data, void *hint) {}

static napi_value start_watch(napi_env env, int fd, int is_timer, napi_value callback) {
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  watch_t *w = calloc(1, sizeof *w);
  if (!w) {
    napi_throw_error(env, "QOELAB_TUN_NOMEM", "qoelab_tun: out of memory");
    return NULL;
  }
  w->env = env;
  w->fd = fd;
  w->is_timer = is_timer;
  napi_value name;
  napi_create_string_utf8(env, is_timer ? "qoelab:timer" : "qoelab:tun", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, callback, 1, &w->callback) != napi_ok ||
      napi_async_init(env, NULL, name, &w->context) != napi_ok || uv_poll_init(loop, &w->poll, fd) != 0) {
    if (is_timer) close(fd);
    free(w);
    napi_throw_error(env, "QOELAB_TUN_POLL", "qoelab_tun: cannot watch the descriptor");
    return NULL;
  }
  w->poll.data = w;
  uv_poll_start(&w->poll, UV_READABLE, on_poll);
  napi_add_env_cleanup_hook(env, cleanup_hook, w);
  napi_value external;
  CHECK(napi_create_external(env, w, finalize_nothing, NULL, &external));
  return external;
}

static watch_t *get_watch(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", "qoelab_tun: expected a watch handle");
    return NULL;
  }
  return (watch_t *)data;
}

static napi_value Watch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], &fd)) return NULL;
  return start_watch(env, fd, 0, argv[1]);
}

static napi_value Timer(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) {
    napi_throw_error(env, "QOELAB_TUN_TIMER", strerror(errno));
    return NULL;
  }
  return start_watch(env, fd, 1, argv[0]);
}

static napi_value TimerArm(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  double at_us;
  if (!get_args(env, info, 2, argv)) return NULL;
  watch_t *w = get_watch(env, argv[0]);
  if (!w) return NULL;
  if (napi_get_value_double(env, argv[1], &at_us) != napi_ok) return NULL;
  if (!w->is_timer || w->closing) return make_int(env, -EINVAL);
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  if (at_us > 0) its.it_value = deadline_timespec(at_us);
  if (timerfd_settime(w->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) return make_int(env, -errno);
  return make_int(env, 0);
}

static napi_value Unwatch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  watch_t *w = get_watch(env, argv[0]);
  if (!w) return NULL;
  if (!w->closing) {
    napi_remove_env_cleanup_hook(env, cleanup_hook, w);
    watch_close(w);
  }
  return make_int(env, 0);
}

/* ---- release thread ------------------------------------------------------------------------
 *
 * The delay line lives in C on its own thread: JS decides each packet's fate and departure time once
 * (on arrival, or when it enters the rate server) and hands it over; this thread sleeps on a timerfd
 * armed with the absolute CLOCK_MONOTONIC deadline of the earliest packet (timer slack 1 ns, SCHED_FIFO),
 * writes every packet that is due, and reports what it wrote. A JS event loop wake-up costs tens of µs
 * of CPU and adds its own jitter; this thread's costs a few µs, so no busy-wait is needed to be on time.
 * spinUs (default 0) still lets it wake that early and spin, for machines with slow timer wake-ups.
 */

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

/* ---- decisions in C ----------------------------------------------------------------------------
 *
 * For the simple spec (constant delay > 4 ms, optional constant rate, droptail queue; nothing random)
 * every decision follows from the arrival stamp alone: a FIFO server at a constant rate starts a packet
 * at max(arrival, the previous packet's end), and a packet waits in the queue until then. So the thread
 * that reads the TUN (the other direction's release thread, see "arrivals" below) decides each packet on
 * reading it and hands it straight to this direction's release thread, which logs it when written; the
 * worker only collects log rows (every few thousand packets) and never wakes per packet.
 * The rules are the TypeScript pipeline's (link-emulator-pipeline.ts, -queue.ts, -rate.ts).
 */
typedef struct fast {
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
} fast_t;

#define LOG_STRIDE 6

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

/* ---- arrivals read by the release thread ------------------------------------------------------
 *
 * Writing a packet into a TUN makes the host's stack answer at once (a TCP ACK, or the next data
 * segments an ACK releases), and the answer lands in the same TUN's read queue during the write. So the
 * release thread writing to a TUN also reads it, non-blocking, right after its writes (and when it
 * becomes readable while the thread sleeps), stamps each packet, and stages it for the worker of the
 * other direction, which it wakes (an eventfd) at most every windowUs. That worker still decides every
 * packet's fate from its stamp; it asks for this only when its smallest delay is well above windowUs.
 */
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

/* Links release threads and readers of one TUN (the fd one writes and the other reads). */
#define REGISTRY_MAX 64
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
  int fd;
  struct sender *sender;
  reader_t *reader;
} registry[REGISTRY_MAX];

static void reader_notify(reader_t *r) {
  if (r->notified) return;
  uint64_t one = 1;
  ssize_t w = write(r->efd, &one, sizeof one);
  (void)w;
  r->notified = 1;
}

/* Reads what waits in the TUN into the staging ring (non-blocking); notifies once the window is over
 * (on any wake-up of this thread: a release is due every fraction of a ms on a busy link) or the ring is
 * half full. Returns when this thread must wake only to notify, two windows after the first staged
 * packet (0: nothing pending). Caller holds the sender's lock (which keeps the reader linked). */
static double reader_poll(reader_t *r) {
  pthread_mutex_lock(&r->mu);
  while (r->n < r->cap) {
    int i = (r->head + r->n) % r->cap;
    ssize_t got = read(r->fd, r->ring + (size_t)i * (size_t)r->slot_size, (size_t)r->slot_size);
    if (got < 0) {
      if (errno == EINTR) continue;
      break;
    }
    r->lens[i] = (int32_t)got;
    r->stamps[i] = clock_us(CLOCK_MONOTONIC);
    r->n++;
  }
  double deadline = 0;
  if (r->n > 0 && !r->notified) {
    double first = r->stamps[r->head];
    if (r->n * 2 >= r->cap || clock_us(CLOCK_MONOTONIC) >= first + r->window_us)
      reader_notify(r);
    else
      deadline = first + 2 * r->window_us;
  }
  pthread_mutex_unlock(&r->mu);
  return deadline;
}

static int reader_full(reader_t *r) {
  pthread_mutex_lock(&r->mu);
  int full = r->n >= r->cap;
  pthread_mutex_unlock(&r->mu);
  return full;
}

static int due_before(const due_t *a, const due_t *b) { return a->due < b->due || (a->due == b->due && a->order < b->order); }

static void heap_push(sender_t *s, due_t v) {
  int i = s->heap_n++;
  while (i > 0) {
    int p = (i - 1) / 2;
    if (!due_before(&v, &s->heap[p])) break;
    s->heap[i] = s->heap[p];
    i = p;
  }
  s->heap[i] = v;
}

static due_t heap_pop(sender_t *s) {
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
static void sender_arm_locked(sender_t *s, double at) {
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  if (at < 1e-3) at = 1e-3;
  its.it_value = deadline_timespec(at);
  timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL);
  s->armed = at;
  s->arm_gen++;
}

static void sender_arm(sender_t *s, double at) {
  pthread_mutex_lock(&s->inner);
  sender_arm_locked(s, at);
  pthread_mutex_unlock(&s->inner);
}

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
static void fast_poll(reader_t *r) {
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
static void fast_take(sender_t *s) {
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

#define SENDER_BATCH 64

/* ---- where the release threads run ------------------------------------------------------------
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
#define PIN_NONE 0
#define PIN_FIXED 1
#define PIN_AUTO 2
#define PIN_CHECK_US 100000.0
#define PIN_LEAVE_SHARE 0.25
#define PIN_RETURN_SHARE 0.10

typedef struct {
  int mode, pinned;
  double check_wall, check_cpu;
} pin_t;

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

static void pin_start(pin_t *p) {
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

/* Auto mode, every PIN_CHECK_US: leaves the shared CPU when busy, comes back when idle again. */
static void pin_adapt(pin_t *p) {
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
        /* Decided in C: log here and take the slot back (the worker sees only the log). */
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
    if (s->fast && s->fast->inbox_n > 0) {
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

/* Registry: links the release thread writing to a TUN with the reader of that TUN, in either order. */
static void registry_link(int fd, sender_t *s, reader_t *r) {
  pthread_mutex_lock(&registry_mu);
  int slot = -1, empty = -1;
  for (int i = 0; i < REGISTRY_MAX; i++) {
    if ((registry[i].sender || registry[i].reader) && registry[i].fd == fd) slot = i;
    else if (!registry[i].sender && !registry[i].reader && empty < 0) empty = i;
  }
  if (slot < 0) slot = empty;
  if (slot >= 0) {
    registry[slot].fd = fd;
    if (s) registry[slot].sender = s;
    if (r) registry[slot].reader = r;
    sender_t *ls = registry[slot].sender;
    if (ls) {
      pthread_mutex_lock(&ls->mu);
      ls->reader = registry[slot].reader;
      if (ls->running) sender_arm(ls, 1e-3); /* re-evaluate at once: poll the TUN from now on */
      pthread_mutex_unlock(&ls->mu);
    }
  }
  pthread_mutex_unlock(&registry_mu);
}

/* Removes a release thread or a reader; the other side of the link stays registered. */
static void registry_unlink(sender_t *s, reader_t *r) {
  pthread_mutex_lock(&registry_mu);
  for (int i = 0; i < REGISTRY_MAX; i++) {
    if (s && registry[i].sender == s) registry[i].sender = NULL;
    if (r && registry[i].reader == r) {
      registry[i].reader = NULL;
      sender_t *ls = registry[i].sender;
      if (ls) {
        pthread_mutex_lock(&ls->mu);
        ls->reader = NULL;
        pthread_mutex_unlock(&ls->mu);
      }
    }
  }
  pthread_mutex_unlock(&registry_mu);
}

/* The reader's ring had filled (the release thread stopped polling the TUN): have it look again. */
static void registry_poke(reader_t *r) {
  pthread_mutex_lock(&registry_mu);
  for (int i = 0; i < REGISTRY_MAX; i++) {
    sender_t *ls = registry[i].sender;
    if (registry[i].reader == r && ls) {
      pthread_mutex_lock(&ls->mu);
      if (ls->running) sender_arm(ls, 1e-3);
      pthread_mutex_unlock(&ls->mu);
    }
  }
  pthread_mutex_unlock(&registry_mu);
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

static void fast_free(fast_t *f) {
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
static napi_value Sender(napi_env env, napi_callback_info info) {
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

static sender_t *get_sender(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", "qoelab_tun: expected a sender handle");
    return NULL;
  }
  return (sender_t *)data;
}

/* senderSchedule(h, slots:Int32Array, lengths:Int32Array, dueUs:Float64Array, count) -> count taken */
static napi_value SenderSchedule(napi_env env, napi_callback_info info) {
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
static napi_value SenderDrain(napi_env env, napi_callback_info info) {
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
static napi_value SenderStop(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t *slots;
  size_t nslots;
  if (!get_args(env, info, 2, argv)) return NULL;
  sender_t *s = get_sender(env, argv[0]);
  if (!s || !get_i32_array(env, argv[1], &slots, &nslots)) return NULL;
  sender_join(s);
  int32_t n = 0;
  if (s->fast) {
    /* Decided in C, so logged here too: in flight at stop (the reader was stopped first). */
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
    return make_int(env, 0);
  }
  while ((size_t)n < nslots && s->heap_n > 0) slots[n++] = heap_pop(s).slot;
  return make_int(env, n);
}

/* senderInfo(h) -> [realtime ok (1/0), timer wake-ups, spins, log rows lost (decisions in C)] */
static napi_value SenderInfo(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  sender_t *s = get_sender(env, argv[0]);
  if (!s) return NULL;
  pthread_mutex_lock(&s->mu);
  pthread_mutex_lock(&s->inner);
  double values[4] = {s->prio > 0 ? s->realtime_ok : 1, s->wakeups, s->spins, s->fast ? s->fast->log_lost : 0};
  pthread_mutex_unlock(&s->inner);
  pthread_mutex_unlock(&s->mu);
  napi_value out;
  CHECK(napi_create_array_with_length(env, 4, &out));
  for (uint32_t i = 0; i < 4; i++) napi_set_element(env, out, i, make_double(env, values[i]));
  return out;
}

/* ---- reader (arrivals staged by the release thread writing to the same TUN) ------------------ */

static void reader_finalize(napi_env env, void *data, void *hint) {
  reader_t *r = data;
  registry_unlink(NULL, r);
  if (r->target) r->target->fast_reader = NULL;
  close(r->efd);
  pthread_mutex_destroy(&r->mu);
  free(r->ring);
  free(r->lens);
  free(r->stamps);
  free(r);
}

/* reader(fd, windowUs, capacity, slotSize) -> handle */
static napi_value Reader(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, cap, slot_size;
  double window;
  if (!get_args(env, info, 4, argv) || !get_i32(env, argv[0], &fd) || !get_i32(env, argv[2], &cap) ||
      !get_i32(env, argv[3], &slot_size))
    return NULL;
  if (napi_get_value_double(env, argv[1], &window) != napi_ok || cap <= 0 || slot_size <= 0) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", "reader: bad window, capacity or slot size");
    return NULL;
  }
  reader_t *r = calloc(1, sizeof *r);
  if (!r) {
    napi_throw_error(env, "QOELAB_TUN_NOMEM", "qoelab_tun: out of memory");
    return NULL;
  }
  r->fd = fd;
  r->cap = cap;
  r->slot_size = slot_size;
  r->window_us = window;
  r->ring = malloc((size_t)cap * (size_t)slot_size);
  r->lens = calloc((size_t)cap, sizeof *r->lens);
  r->stamps = calloc((size_t)cap, sizeof *r->stamps);
  r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!r->ring || !r->lens || !r->stamps || r->efd < 0) {
    if (r->efd >= 0) close(r->efd);
    free(r->ring);
    free(r->lens);
    free(r->stamps);
    free(r);
    napi_throw_error(env, "QOELAB_TUN_READER", "qoelab_tun: cannot create the reader");
    return NULL;
  }
  pthread_mutex_init(&r->mu, NULL);
  registry_link(fd, NULL, r);
  napi_value external;
  CHECK(napi_create_external(env, r, reader_finalize, NULL, &external));
  return external;
}

static reader_t *get_reader(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", "qoelab_tun: expected a reader handle");
    return NULL;
  }
  return (reader_t *)data;
}

/* readerEventFd(h) -> the eventfd that turns readable when arrivals are staged */
static napi_value ReaderEventFd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  reader_t *r = get_reader(env, argv[0]);
  if (!r) return NULL;
  return make_int(env, r->target ? r->target->fast->efd : r->efd);
}

/* readerDrain(h, pool, slotSize, slots:Int32Array, lengths:Int32Array, stampsUs:Float64Array, max) -> count */
static napi_value ReaderDrain(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  int32_t slot_size, max;
  uint8_t *pool, *stamp_bytes;
  size_t pool_len, nslots, nlens, stamp_len;
  int32_t *slots, *lengths;
  if (!get_args(env, info, 7, argv)) return NULL;
  reader_t *r = get_reader(env, argv[0]);
  if (!r || !get_bytes(env, argv[1], &pool, &pool_len) || !get_i32(env, argv[2], &slot_size) ||
      !get_i32_array(env, argv[3], &slots, &nslots) || !get_i32_array(env, argv[4], &lengths, &nlens) ||
      !get_bytes(env, argv[5], &stamp_bytes, &stamp_len) || !get_i32(env, argv[6], &max))
    return NULL;
  double *stamps = (double *)stamp_bytes;
  if ((size_t)max > nslots) max = (int32_t)nslots;
  if ((size_t)max > nlens) max = (int32_t)nlens;
  if ((size_t)max > stamp_len / sizeof(double)) max = (int32_t)(stamp_len / sizeof(double));
  uint64_t count;
  ssize_t got = read(r->efd, &count, sizeof count);
  (void)got;
  int32_t n = 0;
  pthread_mutex_lock(&r->mu);
  int was_full = r->n >= r->cap;
  while (n < max && r->n > 0) {
    int32_t slot = slots[n];
    size_t off = (size_t)slot * (size_t)slot_size;
    if (slot < 0 || off + (size_t)slot_size > pool_len) break;
    int32_t len = r->lens[r->head];
    if (len > slot_size) len = slot_size;
    memcpy(pool + off, r->ring + (size_t)r->head * (size_t)r->slot_size, (size_t)len);
    lengths[n] = len;
    stamps[n] = r->stamps[r->head];
    n++;
    r->head = (r->head + 1) % r->cap;
    r->n--;
  }
  if (r->n == 0) r->notified = 0;
  else if (n == max) reader_notify(r); /* more to take: stay readable */
  pthread_mutex_unlock(&r->mu);
  if (was_full) registry_poke(r);
  return make_int(env, n);
}

/* readerFast(fd, sender, params:Float64Array, logRows) -> handle: arrivals on fd decided in C (see
 * "decisions in C") for `sender`'s direction; params = [delayUs, usPerByte (0: no rate), limitPackets,
 * limitBytes, epochUs, slots]; the first `slots` slots of the sender's pool are its buffers. */
static napi_value ReaderFast(napi_env env, napi_callback_info info) {
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
static napi_value ReaderLog(napi_env env, napi_callback_info info) {
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

/* readerStop(h): the release thread stops reading for it (staged packets stay for readerDrain). */
static napi_value ReaderStop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  reader_t *r = get_reader(env, argv[0]);
  if (!r) return NULL;
  registry_unlink(NULL, r);
  return make_int(env, 0);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"openTun", NULL, OpenTun, NULL, NULL, NULL, napi_default, NULL},
      {"readBatch", NULL, ReadBatch, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, Write, NULL, NULL, NULL, napi_default, NULL},
      {"writeBatch", NULL, WriteBatch, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_default, NULL},
      {"nowUs", NULL, NowUs, NULL, NULL, NULL, napi_default, NULL},
      {"realtimeUs", NULL, RealtimeUs, NULL, NULL, NULL, napi_default, NULL},
      {"setTimerSlack", NULL, SetTimerSlack, NULL, NULL, NULL, napi_default, NULL},
      {"setRealtime", NULL, SetRealtime, NULL, NULL, NULL, napi_default, NULL},
      {"strerror", NULL, StrError, NULL, NULL, NULL, napi_default, NULL},
      {"timerWakeCost", NULL, TimerWakeCost, NULL, NULL, NULL, napi_default, NULL},
      {"watch", NULL, Watch, NULL, NULL, NULL, napi_default, NULL},
      {"timer", NULL, Timer, NULL, NULL, NULL, napi_default, NULL},
      {"timerArm", NULL, TimerArm, NULL, NULL, NULL, napi_default, NULL},
      {"unwatch", NULL, Unwatch, NULL, NULL, NULL, napi_default, NULL},
      {"sender", NULL, Sender, NULL, NULL, NULL, napi_default, NULL},
      {"senderSchedule", NULL, SenderSchedule, NULL, NULL, NULL, napi_default, NULL},
      {"senderDrain", NULL, SenderDrain, NULL, NULL, NULL, napi_default, NULL},
      {"senderStop", NULL, SenderStop, NULL, NULL, NULL, napi_default, NULL},
      {"senderInfo", NULL, SenderInfo, NULL, NULL, NULL, napi_default, NULL},
      {"reader", NULL, Reader, NULL, NULL, NULL, napi_default, NULL},
      {"readerEventFd", NULL, ReaderEventFd, NULL, NULL, NULL, napi_default, NULL},
      {"readerDrain", NULL, ReaderDrain, NULL, NULL, NULL, napi_default, NULL},
      {"readerStop", NULL, ReaderStop, NULL, NULL, NULL, napi_default, NULL},
      {"readerFast", NULL, ReaderFast, NULL, NULL, NULL, napi_default, NULL},
      {"readerLog", NULL, ReaderLog, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

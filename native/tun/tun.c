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
 *
 * Why uv_poll on the JS thread rather than a reader thread: the per-packet decisions (loss models,
 * queues, delay) live in TypeScript and run on the event loop of the direction's worker; an epoll
 * wake-up of that loop costs one syscall, a hand-off from a private thread would cost a second wake-up
 * and a copy. timerfd gives the loop microsecond deadlines (libuv's own timers round to 1 ms).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <node_api.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
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
  if (at_us > 0) {
    /* A deadline already past still fires: round it up to 1 ns after zero is "disarm". */
    double sec = at_us / 1e6;
    its.it_value.tv_sec = (time_t)sec;
    its.it_value.tv_nsec = (long)((at_us - (double)its.it_value.tv_sec * 1e6) * 1e3);
    if (its.it_value.tv_nsec >= 1000000000L) its.it_value.tv_nsec = 999999999L;
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
  }
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
      {"watch", NULL, Watch, NULL, NULL, NULL, napi_default, NULL},
      {"timer", NULL, Timer, NULL, NULL, NULL, napi_default, NULL},
      {"timerArm", NULL, TimerArm, NULL, NULL, NULL, napi_default, NULL},
      {"unwatch", NULL, Unwatch, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

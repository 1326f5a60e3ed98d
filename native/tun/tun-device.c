/* The TUN device: opening it (inside a lab's namespace), reading and writing packets in batches. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "napi-util.h"
#include "netns.h"
#include "tun.h"

napi_value StrError(napi_env env, napi_callback_info info) {
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
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
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
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
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

typedef struct {
  const char *device, *name;
  int mtu;
} tun_args_t;

static int open_tun_in(void *arg) {
  tun_args_t *a = arg;
  return open_tun_here(a->device, a->name, a->mtu);
}

/* openTun(name, netnsPath | null, mtu, device) -> fd or -errno. */
napi_value OpenTun(napi_env env, napi_callback_info info) {
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
  tun_args_t args = {device, name, mtu};
  return make_int(env, in_netns(path, open_tun_in, &args));
}

napi_value Close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &fd)) return NULL;
  return make_int(env, close(fd) < 0 ? -errno : 0);
}

/* readBatch(fd, pool, slotSize, slots:Int32Array, lengths:Int32Array, max) */
napi_value ReadBatch(napi_env env, napi_callback_info info) {
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

napi_value Write(napi_env env, napi_callback_info info) {
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
napi_value WriteBatch(napi_env env, napi_callback_info info) {
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

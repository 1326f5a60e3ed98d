/* N-API argument and result helpers (napi-util.h). */
#include "napi-util.h"

napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

napi_value make_double(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", "qoelab_tun: missing arguments");
    return 0;
  }
  return 1;
}

int get_i32(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", "qoelab_tun: expected a number");
    return 0;
  }
  return 1;
}

/* Bytes of a TypedArray (any element type) or Buffer. */
int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
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

int get_i32_array(napi_env env, napi_value v, int32_t **data, size_t *count) {
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

void *get_external(napi_env env, napi_value v, const char *expected) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", expected);
    return NULL;
  }
  return data;
}

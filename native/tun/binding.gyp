{
  "targets": [
    {
      "target_name": "qoelab_tun",
      "sources": ["tun.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}

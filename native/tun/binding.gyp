{
  "targets": [
    {
      "target_name": "qoelab_tun",
      "sources": [
        "tun.c",
        "napi-util.c",
        "clock.c",
        "tun-device.c",
        "netns.c",
        "watch.c",
        "sender.c",
        "release-cpu.c",
        "reader.c",
        "registry.c",
        "fast-path.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    },
    {
      "target_name": "qoelab_wake_probe",
      "sources": ["wake-probe.c", "napi-util.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    },
    {
      "target_name": "qoelab_rawsock",
      "sources": ["rawsock.c", "netns.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}

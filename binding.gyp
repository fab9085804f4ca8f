{
  # The addon never links a vendor library: nrfjprog and J-Link are dlopen()ed at run time, so this
  # builds and loads on a machine without Nordic or SEGGER software. See docs/native.md.
  "targets": [
    {
      "target_name": "tfm_provision",
      "sources": [
        "native/addon.cc",
        "native/library.cc",
        "native/session.cc",
        "native/worker.cc",
        "native/platform.cc",
        "native/nrfjprog_backend.cc",
        "native/nrfjprog_errors.cc",
        "native/jlink_backend.cc",
        "native/jlink_layout.cc",
        "native/jlink_library.cc",
        "native/jlink_sdk.cc",
        "native/jlink_sequences.cc",
        "native/jlink_transport.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='linux'", {
          "libraries": ["-ldl", "-lpthread"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0"
          }
        }],
        ["OS=='win'", {
          "msvs_settings": {
            "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] }
          }
        }]
      ]
    }
  ]
}

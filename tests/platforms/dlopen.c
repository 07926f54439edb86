/* Platform test: can musl's dynamic loader load this Node addon, with every
 * symbol it needs bound now?
 *
 *   dlopen STUBS.so ADDON.node
 *
 * No musl Node runs on this machine, so scripts/test-platforms.sh builds this
 * with musl (musl-gcc, or the aarch64 musl cross compiler, run under
 * qemu-aarch64) and a stub library STUBS.so defining every napi_* symbol the
 * addon imports (each stub exits 3 naming itself, should anything call it).
 * STUBS.so is loaded RTLD_GLOBAL, then the addon RTLD_NOW: every other symbol
 * must resolve in musl's libc, its constructors run, and it must export
 * napi_register_module_v1, the entry Node calls. Node itself, and so the
 * addon's behaviour, are not exercised.
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s STUBS.so ADDON.node\n", argv[0]);
        return 2;
    }
    if (!dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL)) {
        printf("stubs: %s\n", dlerror());
        return 1;
    }
    void *addon = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
    if (!addon) {
        printf("musl's loader refused the addon: %s\n", dlerror());
        return 1;
    }
    if (!dlsym(addon, "napi_register_module_v1")) {
        printf("loaded, but no napi_register_module_v1: %s\n", dlerror());
        return 1;
    }
    printf("loaded by musl's dynamic loader with every symbol bound (RTLD_NOW); "
           "constructors ran; napi_register_module_v1 exported\n");
    return 0;
}

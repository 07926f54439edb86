# workerd configuration for the secretkit edge-worker example.
#
#   workerd serve workerd.capnp --socket-addr http=127.0.0.1:8787
#
# Run from anywhere: `embed` paths are relative to this file. The WASM package
# (bindings-wasm/pkg) must be built first (bindings-wasm/build.sh).

using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .secretsWorker),
    # workerd's default outbound refuses private and local addresses; the
    # example's AWS and Vault endpoints are moto and OpenBao on 127.0.0.1.
    # In production, keep the default ("public") or list what you need.
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const secretsWorker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    # The package under the name worker.mjs imports, through its workerd
    # entry; its relative imports resolve to the three modules after it.
    (name = "secretkit-wasm", esModule = embed "../../bindings-wasm/pkg/workerd.mjs"),
    (name = "api.mjs", esModule = embed "../../bindings-wasm/pkg/api.mjs"),
    (name = "secretkit_wasm.js", esModule = embed "../../bindings-wasm/pkg/secretkit_wasm.js"),
    (name = "secretkit_wasm_bg.wasm", wasm = embed "../../bindings-wasm/pkg/secretkit_wasm_bg.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "internet",
  # The worker's configuration: env bindings, here taken from the host's
  # environment when workerd starts (a deployment would set them as vars and
  # secrets). The worker code reads only `env`.
  bindings = [
    (name = "AWS_REGION", fromEnvironment = "AWS_REGION"),
    (name = "AWS_ACCESS_KEY_ID", fromEnvironment = "AWS_ACCESS_KEY_ID"),
    (name = "AWS_SECRET_ACCESS_KEY", fromEnvironment = "AWS_SECRET_ACCESS_KEY"),
    (name = "AWS_SESSION_TOKEN", fromEnvironment = "AWS_SESSION_TOKEN"),
    (name = "AWS_ENDPOINT_URL", fromEnvironment = "AWS_ENDPOINT_URL"),
    (name = "VAULT_ADDR", fromEnvironment = "VAULT_ADDR"),
    (name = "VAULT_TOKEN", fromEnvironment = "VAULT_TOKEN"),
    (name = "VAULT_NAMESPACE", fromEnvironment = "VAULT_NAMESPACE"),
    (name = "SECRETKIT_EXAMPLE_FINGERPRINTS", fromEnvironment = "SECRETKIT_EXAMPLE_FINGERPRINTS"),
    (name = "SECRETS_TTL_SECONDS", fromEnvironment = "SECRETS_TTL_SECONDS"),
    (name = "SECRETKIT_EXAMPLE_RUNTIME", text = "workerd"),
  ],
);

# frozen_string_literal: true

require 'ffi'

module Secretkit
  # Reads secrets from AWS SSM Parameter Store, AWS Secrets Manager and
  # HashiCorp Vault / OpenBao by reference (`ssm:/prod/db-password`,
  # `asm:prod/db#password`, `vault:secret/app#api_key`), through the shared
  # Rust core: cache, single flight, refresh ahead, stale if error, leases.
  #
  # Thread-safe; share one client per process. Reads release the GVL while
  # they wait on a backend. After fork (Puma cluster mode, Unicorn, Resque)
  # a client makes itself a new native client in the child on first use,
  # as if freshly created: the parent's threads, connections and leases
  # stay the parent's.
  class Client
    Stats = Struct.new(:hits, :misses, :refreshes, :stale_serves, :errors, :backend_calls, keyword_init: true)
    DbCredentials = Struct.new(:username, :password, :lease, :reference, keyword_init: true)

    # The memo (see #get) is cleared when it holds this many references.
    MEMO_LIMIT = 4096

    # One memo entry: the Secret last answered for a reference, the
    # generation and monotonic deadline of its window, and the hits answered
    # from it not yet added to the core's stats.
    Entry = Struct.new(:secret, :generation, :until, :hits)
    private_constant :Entry

    # AWS's standard chain plus VAULT_* / BAO_* variables, like the CLIs.
    def self.from_env(**options)
      native_options = Native.options(options)
      new(factory: -> { SecretkitNative::NativeClient.from_env(native_options) })
    end

    # Explicit configuration: only the backends given are enabled.
    #   Secretkit::Client.new(aws: { region:, access_key_id:, secret_access_key: },
    #                         vault: { address:, token: }, default_ttl: 60)
    def initialize(aws: nil, vault: nil, factory: nil, **options)
      factory ||= begin
        native_options = Native.options(options)
        aws_config = aws && Native.record(SecretkitNative::AwsConfig, aws, 'aws')
        vault_config = vault && Native.vault(vault)
        -> { SecretkitNative::NativeClient.new(aws_config, vault_config, native_options) }
      end
      @factory = factory
      @lock = Mutex.new
      connect
    end

    # The secret for `reference`. A cache hit inside the window the core gave
    # is answered here, in Ruby, for a Hash lookup, a read of the core's
    # generation counter and a clock read; anything else asks the core.
    def get(reference)
      e = @memo[reference]
      if e && e.generation == @generation.get_uint32(0) &&
         e.until > Process.clock_gettime(Process::CLOCK_MONOTONIC) && @forks == Secretkit.forks
        e.hits += 1
        return e.secret
      end
      get_past_window(reference, e)
    end
    alias [] get

    # Several references at once, batched per backend; the secrets in order.
    # Raises the first error, or with `settled: true` puts each
    # Secretkit::Error in place of its secret.
    def get_many(references, settled: false)
      answers = call { native.get_many(references.map(&:to_s)) }
      answers.map do |answer|
        if answer.ok?
          Secret.new(answer.secret)
        else
          error = Secretkit.error_from(answer.error)
          raise error unless settled

          error
        end
      end
    end

    # Read from the backend now, whatever the cache holds.
    def refresh(reference) = Secret.new(call { native.refresh(reference.to_s) })

    # Load every secret under an `ssm:` or `asm:` prefix; how many.
    def prefetch(prefix) = call { native.prefetch(prefix.to_s) }

    def invalidate(reference)
      call { native.invalidate(reference.to_s) }
      nil
    end

    def clear
      native.clear
      forget
      nil
    end

    # Counters since the client was made (hits answered in Ruby included).
    def stats
      record_hits
      s = native.stats
      Stats.new(hits: s.hits, misses: s.misses, refreshes: s.refreshes, stale_serves: s.stale_serves,
                errors: s.errors,
                backend_calls: { ssm: s.ssm_calls, asm: s.asm_calls, vault: s.vault_calls,
                                 env: s.env_calls, file: s.file_calls })
    end

    # Prometheus text exposition of reads, latency, cache size and lease TTLs.
    def metrics_text
      record_hits
      native.metrics_text
    end

    # Calls the block with each Secretkit::Event (of `kind`, or all), on a
    # thread of its own; returns a Subscription (#close stops it).
    def on(kind = nil, &block)
      raise ArgumentError, 'on needs a block' unless block

      kind = kind&.to_s
      listen(call { native.subscribe }) { |event| block.call(event) if kind.nil? || event.kind == kind }
    end

    # Calls the block with each `changed` / `rotated` event of `reference`
    # (any #field of it). A watched secret is re-read at its refresh point
    # even when nothing reads it, so changes arrive without a read.
    def watch(reference, &block)
      raise ArgumentError, 'watch needs a block' unless block

      listen(call { native.watch(reference.to_s) }, &block)
    end

    # Database credentials for `role` of Vault's database engine at `mount`,
    # renewed and replaced before they expire by the core.
    def database_credentials(role:, mount: 'database')
      c = call { native.database_credentials(mount.to_s, role.to_s) }
      lease = c.lease && Secret::Lease.new(id: c.lease.id, duration: c.lease.duration, renewable: c.lease.renewable)
      DbCredentials.new(username: c.username, password: Secret.new(c.password), lease: lease, reference: c.reference)
    end

    # Stop renewing, revoke the client's Vault leases (unless
    # revoke_on_close: false) and stop its event threads; how many leases
    # were revoked. Reads afterwards raise ConfigError.
    def close
      native_client = native # in a fork child: the child's own, never the parent's
      subscriptions = @lock.synchronize { @subscriptions.dup.tap { @subscriptions.clear } }
      subscriptions.each(&:close)
      forget
      native_client.close
    end

    def inspect = "#<#{self.class.name}>"

    private

    # A native client of this process's own (at creation, and on first use
    # after a fork). What the parent's held (its subscriptions' threads, its
    # memo and uncounted hits) stays the parent's: the child drops it without
    # touching it, and the native objects leak rather than run their
    # destructors here (bindings-ruby/src/runtime.rs, ProcessLocal).
    def connect
      native_client = Secretkit.native { @factory.call }
      @subscriptions = []
      @memo = {}
      @generation = FFI::Pointer.new(:uint32, native_client.generation_address)
      @native = native_client
      @forks = Secretkit.forks
      @pid = Process.pid
    end

    # The native client, made anew first if this process is a fork child of
    # the one that made it: Process._fork notices forks (Secretkit.forks);
    # the pid also catches Process.daemon, which does not go through it.
    def native
      if @pid != Process.pid && @forks == Secretkit.forks
        Secretkit.after_fork_in_child # a fork the hook did not see (Process.daemon)
      end
      connect if @forks != Secretkit.forks
      @native
    end

    # Past the memo's window: ask the core (which also takes the hits
    # counted here). The generation is read before the call, so a change
    # landing during it sends the next read back here.
    def get_past_window(reference, entry)
      native_client = native
      entry = @memo[reference] # nil if native made a new client (a fork child)
      generation = @generation.get_uint32(0)
      start = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      # Taken before the call, which adds them to the core's stats first: a
      # call that then raises does not count them again on the next read.
      hits = 0
      hits, entry.hits = entry.hits, 0 if entry
      window = Secretkit.native { native_client.window(reference.to_s, hits) }
      # A value just read gets its window on the next read.
      return remember(reference, Secret.new(Secretkit.native { native_client.get(reference.to_s) }), generation, 0) unless window

      # An empty window (a refresh due, a stale value) is not repeated.
      remember(reference, Secret.new(window.secret), generation, window.valid_for.positive? ? start + window.valid_for : 0)
    end

    def remember(reference, secret, generation, deadline)
      entry = @memo[reference]
      unless entry
        forget if @memo.size >= MEMO_LIMIT
        entry = @memo[reference] = Entry.new(nil, nil, 0, 0)
      end
      entry.secret = secret
      entry.generation = generation
      entry.until = deadline
      secret
    end

    # Add the hits answered from the memo to the core's stats. Iterates a
    # copy: another thread may add to the memo meanwhile. (A hit counted by
    # another thread between the read and the reset of a count is lost:
    # stats may under-count by such a race, never over-count.)
    def record_hits
      native_client = native
      @memo.to_a.each do |reference, entry|
        hits = entry.hits
        next if hits.zero?

        entry.hits = 0
        native_client.record_hits(reference.to_s, hits)
      end
    end

    def forget
      record_hits
      @memo = {}
    end

    def call(&block) = Secretkit.native(&block)

    def listen(stream, &block)
      subscription = Subscription.new(stream, &block)
      @lock.synchronize { @subscriptions << subscription }
      subscription
    end
  end
end

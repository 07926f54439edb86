# frozen_string_literal: true

require 'json'

module Secretkit
  # A secret value that never prints itself: to_s, inspect, to_json, as_json,
  # pp and exception messages show `Secret(<reference>, <redacted>)`. The
  # value stays in Rust memory (zeroized when freed) until #reveal, which
  # makes a Ruby String the application then owns.
  class Secret
    Lease = Struct.new(:id, :duration, :renewable, keyword_init: true)

    def initialize(native)
      @native = native
    end

    # The value as text (a value that is not UTF-8 raises
    # InvalidResponseError naming the reference: use #reveal_bytes).
    def reveal = Secretkit.native { @native.reveal }

    # The value as a binary String.
    def reveal_bytes = @native.reveal_bytes.b

    def reference = @native.reference
    def version = @native.version

    # When the value was read from the backend (a cache hit keeps the time
    # of the read it repeats).
    def fetched_at = Time.at(@native.fetched_at)

    # The Vault lease behind a dynamic secret, or nil.
    def lease
      l = @native.lease
      l && Lease.new(id: l.id, duration: l.duration, renewable: l.renewable)
    end

    def to_s = (@redacted ||= @native.redacted)
    alias inspect to_s
    def as_json(*) = to_s
    def to_json(*args) = to_s.to_json(*args)
    def pretty_print(q) = q.text(to_s)

    # Marshal would write the value out: refuse, naming the reference.
    def _dump(_level) = raise(TypeError, "#{self} cannot be marshaled")
  end
end

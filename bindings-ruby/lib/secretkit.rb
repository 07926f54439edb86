# frozen_string_literal: true

# secretkit for Ruby: the idiomatic layer over the uniffi-generated
# SecretkitNative module (lib/secretkit/native.rb, made by `rake native`).
require 'io/wait' # uniffi's async calls wait on a pipe with IO#wait_readable
require 'pathname'
require_relative 'secretkit/version'
require_relative 'secretkit/native'

# uniffi's async calls resume through a Ruby proc, which the ffi gem runs on
# its callback dispatcher thread when the core calls it from a tokio thread;
# in a forked child that thread is gone and the call would hang. Resume them
# with the library's C function instead (bindings-ruby/src/wake.rs says why).
module SecretkitNative
  # The library's own continuation and its pipe registry (src/wake.rs).
  module Wake
    library = UniFFILib.ffi_libraries.first
    OPEN = FFI::Function.new(:uint64, [:int], library.find_function('secretkit_ruby_pipe_open'))
    CLOSE = FFI::Function.new(:void, [:uint64], library.find_function('secretkit_ruby_pipe_close'))
    AFTER_FORK = FFI::Function.new(:void, [], library.find_function('secretkit_ruby_after_fork'))
    CONTINUATION = library.find_function('secretkit_ruby_wake')
  end

  # What uniffi's poll loop calls its handle map: a registered duplicate of
  # the pipe's write end, so a late wake never writes to a reused descriptor.
  module PipeHandles
    def self.insert(pipe)
      handle = Wake::OPEN.call(pipe.fileno)
      raise IOError, 'secretkit: cannot register the pipe of an async call' if handle.zero?

      handle
    end

    def self.get(handle) = handle
    def self.remove(handle) = Wake::CLOSE.call(handle)
  end

  remove_const(:UNIFFI_ASYNC_HANDLE_MAP)
  UNIFFI_ASYNC_HANDLE_MAP = PipeHandles
  remove_const(:UNIFFI_CONTINUATION_CALLBACK)
  UNIFFI_CONTINUATION_CALLBACK = Wake::CONTINUATION
end

require_relative 'secretkit/errors'
require_relative 'secretkit/secret'
require_relative 'secretkit/events'
require_relative 'secretkit/client'

module Secretkit
  @forks = 0

  class << self
    # How many times this process is a fork child of one that loaded
    # secretkit: clients compare it to notice they were forked.
    attr_reader :forks

    def after_fork_in_child
      SecretkitNative::Wake::AFTER_FORK.call
      @forks += 1
    end

    # A reference parsed as every binding parses it (the shared vectors).
    def parse_reference(reference)
      JSON.parse(native { SecretkitNative.parse_reference_json(reference.to_s) })
    end
  end

  # Ruby 3.1's fork hook: Kernel#fork, Process.fork and IO.popen('-') all
  # go through Process._fork, so a child is noticed on its first read.
  module ForkHook
    def _fork
      pid = super
      Secretkit.after_fork_in_child if pid.zero?
      pid
    end
  end
  Process.singleton_class.prepend(ForkHook)

  # Turning Ruby hashes into the generated records, refusing unknown keys
  # the way the other bindings do (a ConfigError naming the key).
  module Native
    module_function

    def options(hash) = record(SecretkitNative::Options, hash, 'option')

    def vault(hash)
      hash = hash.transform_keys(&:to_sym)
      auth = hash[:auth] && record(SecretkitNative::VaultAuthConfig, hash[:auth], 'vault auth')
      record(SecretkitNative::VaultConfig, hash.merge(auth: auth), 'vault')
    end

    # Booleans and numbers by option; every other value is a String (or nil).
    BOOLEANS = %i[revoke_on_close allow_http allow_local].freeze
    NUMBERS = %i[default_ttl ttl_jitter refresh_ahead max_stale negative_ttl retry_base retry_max
                 max_entries timeout read_attempts revoke_replaced_after].freeze

    def record(klass, hash, what)
      keys = klass.instance_method(:initialize).parameters.map(&:last)
      hash = hash.transform_keys(&:to_sym)
      unknown = hash.keys - keys
      raise ConfigError, "unknown #{what} #{unknown.map(&:to_s).join(', ')}" unless unknown.empty?

      klass.new(**keys.to_h { |k| [k, checked(k, hash[k], what)] })
    end

    # A wrong type is a ConfigError naming the key, never showing the value
    # (a token or secret id given as the wrong type must not be printed).
    def checked(key, value, what)
      ok = case key
           when *BOOLEANS then [true, false, nil].include?(value)
           when *NUMBERS then value.nil? || value.is_a?(Numeric)
           when :auth then value.nil? || value.is_a?(SecretkitNative::VaultAuthConfig)
           else value.nil? || value.is_a?(String) || value.is_a?(Pathname)
           end
      raise ConfigError, "#{what} #{key} must be #{expected(key)}, got a #{value.class}" unless ok

      value.is_a?(Pathname) ? value.to_s : value
    end

    def expected(key)
      return 'true or false' if BOOLEANS.include?(key)
      return 'a number' if NUMBERS.include?(key)

      'a String'
    end
  end
  private_constant :Native
end

# frozen_string_literal: true

# secretkit for Ruby: the idiomatic layer over the uniffi-generated
# SecretkitNative module (lib/secretkit/native.rb, made by `rake native`).
require 'io/wait' # uniffi's async calls wait on a pipe with IO#wait_readable
require_relative 'secretkit/version'
require_relative 'secretkit/native'

# uniffi's async calls resume through a Ruby proc, which the ffi gem runs on
# its callback dispatcher thread when the core calls it from a tokio thread;
# in a forked child that thread is gone and the call would hang. Resume them
# with the library's C function instead, the handle being the pipe's file
# descriptor (bindings-ruby/src/wake.rs says why).
module SecretkitNative
  # The handle uniffi passes to the continuation: the write end's descriptor.
  module PipeHandles
    def self.insert(pipe) = pipe.fileno
    def self.get(fd) = fd
    def self.remove(_fd) = nil
  end

  remove_const(:UNIFFI_ASYNC_HANDLE_MAP)
  UNIFFI_ASYNC_HANDLE_MAP = PipeHandles
  remove_const(:UNIFFI_CONTINUATION_CALLBACK)
  UNIFFI_CONTINUATION_CALLBACK = UniFFILib.ffi_libraries.first.find_function('secretkit_ruby_wake')
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

    def after_fork_in_child = (@forks += 1)

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

    def record(klass, hash, what)
      keys = klass.instance_method(:initialize).parameters.map(&:last)
      hash = hash.transform_keys(&:to_sym)
      unknown = hash.keys - keys
      raise ConfigError, "unknown #{what} #{unknown.map(&:to_s).join(', ')}" unless unknown.empty?

      klass.new(**keys.to_h { |k| [k, hash[k]] })
    end
  end
  private_constant :Native
end

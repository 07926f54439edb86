# frozen_string_literal: true

module Secretkit
  # Base class of every secretkit error. `kind` and `code` are the same in
  # every language (Python's SecretkitError, JS's SecretkitError);
  # `reference` names the secret, never its value.
  class Error < StandardError
    attr_reader :reference, :detail

    def self.kind = 'unknown'
    def self.code = 'UNKNOWN'

    def initialize(detail = nil, reference: nil)
      @detail = detail.to_s
      @reference = reference
      super(reference ? "#{kind} (#{reference}): #{@detail}" : "#{kind}: #{@detail}")
    end

    def kind = self.class.kind
    def code = self.class.code
  end

  {
    'NotFoundError' => 'not_found',
    'AccessDeniedError' => 'access_denied',
    'ThrottledError' => 'throttled',
    'UnavailableError' => 'unavailable',
    'TimeoutError' => 'timeout',
    'InvalidReferenceError' => 'invalid_reference',
    'InvalidResponseError' => 'invalid_response',
    'AuthError' => 'auth',
    'LeaseExpiredError' => 'lease_expired',
    'ConfigError' => 'config'
  }.each do |name, kind|
    klass = Class.new(Error)
    klass.define_singleton_method(:kind) { kind }
    klass.define_singleton_method(:code) { kind.upcase }
    const_set(name, klass)
  end

  # Error class for a kind string, as the core names kinds.
  ERRORS_BY_KIND = Error.subclasses.to_h { |klass| [klass.kind, klass] }.freeze
  private_constant :ERRORS_BY_KIND

  # The Secretkit::Error for a native error (raised or carried as data).
  def self.error_from(native)
    klass = ERRORS_BY_KIND.fetch(native.kind, Error)
    klass.new(native.message, reference: native.reference)
  end

  # Runs the block, turning native errors into Secretkit::Error.
  def self.native
    yield
  rescue SecretkitNative::NativeError::Failed => e
    raise error_from(e), cause: nil
  end
end

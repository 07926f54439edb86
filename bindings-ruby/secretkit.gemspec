# frozen_string_literal: true

require_relative 'lib/secretkit/version'

Gem::Specification.new do |s|
  s.name = 'secretkit'
  s.version = Secretkit::VERSION
  s.summary = 'Secrets from AWS SSM, Secrets Manager and Vault / OpenBao, cached and renewed by one Rust core'
  s.authors = ['secretkit developers']
  s.license = 'Apache-2.0'
  s.required_ruby_version = '>= 3.1'
  # A platform gem: the native library built for this machine is inside.
  s.platform = Gem::Platform.local
  s.files = Dir['lib/**/*.rb'] + Dir['lib/secretkit/libsecretkit_ruby.so'] + ['README.md']
  s.require_paths = ['lib']
  s.add_dependency 'ffi', '>= 1.15'
end

# frozen_string_literal: true

# rackup examples/rack/config.ru (RUBYLIB=bindings-ruby/lib, or the gem installed)
require 'time'
require_relative 'config/initializers/secretkit'
require_relative 'app'

run SecretsApp.new(SECRETS)

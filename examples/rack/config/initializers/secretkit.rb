# frozen_string_literal: true

# A Rails app puts this file at config/initializers/secretkit.rb (and
# `gem 'secretkit'` in its Gemfile). One client per process, made at boot:
# AWS's standard chain and VAULT_* / BAO_* variables, like the CLIs. Under
# Puma's cluster mode or Unicorn each worker gets its own native client on
# its first read after the fork; no before_fork / on_worker_boot hook needed.
require 'secretkit'

SECRETS = Secretkit::Client.from_env(default_ttl: Integer(ENV.fetch('SECRETS_TTL_SECONDS', '300')))

# Revoke this process's Vault leases when it exits.
at_exit { SECRETS.close }

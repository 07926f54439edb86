#!/usr/bin/env bash
# Ruby for the gem's tests (bindings-ruby/) and the Rack example: Ruby 3.1, the ffi gem the
# generated bindings load the library with, minitest, rake, Rack and WEBrick, all from
# Debian's packages (RubyGems is not a registry this machine reaches).
# Idempotent: does nothing when they are present.
set -euo pipefail
if command -v ruby >/dev/null && command -v rake >/dev/null &&
  ruby -e 'require "ffi"; require "minitest"; require "rack"; require "webrick"' 2>/dev/null; then
  echo "install-ruby: present ($(ruby -e 'print RUBY_VERSION'), ffi $(ruby -e 'require "ffi"; print FFI::VERSION'))"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-ruby: needs root (apt-get install ruby ruby-ffi ruby-minitest rake ruby-rack ruby-webrick)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends ruby ruby-ffi ruby-minitest rake ruby-rack ruby-webrick >/dev/null
echo "install-ruby: installed $(ruby -e 'print RUBY_VERSION')"

# frozen_string_literal: true

module Secretkit
  VERSION = '0.1.0'
end
